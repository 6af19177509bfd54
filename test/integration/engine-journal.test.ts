/**
 * Crash survival at the engine level: a supervisor process holding an engine is killed
 * with -9 while a notification it received is still unanswered; a new engine on the same
 * listener and journal memfd finishes it. Twin: without a journal, the call stays stuck.
 */
import { execa } from 'execa';
import { fstatSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Engine } from '../../src/native/engine.js';
import { launcherPath, loadNative, packageRoot } from '../../src/native/load.js';
import { ops, policy } from './engine-harness.js';

const addonPath = join(packageRoot, 'native', 'unotify', 'build', 'Release', 'sbx_unotify.node');
// The "supervisor": takes listener (fd 3) and journal (fd 4), serves, never answers hints.
const supervisor = `
const a = require(${JSON.stringify(addonPath)});
const e = a.engineCreate({ listenerFd: 3, journalFd: process.argv[1] === 'nojournal' ? undefined : 4, strictPolicy: 1,
  protectedPids: [], onEvents() {}, onHint(h) { process.stdout.write('hint ' + h.verb + '\\n'); }, onClosed() {} });
a.engineSetPolicy(e, ${JSON.stringify(policy(1))});
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`;

async function crashOnce(journal: boolean) {
  const addon = loadNative();
  const [parentEnd, childEnd] = addon.socketPair();
  // Extra fds by number (execa's types list 0-9 only; any open fd is handed to spawn as is).
  // buffer: false: output is read below as it comes; reject: false: the test kills them.
  const prog = execa(launcherPath(), ['--fd', '3', '--', ...ops(['read', '/proc/self/sbx/cd/x'], ['read', '/etc/hostname'])], {
    stdio: ['ignore', 'pipe', 'inherit', childEnd as 3],
    buffer: false,
    reject: false,
  });
  addon.close(childEnd);
  let out = '';
  prog.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const listener = addon.recvFd(parentEnd, 10_000);
  // The keeper's size: the journal, then the process-tag store.
  const journalFd = addon.memfdCreate('sbx-journal-test', 1024 * 1024);
  const sup = execa(process.execPath, ['-e', supervisor, journal ? 'journal' : 'nojournal'], {
    stdio: ['ignore', 'pipe', 'inherit', listener as 3, journalFd as 4],
    buffer: false,
    reject: false,
  });
  let supOut = '';
  const waitFor = (re: RegExp) =>
    new Promise<void>((res) => {
      const check = () => (re.test(supOut) ? res() : setTimeout(check, 10));
      check();
    });
  sup.stdout!.setEncoding('utf8').on('data', (d: string) => (supOut += d));
  await waitFor(/ready/);
  writeSync(parentEnd, Buffer.from('k'));
  await waitFor(/hint cd/); // received, journaled, unanswered
  sup.kill('SIGKILL');
  await sup;
  const replacement = Engine.create({
    listenerFd: listener,
    strictPolicy: 1,
    journalFd,
    onHint: (h) => replacement.replyHint(h.id, { content: 'recovered\n' }),
  });
  replacement.setPolicy(policy(1));
  const exited = prog.then(() => undefined);
  // Recovered: finishes at once (bounded generously for a loaded box). Lost: never.
  const finished = await Promise.race([exited.then(() => true), new Promise((res) => setTimeout(() => res(false), journal ? 15_000 : 1500))]);
  if (!finished) prog.kill('SIGKILL');
  await exited;
  replacement.stop();
  // Pages of the memfd that exist (a shared mapping's touched page is one of the
  // supervisor's resident pages; holes are not).
  const allocated = fstatSync(journalFd).blocks * 512;
  for (const fd of [listener, journalFd, parentEnd]) addon.close(fd);
  return { finished, out, allocated };
}

it('a notification received by a killed supervisor is finished by the next engine through the journal', async () => {
  const r = await crashOnce(true);
  expect(r.finished).toBe(true);
  expect(r.out).toContain('read /proc/self/sbx/cd/x: ok recovered');
  expect(r.out).toMatch(/read \/etc\/hostname: ok/);
  // Two engines used journal and store without touching all of the 1 MiB memfd: a page for
  // each region's header and first records (it was all of it: 1 MiB of every supervisor's
  // memory per session, the bulk of the 50-session budget).
  expect(r.allocated).toBeGreaterThan(0);
  expect(r.allocated).toBeLessThanOrEqual(4 * 4096);
});

it('without the journal the received notification is lost (the call never returns)', async () => {
  const r = await crashOnce(false);
  expect(r.finished).toBe(false);
  expect(r.out).not.toContain('recovered');
});
