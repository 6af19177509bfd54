// What the figures were measured on and with: kernel, CPU, tool versions, date.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { MISE, REPO, SBX, SRT } from './paths.mjs';
import { tryRun } from './proc.mjs';

function version(argv) {
  const r = tryRun(argv, { timeoutMs: 30_000 });
  return r.ok ? r.out.split('\n').find((l) => l.trim())?.trim() ?? '?' : `n/a (${r.reason})`;
}

export function machine() {
  const cpus = os.cpus();
  return {
    kernel: os.release(),
    arch: os.arch(),
    cpu: cpus[0]?.model ?? '?',
    cores: cpus.length,
    mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

export function versions() {
  let gitRev = '?';
  const r = tryRun(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD']);
  if (r.ok) gitRev = r.out.trim();
  const tscPkg = JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', 'typescript', 'package.json'), 'utf8'));
  return {
    node: process.version,
    sbx: `${version([SBX, '--version'])} (${gitRev})`,
    mise: version([MISE, '--version']),
    srt: version([SRT, '--version']),
    bwrap: version(['bwrap', '--version']),
    hyperfine: version(['hyperfine', '--version']),
    typescript: tscPkg.version,
    git: version(['git', '--version']),
    gcc: version(['gcc', '--version']),
    make: version(['make', '--version']),
  };
}
