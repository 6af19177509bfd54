/**
 * Notifications that arrive before any policy is set (a resumed session's queue drains
 * as soon as the engine starts) wait for the first engineSetPolicy instead of being
 * refused. Twin: the same program under a denying policy is refused once it arrives.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Engine } from '../../src/native/engine.js';
import { launcherPath, loadNative } from '../../src/native/load.js';
import { ops, policy, rule, tempDir } from './engine-harness.js';

async function early(deny: boolean) {
  const d = tempDir();
  writeFileSync(join(d, 'f'), 'early-content');
  const addon = loadNative();
  const [p, c] = addon.socketPair();
  // fd 3: the launcher's channel (execa's types list fds 0-9 only; any open fd works)
  const child = execa(launcherPath(), ['--fd', '3', '--', ...ops(['read', join(d, 'f')])], { stdio: ['ignore', 'pipe', 'inherit', c as 3], reject: false });
  addon.close(c);
  const l = addon.recvFd(p, 10_000);
  const engine = Engine.create({ listenerFd: l, strictPolicy: 1 });
  addon.close(l);
  const { writeSync } = await import('node:fs');
  writeSync(p, Buffer.from('k')); // the program runs now; its trapped calls find no policy
  await new Promise((r) => setTimeout(r, 300));
  engine.setPolicy(policy(1, deny ? { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'f'))] } } : {}));
  const { stdout: out } = await child;
  engine.stop();
  addon.close(p);
  return out;
}

it('calls made before the first policy wait for it (allowed twin reads the file)', async () => {
  expect(await early(false)).toContain('ok early-content');
});

it('calls made before the first policy wait for it (denied twin is refused)', async () => {
  expect(await early(true)).toContain('EACCES');
});
