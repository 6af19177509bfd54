/**
 * The supervisor keeps `sbx exec`'s policy between runs (src/supervisor/exec-policy-cache.ts):
 * the same flags in the same directory, with the same variables, reuse it — but only
 * while nothing it was built from changed. Each case shows the reuse happening (the supervisor's
 * start trace says "policy reused" for that session) and then a change that a stale policy
 * would get wrong: a symlink named by a flag pointed elsewhere, a project file created and then
 * edited, a variable the policy reads given another value. Real client, supervisor, kernel.
 */
import { execaSync } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, sbxBin, sleep, type Sandbox } from './supervisor-helpers.js';

const FAST_EXEC = /^sbx-fast: fast exec: session (s[0-9a-f]{10})$/m;

let sb: Sandbox;
/** Under /var/tmp: outside the temp dirs `--deny-write` leaves writable. */
let world: string;
let proj: string;

/** One `sbx exec` through the fast path; `how`: what the supervisor's trace says it did with the policy. */
function exec(args: string[], env: Record<string, string> = {}) {
  const r = execaSync(sbxBin, ['exec', ...args], { cwd: proj, env: { ...sb.env, ...env }, extendEnv: false, stripFinalNewline: false, reject: false, timeout: 60_000 });
  const session = FAST_EXEC.exec(r.stderr)?.[1];
  expect(session, r.stderr).toBeDefined();
  const log = readFileSync(join(sb.state, 'supervisor.log'), 'utf8');
  const how = new RegExp(`^start-trace ${session} policy (reused|built) `, 'm').exec(log)?.[1];
  return { code: r.exitCode ?? 137, stdout: r.stdout, stderr: r.stderr, how };
}

beforeAll(async () => {
  sb = makeSandbox('reuse');
  sb.env.SBX_FAST_TRACE = '1';
  world = realpathSync(mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : sb.dir, 'sbx-reuse-')));
  chmodSync(world, 0o755);
  for (const d of ['a', 'b', 'proj']) mkdirSync(join(world, d));
  proj = join(world, 'proj');
  writeFileSync(join(proj, 'secret.txt'), 'SECRET\n');
  writeFileSync(join(proj, 'other.txt'), 'OTHER\n');
  // Inside the project: an allow through a link to elsewhere covers the link only.
  for (const d of ['da', 'db']) mkdirSync(join(proj, d));
  symlinkSync(join(proj, 'da'), join(proj, 'out'));
  // Every start's steps in the supervisor's log (src/supervisor/start-trace.ts).
  expect(execaSync(sbxBin, ['daemon', 'start'], { env: { ...sb.env, SBX_START_TRACE: '1' }, extendEnv: false, reject: false }).exitCode).toBe(0);
  // Older than the cache's settle time: a policy built from them is kept.
  await sleep(1200);
});

afterAll(() => {
  sb?.cleanup();
  if (world) rmSync(world, { recursive: true, force: true });
});

describe('sbx exec reuses its policy only while nothing it was built from changed', { timeout: 120_000 }, () => {
  it('a symlink a flag names, pointed elsewhere: the next run follows it (and the old target is no longer writable)', () => {
    const write = (dir: string) => ['--deny-write', '--allow-write=out', '--', 'sh', '-c', `echo x > ${dir}/f && echo wrote`];
    exec(write('out'));
    const again = exec(write('out'));
    expect(again.how).toBe('reused');
    expect(again.stdout).toBe('wrote\n');
    expect(readFileSync(join(proj, 'da', 'f'), 'utf8')).toBe('x\n');

    unlinkSync(join(proj, 'out'));
    symlinkSync(join(proj, 'db'), join(proj, 'out'));
    const moved = exec(write('out'));
    expect(moved.how).toBe('built');
    expect(moved).toMatchObject({ code: 0, stdout: 'wrote\n' });
    expect(readFileSync(join(proj, 'db', 'f'), 'utf8')).toBe('x\n');
    // The same command line as before, writing where `out` used to point: denied now.
    const old = exec(write('da'));
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain(`sbx: denied write ${proj}/da/f`);
    expect(readFileSync(join(proj, 'da', 'f'), 'utf8')).toBe('x\n');
  });

  it('a project file created, then edited: each is in force at the next run', async () => {
    const read = ['--', 'cat', 'secret.txt'];
    exec(read);
    const before = exec(read);
    expect(before.how).toBe('reused');
    expect(before).toMatchObject({ code: 0, stdout: 'SECRET\n' });

    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\n');
    const created = exec(read);
    expect(created.how).toBe('built');
    expect(created.code).not.toBe(0);
    expect(created.stdout).not.toContain('SECRET');
    expect(created.stderr).toContain(`sbx: denied read ${proj}/secret.txt`);

    // Once settled, the file's policy is kept and reused; then an edit (same file, same
    // existence facts: only its stamp differs) is in force at the next run.
    await sleep(1200);
    exec(read);
    const kept = exec(read);
    expect(kept.how).toBe('reused');
    expect(kept.code).not.toBe(0);
    expect(kept.stdout).not.toContain('SECRET');
    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["other.txt"]\n');
    const edited = exec(read);
    expect(edited.how).toBe('built');
    expect(edited).toMatchObject({ code: 0, stdout: 'SECRET\n' });
    expect(exec(['--', 'cat', 'other.txt']).code).not.toBe(0);
    unlinkSync(join(proj, '.sbx.yaml'));
    const removed = exec(read);
    expect(removed.how).toBe('built');
    expect(removed).toMatchObject({ code: 0, stdout: 'SECRET\n' });
  });

  it('`--policy` with a relative path is the file next to the command, not one at that path below the supervisor\'s own directory (/)', () => {
    // The user's file in the project; another at the same relative path below / (tmp/ is
    // anyone's), saying nothing. The supervisor runs in /.
    const rel = `tmp/sbx-rel-${process.pid}.yaml`;
    mkdirSync(join(proj, 'tmp'), { recursive: true });
    writeFileSync(join(proj, rel), `version: 1\nread:\n  deny: ["${proj}/secret.txt"]\n`);
    writeFileSync(`/${rel}`, 'version: 1\n');
    try {
      const r = exec(['--policy', rel, '--', 'cat', 'secret.txt']);
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain('SECRET');
      expect(r.stderr).toContain(`sbx: denied read ${proj}/secret.txt (${proj}/${rel}:3:`);
      // The twin: without it, the file is read.
      expect(exec(['--', 'cat', 'secret.txt'])).toMatchObject({ code: 0, stdout: 'SECRET\n' });
    } finally {
      rmSync(`/${rel}`, { force: true });
    }
  });

  it('a variable the policy reads (TMPDIR, writable under --deny-write) given another value: built again for it', async () => {
    // The `--policy` run above recorded its file in the trust db, which every policy depends
    // on: none is kept until that change has settled (policy-cache.ts SETTLED_NS).
    await new Promise((r) => setTimeout(r, 1200));
    // The target is a variable the policy does not read, so every run has one command line.
    const write = ['--deny-write', '--', 'sh', '-c', 'echo t > "$TARGET/t" && echo wrote'];
    const run = (tmp: string, target: string) => exec(write, { TMPDIR: join(world, tmp), TARGET: join(world, target) });
    run('a', 'a');
    const same = run('a', 'a');
    expect(same.how).toBe('reused');
    expect(same).toMatchObject({ code: 0, stdout: 'wrote\n' });
    // Another command after the same flags: the same policy, the new command run.
    const another = exec(['--deny-write', '--', 'sh', '-c', 'echo another'], { TMPDIR: join(world, 'a') });
    expect(another.how).toBe('reused');
    expect(another).toMatchObject({ code: 0, stdout: 'another\n' });
    const other = run('b', 'b');
    expect(other.how).toBe('built');
    expect(other).toMatchObject({ code: 0, stdout: 'wrote\n' });
    // The first value's policy does not leak into the second's runs: a is not writable there.
    const cross = run('b', 'a');
    expect(cross.how).toBe('reused');
    expect(cross.code).not.toBe(0);
    expect(cross.stderr).toContain(`sbx: denied write ${world}/a/t`);
  });
});
