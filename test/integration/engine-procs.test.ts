/**
 * Processes: signals to protected pids, policy switches (children keep the policy they were created under), and the
 * /proc/self/sbx hint channel. Each denial has its allowed twin.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HintRequest } from '../../native/unotify/native.js';
import { fixtureBin, ops, policy, rule, run, start, tempDir } from './engine-harness.js';

describe('engine: processes', () => {
  it('signals: a protected pid, the engine and a process outside the session are EPERM; probing an outside pid with signal 0 works', async () => {
    // reject: false: both are killed at the end; cleanup: killed too if this worker dies first.
    const guarded = execa('sleep', ['30'], { reject: false });
    const ordinary = execa('sleep', ['30'], { reject: false });
    try {
      const r = await run({
        policies: [policy(1)],
        protectedPids: [guarded.pid!],
        argv: ops(
          ['kill', String(guarded.pid), '15'],
          ['tgkill', String(guarded.pid), '15'],
          ['kill', String(process.pid), '0'],
          ['kill', '-1', '0'],
          ['kill', String(ordinary.pid), '15'],
          ['tkill', String(ordinary.pid), '0'],
        ),
      });
      expect(r.results.get(`kill ${guarded.pid}`)).toBe('EPERM');
      expect(r.results.get(`tgkill ${guarded.pid}`)).toBe('EPERM');
      expect(r.results.get(`kill ${process.pid}`)).toBe('EPERM');
      expect(r.results.get('kill -1')).toBe('EPERM');
      expect(r.results.get(`kill ${ordinary.pid}`)).toBe('EPERM');
      expect(r.results.get(`tkill ${ordinary.pid}`)).toBe('ok');
      expect(guarded.exitCode).toBe(null);
      expect(ordinary.exitCode).toBe(null);
      expect(ordinary.signalCode).toBe(null);
      expect(r.events.filter((e) => e.op === 'signal').length).toBeGreaterThanOrEqual(4);
    } finally {
      guarded.kill();
      ordinary.kill();
    }
  });

  it('engineAssign: a running child keeps the policy it was created under, the switched process and new children get the new one', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'file'), 'x');
    const open = policy(1);
    const closed = policy(2, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'file'))] } });
    const s = await start({ policies: [open, closed], argv: [fixtureBin('engine_pin'), join(d, 'file')] });
    await new Promise<void>((res) => {
      const check = () => (/ready (\d+)/.test(s.stdout()) ? res() : setTimeout(check, 10));
      check();
    });
    const pid = Number(/ready (\d+)/.exec(s.stdout())![1]);
    s.engine.assign(pid, 2, true);
    s.child.stdin!.end('go\n');
    await s.done;
    expect(s.stdout()).toContain('parent: EACCES');
    expect(s.stdout()).toContain('late: EACCES');
    expect(s.stdout()).toContain('early: ok');
  });

  it('hints: /proc/self/sbx/<verb>/<arg> reaches onHint with the real cwd; content and errno replies', async () => {
    const d = tempDir();
    const hints: HintRequest[] = [];
    const r = await run({
      policies: [policy(7)],
      cwd: d,
      onHint: (engine, h) => {
        hints.push(h);
        if (h.verb === 'cd') engine.replyHint(h.id, { content: `sbx 1\nprompt sbx:${h.arg === h.cwd ? 'match' : 'mismatch'}\n` });
        else engine.replyHint(h.id, { errno: 13 });
      },
      argv: ops(['read', `/proc/self/sbx/cd/${d}`], ['read', '/proc/self/sbx/leave'], ['read', '/proc/self/sbx/cd//nowhere']),
    });
    expect(r.results.get(`read /proc/self/sbx/cd/${d}`)).toBe('ok sbx 1');
    expect(r.results.get('read /proc/self/sbx/leave')).toBe('EACCES');
    expect(hints[0]).toMatchObject({ verb: 'cd', arg: d, cwd: d, policy: 7 });
    expect(hints[1]).toMatchObject({ verb: 'leave', arg: '' });
    expect(hints[2]).toMatchObject({ verb: 'cd', arg: '/nowhere' });
    expect(hints[0]!.tgid).toBe(hints[0]!.pid);
    // The hint content is what the caller reads.
    const r2 = await run({
      policies: [policy(1)],
      cwd: d,
      onHint: (engine, h) => engine.replyHint(h.id, { content: 'line1\nline2\n' }),
      argv: ['/bin/bash', '-c', 'while read -r l; do echo "got $l"; done < /proc/self/sbx/cd/x'],
    });
    expect(r2.stdout).toBe('got line1\ngot line2\n');
  });

  it('engine stats count decisions, denials, tracked processes, traps by syscall and verified images; stop is idempotent', async () => {
    const d = tempDir();
    writeFileSync(join(d, 's'), 's');
    const s = await start({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 's'))] } })],
      argv: ops(['read', join(d, 's')], ['read', '/etc/hostname'], ['sleep', '200']),
    });
    s.child.stdin!.end();
    await new Promise<void>((res) => {
      const check = () => (s.stdout().includes('read /etc/hostname') ? res() : setTimeout(check, 10));
      check();
    });
    const st = s.engine.stats();
    expect(st.decisions).toBeGreaterThanOrEqual(2);
    expect(st.denials).toBe(1);
    expect(st.processes).toBeGreaterThanOrEqual(1);
    // Every decision is counted under its syscall (the bench's traps per workload).
    expect((st.traps.openat ?? 0) + (st.traps.open ?? 0)).toBeGreaterThanOrEqual(2);
    expect(Object.values(st.traps).reduce((a, b) => a + b, 0)).toBe(st.decisions);
    expect(st.verified.afterExec + st.verified.firstSight).toBeGreaterThanOrEqual(1);
    await s.done;
    expect(() => s.engine.stop()).not.toThrow();
  });

  it('stop while a sandboxed program still runs returns promptly and twice is harmless', async () => {
    const d = tempDir();
    const s = await start({ policies: [policy(1)], argv: ['/bin/bash', '-c', `read x; echo after > ${join(d, 'f')}; echo rc=$?`] });
    await new Promise((res) => setTimeout(res, 100));
    s.engine.stop();
    s.engine.stop();
    expect(s.engine.stopped).toBe(true);
    s.child.stdin!.end('go\n');
    // Our listener copy stays open in the harness until the child is gone, so kill it.
    setTimeout(() => s.child.kill('SIGKILL'), 200);
    const r = await s.done;
    expect(r.signal).toBe('SIGKILL');
  });

  it('setPolicy replaces a snapshot live; dropPolicy sends its processes to the strict policy, never a default', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'f'), 'content\n');
    const s = await start({
      policies: [policy(1), policy(2)],
      defaultPolicy: 1,
      argv: ['/bin/bash', '-c', `cat ${join(d, 'f')}; echo step1; read x; cat ${join(d, 'f')} || echo denied; echo step2; read y; cat ${join(d, 'f')}`],
    });
    const waitFor = (text: string) =>
      new Promise<void>((res) => {
        const check = () => (s.stdout().includes(text) ? res() : setTimeout(check, 10));
        check();
      });
    await waitFor('step1');
    s.engine.setPolicy(policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'f'))] } }));
    s.child.stdin!.write('go\n');
    await waitFor('step2');
    // The shell is on policy 3 now; dropping 3 sends it to the strict policy (a temp file: denied).
    s.engine.setPolicy(policy(3));
    s.engine.assign(s.child.pid!, 3, false);
    s.engine.dropPolicy(3);
    s.child.stdin!.end('go\n');
    await s.done;
    expect(s.stdout()).toBe('content\nstep1\ndenied\nstep2\n');
    expect(s.stderr()).toMatch(/Permission denied[\s\S]*Permission denied/);
  });
});
