/**
 * Self-protection (DESIGN invariant 3) from inside a session: the supervisor and keeper
 * cannot be killed, signalled, ptraced or read through /proc; sbx's config, trust db,
 * state, socket dir and the policy file in force cannot be written; the sockets cannot be
 * reached. Each refusal has its allowed twin in the same script and is logged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { execaSync } from 'execa';
import { join } from 'node:path';
import { makeProject, makeSandbox, pidAlive, PUSH_FN, root, until, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('protect');
});
afterAll(() => sb.cleanup());

/** `name ok|fail` for a command's success. */
const t = (name: string, cmd: string) => `if ${cmd} >/dev/null 2>&1; then echo "${name} ok"; else echo "${name} fail"; fi`;

describe('self-protection from inside a session', () => {
  it('supervisor and keeper: kill, stop, ptrace and /proc reads fail; the same on our own process works', { timeout: 60_000 }, async () => {
    const p = makeProject(join(sb.home, 'p1'));
    // Start a session that waits for its orders, so we know the keeper pid.
    const orders = join(sb.dir, 'orders.sh');
    writeFileSync(orders, 'sleep 0.1\n');
    const run = sb.spawnSbx(['shell', '--', 'sh', '-c', `while [ ! -s ${orders}.go ]; do sleep 0.05; done; . ${orders}`], { cwd: p });
    const session = await until('session live', () => sb.status().sessions.find((s) => s.cwd === p), 30_000);
    const sup = sb.supervisorPid()!;
    const keeper = session.keeperPid;
    writeFileSync(
      orders,
      [
        'sleep 30 & mine=$!',
        'sleep 30 & other=$!',
        t('kill-supervisor', `kill -9 ${sup}`),
        t('term-supervisor', `kill -TERM ${sup}`),
        t('stop-keeper', `kill -STOP ${keeper}`),
        t('kill-keeper', `kill -9 ${keeper}`),
        t('signal0-supervisor', `kill -0 ${sup}`),
        t('kill-own', 'kill -9 $mine'),
        t('ptrace-supervisor', `strace -qq -e trace=none -p ${sup} & sp=$!; sleep 1; kill $sp; wait $sp`),
        t('proc-supervisor', `cat /proc/${sup}/environ`),
        t('proc-keeper', `cat /proc/${keeper}/cmdline`),
        t('status-supervisor', `cat /proc/${sup}/status`),
        t('status-keeper', `cat /proc/${keeper}/task/${keeper}/status`),
        t('status-other', 'cat /proc/$other/status; kill $other'),
        t('proc-self', 'cat /proc/self/cmdline'),
      ].join('\n'),
    );
    writeFileSync(`${orders}.go`, 'go');
    const out = await run.done;
    expect(out.stdout).toContain('kill-supervisor fail');
    expect(out.stdout).toContain('term-supervisor fail');
    expect(out.stdout).toContain('stop-keeper fail');
    expect(out.stdout).toContain('kill-keeper fail');
    expect(out.stdout).toContain('kill-own ok');
    expect(out.stdout).toContain('ptrace-supervisor fail');
    expect(out.stdout).toContain('proc-supervisor fail');
    expect(out.stdout).toContain('proc-keeper fail');
    // Even the harmless entries of a protected pid; another process's status reads.
    expect(out.stdout).toContain('status-supervisor fail');
    expect(out.stdout).toContain('status-keeper fail');
    expect(out.stdout).toContain('status-other ok');
    expect(out.stdout).toContain('proc-self ok');
    expect(pidAlive(sup)).toBe(true);
    const log = sb.log(session.id);
    expect(log.some((v) => v.op === 'signal' && v.target === String(sup))).toBe(true);
    expect(log.some((v) => v.op === 'signal' && v.target === String(keeper))).toBe(true);
  });

  it('sbx config, trust db, state, socket dir and the policy file in force cannot be written; a project file can', () => {
    const p = makeProject(join(sb.home, 'p2'));
    mkdirSync(sb.config, { recursive: true });
    writeFileSync(join(sb.config, 'config.yaml'), 'version: 1\n');
    const script = [
      PUSH_FN,
      'push "cd$PWD" >/dev/null',
      t('write-config', `echo 'read: {}' >> ${join(sb.config, 'config.yaml')}`),
      t('new-config', `echo x > ${join(sb.config, 'other.yaml')}`),
      t('write-trust', `echo '{}' > ${join(sb.state, 'trust.json')}`),
      t('write-state', `echo x >> ${join(sb.state, 'violations.jsonl')}`),
      t('write-sockdir', `touch ${join(sb.runtime, 'evil')}`),
      t('rm-socket', `rm -f ${join(sb.runtime, 'control.sock')}`),
      t('connect-control', `echo '{"cmd":"stop","force":true}' | socat - UNIX-CONNECT:${join(sb.runtime, 'control.sock')}`),
      t('write-policy', `echo 'read: {deny: []}' >> ${join(p, '.sbx.yaml')}`),
      t('mv-policy', `mv ${join(p, '.sbx.yaml')} ${join(p, 'old.yaml')}`),
      t('write-project-file', `echo x > ${join(p, 'notes.txt')}`),
      t('push-elsewhere', `cat /proc/self/sbx/cd${sb.home}`),
    ].join('\n');
    const r = sb.sbx(['shell', '--', 'sh', '-c', script], { cwd: p });
    for (const name of ['write-config', 'new-config', 'write-trust', 'write-state', 'write-sockdir', 'rm-socket', 'connect-control', 'write-policy', 'mv-policy', 'push-elsewhere'])
      expect(r.stdout).toContain(`${name} fail`);
    expect(r.stdout).toContain('write-project-file ok');
    // The supervisor is untouched and still answers (the stop request never arrived).
    expect(sb.sbx(['daemon', 'status']).code).toBe(0);
    const log = sb.log();
    for (const target of [join(sb.config, 'config.yaml'), join(sb.state, 'trust.json'), join(sb.runtime, 'evil'), join(p, '.sbx.yaml')])
      expect(log.some((v) => v.target === target && (v.kind === 'deny' || v.kind === 'error'))).toBe(true);
    expect(log.some((v) => v.kind === 'refused' && v.target === `cd ${sb.home}`)).toBe(true);
    expect(log.some((v) => v.target === join(p, 'notes.txt'))).toBe(false);
  });

  it('no policy file can be made, changed, moved or removed from inside: a new .sbx.yaml below a trusted project (it would replace that project\'s policy), another project\'s, a .envrc, a trusted `use` file; the files beside them can', { timeout: 60_000 }, () => {
    // A trusted project that keeps writes in itself and has no network.
    const p = makeProject(join(sb.home, 'p3'), 'version: 1\nwrite: { allow: ["."] }\nnet: { allow: [] }\n');
    mkdirSync(join(p, 'src'), { recursive: true });
    expect(sb.sbx(['trust'], { cwd: p }).code).toBe(0);
    const q = makeProject(join(sb.home, 'q3'));
    writeFileSync(join(q, '.envrc'), 'use sandbox ../shared.yaml\n');
    const used = join(sb.home, 'shared.yaml');
    writeFileSync(used, 'version: 1\nnet: { allow: [] }\n');
    expect(sb.sbx(['trust', used]).code).toBe(0);
    const outsideFile = join(sb.home, 'outside-p3.txt');
    // In the trusted project: a file that would replace its policy for src/ and below.
    const inP = [
      PUSH_FN,
      'push "cd$PWD" >/dev/null',
      t('plant-nested', `printf 'version: 1\\n' > ${join(p, 'src', '.sbx.yaml')}`),
      t('plant-nested-mv', `printf 'version: 1\\n' > ${join(p, 'src', 'x.yaml')} && mv ${join(p, 'src', 'x.yaml')} ${join(p, 'src', '.sbx.yaml')}`),
      t('plant-nested-ln', `ln -s ${join(p, 'src', 'x.yaml')} ${join(p, 'src', '.sbx.yaml')}`),
      t('new-envrc', `echo 'export A=1' > ${join(p, 'src', '.envrc')}`),
      t('beside-in-p', `echo x > ${join(p, 'src', 'notes.yaml')}`),
      t('move-dir-in-p', `mkdir ${join(p, 'src', 'd')} && mv ${join(p, 'src', 'd')} ${join(p, 'src', 'e')}`),
      // The shell's own directory moved out of the project: its next placement would find
      // no project file there (nor if moved under another project's).
      t('move-shell-cwd', `mv ${join(p, 'src')} ${join(sb.home, 'moved-src')}`),
      t('exchange-shell-cwd', `mkdir ${join(p, 'other')} && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None); sys.exit(0 if l.renameat2(-100, b"${join(p, 'src')}", -100, b"${join(p, 'other')}", 2) == 0 else 1)'`),
      // The project's own restriction still holds after the attempts (the shell placed again).
      'push "cd$PWD" >/dev/null',
      t('write-outside', `echo x > ${outsideFile}`),
    ].join('\n');
    const a = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', inP], { cwd: join(p, 'src') });
    for (const name of ['plant-nested', 'plant-nested-mv', 'plant-nested-ln', 'new-envrc', 'move-shell-cwd', 'exchange-shell-cwd', 'write-outside'])
      expect(a.stdout, a.stderr).toContain(`${name} fail`);
    for (const name of ['beside-in-p', 'move-dir-in-p']) expect(a.stdout, a.stderr).toContain(`${name} ok`);
    expect(sb.log().some((v) => v.target === join(p, 'src', '.sbx.yaml') && v.kind === 'deny')).toBe(true);
    expect(sb.sbx(['check', 'write', join(p, 'src', '.sbx.yaml')], { cwd: p }).stdout).toContain('built-in: policy files (edit them outside a session)');
    expect(existsSync(join(p, 'src', '.sbx.yaml'))).toBe(false);
    expect(existsSync(outsideFile)).toBe(false);

    // Under the default policy (writes anywhere but the floors): other places' policy files.
    const free = join(sb.home, 'free3');
    mkdirSync(free, { recursive: true });
    const inFree = [
      t('other-project', `echo 'version: 1' > ${join(q, '.sbx.yaml')}`),
      t('rm-other-project', `rm -f ${join(q, '.sbx.yaml')}`),
      t('mv-other-project-dir', `mv ${q} ${q}-moved`),
      t('envrc', `echo 'export A=1' >> ${join(q, '.envrc')}`),
      // What an approved .envrc loads by direnv's conventions (source_env_if_exists
      // .envrc.local, dotenv): direnv runs it outside, and in the shell, later.
      t('envrc-local', `echo 'export PROMPT_COMMAND=x' > ${join(q, '.envrc.local')}`),
      t('dotenv', `echo 'PROMPT_COMMAND=x' >> ${join(q, '.env')}`),
      t('trusted-use', `echo 'read: {}' >> ${used}`),
      t('beside', `echo x > ${join(q, 'notes.yaml')}`),
      t('beside-env', `echo x > ${join(q, '.env.example')} && echo x > ${join(q, 'envrc.notes')}`),
      t('other-yaml', `echo x > ${join(sb.home, 'shared2.yaml')}`),
    ].join('\n');
    const b = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', inFree], { cwd: free });
    for (const name of ['other-project', 'rm-other-project', 'mv-other-project-dir', 'envrc', 'envrc-local', 'dotenv', 'trusted-use']) expect(b.stdout, b.stderr).toContain(`${name} fail`);
    for (const name of ['beside', 'beside-env', 'other-yaml']) expect(b.stdout, b.stderr).toContain(`${name} ok`);
    expect(readFileSync(join(q, '.sbx.yaml'), 'utf8')).toContain('secret.txt');
    expect(readFileSync(join(q, '.envrc'), 'utf8')).toBe('use sandbox ../shared.yaml\n');
    expect(readFileSync(used, 'utf8')).toBe('version: 1\nnet: { allow: [] }\n');
  });

  it("the supervisor's lock cannot be opened from inside, so it cannot be held against the next supervisor (twin: outside it opens; the lock keeps a second supervisor out)", { timeout: 60_000 }, async () => {
    const lock = join(sb.runtime, 'supervisor.lock');
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const pid = sb.supervisorPid()!;
    // flock(1) through a read-only fd is all it would take: no write access needed.
    const script = [t('open-lock', `cat ${lock}`), t('list-sockdir', `ls ${sb.runtime}`), t('read-project', 'cat .sbx.yaml')].join('\n');
    const p = makeProject(join(sb.home, 'p3'));
    const r = sb.sbx(['shell', '--', 'sh', '-c', script], { cwd: p });
    expect(r.stdout).toContain('open-lock fail');
    expect(r.stdout).toContain('list-sockdir fail');
    expect(r.stdout).toContain('read-project ok');
    expect(sb.log().some((v) => v.target === lock && v.kind === 'deny')).toBe(true);
    // Outside: the file opens; a second supervisor started by hand finds it held and leaves.
    expect(() => closeSync(openSync(lock, 'r'))).not.toThrow();
    const second = execaSync(process.execPath, [join(root, 'bin', 'sbx'), 'daemon', 'run'], { env: sb.env, extendEnv: false, reject: false, timeout: 30_000 });
    expect(second.exitCode).not.toBe(0);
    expect(second.stderr).toContain(`a supervisor already serves ${sb.runtime}`);
    expect(sb.supervisorPid()).toBe(pid);
    expect(pidAlive(pid)).toBe(true);
    expect(sb.sbx(['daemon', 'status']).code).toBe(0);
  });

  // helper-77 #07: the refusal held only for the shell's own session; a program of another
  // terminal moved terminal A's directory out of its project, and A's next `cd sub` left it.
  it("a directory holding another terminal's shell cannot be moved from any session of the supervisor; twin: a directory beside it can", { timeout: 60_000 }, async () => {
    const p = makeProject(join(sb.home, 'p7'), 'version: 1\nread: { deny: ["secret7.txt"] }\n');
    const work = join(p, 'work');
    const beside = join(p, 'beside');
    mkdirSync(join(work, 'sub'), { recursive: true });
    mkdirSync(beside, { recursive: true });
    const ready = join(sb.home, 'a7-ready');
    const go = join(sb.home, 'a7-go');
    const a = sb.spawnSbxEnv(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD" >/dev/null\necho x > ${ready}\nwhile [ ! -e ${go} ]; do sleep 0.05; done`], {}, work);
    try {
      await until('terminal A placed', () => existsSync(ready) || undefined, 30_000);
      const b = sb.sbx(['exec', '--', 'sh', '-c', `${t('move-other-shell-cwd', `mv ${work} ${join(sb.home, 'moved7')}`)}\n${t('move-beside', `mv ${beside} ${join(p, 'beside2')}`)}`], { cwd: sb.home });
      expect(b.stdout, b.stderr).toContain('move-other-shell-cwd fail');
      expect(b.stdout, b.stderr).toContain('move-beside ok');
      expect(existsSync(work)).toBe(true);
    } finally {
      writeFileSync(go, '');
      await a.done;
    }
  });
});
