/**
 * The addon's plain functions on the real kernel: probe, fd passing, and the argument
 * checks (TS wrapper errors first; native TypeErrors when called directly).
 */
import { openSync, readSync, closeSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, EngineArgumentError, engineReceivers } from '../../src/native/engine.js';
import { SbxError } from '../../src/errors.js';
import { loadNative } from '../../src/native/load.js';

const addon = loadNative();

describe('native addon', () => {
  it('probe reports the kernel features this machine has (CI kernel: all of them)', () => {
    const k = addon.probe();
    expect(k.arch).toBe('x86_64');
    expect(k).toMatchObject({
      seccompFilter: true,
      userNotify: true,
      waitKillableRecv: true,
      addfd: true,
      addfdSend: true,
      pidfdOpen: true,
      pidfdGetfd: true,
      ptraceOthers: true,
    });
    expect(k.landlockAbi).toBeGreaterThanOrEqual(1);
  });

  it('socketPair + sendFd + recvFd pass a working fd; recvFd times out and reports EOF', () => {
    const [a, b] = addon.socketPair();
    const file = join(tmpdir(), `sbx-fd-${process.pid}`);
    writeFileSync(file, 'passed');
    const fd = openSync(file, 'r');
    addon.sendFd(b, fd, 'hello');
    closeSync(fd);
    const got = addon.recvFd(a, 1000);
    const buf = Buffer.alloc(16);
    expect(buf.subarray(0, readSync(got, buf, 0, 16, 0)).toString()).toBe('passed');
    addon.close(got);
    expect(() => addon.recvFd(a, 20)).toThrow(/no fd within 20 ms/);
    addon.close(b);
    expect(() => addon.recvFd(a, 1000)).toThrow(/peer closed/);
    addon.close(a);
  });

  it('execve replaces the process image (in a child node)', async () => {
    const { execaSync } = await import('execa');
    const { packageRoot } = await import('../../src/native/load.js');
    const addonPath = join(packageRoot, 'native/unotify/build/Release/sbx_unotify.node');
    const out = execaSync(process.execPath, ['-e', `require(${JSON.stringify(addonPath)}).execve('/bin/sh', ['sh', '-c', 'echo "$X"'], ['X=replaced'])`], { stripFinalNewline: false }).stdout;
    expect(out).toBe('replaced\n');
    expect(() => addon.execve('/nonexistent/prog', ['x'], [])).toThrow(/execve\(\/nonexistent\/prog\): No such file/);
  });

  it('native functions check arity and types with TypeErrors naming the argument', () => {
    expect(() => (addon.recvFd as unknown as (x: unknown) => void)('x')).toThrow(TypeError);
    expect(() => addon.recvFd(-1, 5)).toThrow(/recvFd\(sock, timeoutMs\): sock must be an integer/);
    expect(() => addon.engineAssign({} as never, 1, 1, false, false)).toThrow(/engineAssign\(engine, pid, policyId, followsCd, sealed\): engine must be a handle/);
    expect(() => addon.execve('/bin/true', [], [])).toThrow(/argv must not be empty/);
    expect(() => addon.engineCreate({ listenerFd: 0 } as never)).toThrow(/options.strictPolicy/);
    expect(() => addon.engineSetProtectedPids({} as never, [1])).toThrow(/engineSetProtectedPids\(engine, pids\): engine must be a handle/);
    expect(() => (addon.engineSetProtectedPids as unknown as (x: unknown) => void)({})).toThrow(TypeError);
  });

  it('SBX_ENGINE_RECEIVERS: 1..16 taken, unset means the default, anything else one error naming it', () => {
    expect(engineReceivers({})).toBeUndefined();
    expect(engineReceivers({ SBX_ENGINE_RECEIVERS: '' })).toBeUndefined();
    expect(engineReceivers({ SBX_ENGINE_RECEIVERS: '1' })).toBe(1);
    expect(engineReceivers({ SBX_ENGINE_RECEIVERS: '16' })).toBe(16);
    for (const bad of ['0', '17', '-1', '2.5', ' 2', 'two', '1e1', '999'])
      expect(() => engineReceivers({ SBX_ENGINE_RECEIVERS: bad })).toThrow(
        expect.objectContaining({
          name: SbxError.name,
          message: `SBX_ENGINE_RECEIVERS must be a whole number from 1 to 16 (got ${JSON.stringify(bad)})`,
          exitCode: 2,
        }),
      );
  });

  it('the TS Engine validates before calling native: clear SbxErrors', () => {
    expect(() => Engine.create({ listenerFd: -3, strictPolicy: 1 })).toThrow(EngineArgumentError);
    expect(() => Engine.create({ listenerFd: 3, strictPolicy: 1, threads: 40 })).toThrow(/threads must be an integer in \[1, 16\]/);
    expect(() => Engine.create({ listenerFd: 3, strictPolicy: 1, protectedPids: [0] })).toThrow(/protectedPids\[0\]/);
  });

  it('an engine on a listener with no process left reports onClosed once and stops cleanly', async () => {
    // A filter whose only user exits at once: its listener hangs up.
    const [a, b] = addon.socketPair();
    const { execa } = await import('execa');
    const { launcherPath } = await import('../../src/native/load.js');
    // fd 3: the launcher's channel (execa's types list fds 0-9 only; any open fd works)
    const child = execa(launcherPath(), ['--fd', '3', '--', '/bin/true'], { stdio: ['ignore', 'ignore', 'inherit', b as 3], reject: false });
    addon.close(b);
    const lfd = addon.recvFd(a, 5000);
    let closed = 0;
    let engine!: Engine;
    const done = new Promise<void>((res) => {
      engine = Engine.create({ listenerFd: lfd, strictPolicy: 1, onClosed: () => { closed++; res(); } });
      engine.setPolicy({
        id: 1, mode: 'enforce', read: { default: 'allow', rules: [] }, write: { default: 'allow', rules: [] },
        exec: { default: 'allow', paths: [], programs: [] }, net: { default: 'allow', rules: [] },
        unix: { default: 'allow', rules: [] }, commands: [], origins: [], env: { deny: [], allow: [] },
      });
      writeSync(a, Buffer.from('k'));
    });
    await done;
    // Swapping the protected set: bad input is refused before native, a good one is taken.
    expect(() => engine.setProtectedPids([0])).toThrow(/pids\[0\]/);
    expect(() => engine.setProtectedPids('1' as never)).toThrow(EngineArgumentError);
    expect(() => addon.engineSetProtectedPids((engine as unknown as { handle: never }).handle, [1.5])).toThrow(/pids\[0\] must be a positive integer/);
    engine.setProtectedPids([process.pid, 1]);
    engine.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(1);
    addon.close(lfd);
    addon.close(a);
  });
});
