// Syscalls per decision of the answering process during an open loop (strace -f on it),
// for min_unotify's floor mode and `sbx exec` of this tree and of --before=DIR.
//   node bench/trapfloor-profile.mjs [--before=DIR]
import path from 'node:path';
import { buildHelpers } from './lib/generate.mjs';
import { BIN, REPO } from './lib/paths.mjs';
import { profileColumn } from './lib/profile.mjs';

const opt = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const { openTarget } = buildHelpers();
const cols = [{ id: 'floor', prefix: () => [path.join(BIN, 'min_unotify'), '-m', 'addfd-then-send', '--'] }];
if (opt.before) cols.push({ id: 'sbx-before', prefix: () => [path.join(opt.before, 'bin', 'sbx'), 'exec', '--'] });
cols.push({ id: 'sbx', prefix: () => [path.join(REPO, 'bin', 'sbx'), 'exec', '--'] });
const out = {};
for (const c of cols) out[c.id] = await profileColumn(c, openTarget, { windowMs: 2000 });
console.log(JSON.stringify(out, null, 1));
