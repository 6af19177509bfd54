/**
 * File decisions of the native engine on the real kernel, through the real launcher.
 * Every denial has its allowed twin in the same run.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { files, ops, policy, rule, run, tempDir } from './engine-harness.js';

describe('engine: files', () => {
  it('reads: allowed file ok, denied file EACCES, O_PATH of a denied file EACCES', async () => {
    const d = tempDir();
    files(d, { 'ok.txt': 'fine\n', 'secret.txt': 'SECRET\n' });
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret.txt'))] } })],
      argv: ops(['read', join(d, 'ok.txt')], ['read', join(d, 'secret.txt')], ['opath', join(d, 'secret.txt')], ['opath', join(d, 'ok.txt')]),
    });
    expect(r.results.get(`read ${join(d, 'ok.txt')}`)).toBe('ok fine');
    expect(r.results.get(`read ${join(d, 'secret.txt')}`)).toBe('EACCES');
    expect(r.results.get(`opath ${join(d, 'secret.txt')}`)).toBe('EACCES');
    expect(r.results.get(`opath ${join(d, 'ok.txt')}`)).toBe('ok');
    const ev = r.events.find((e) => e.target === join(d, 'secret.txt'));
    expect(ev).toMatchObject({ kind: 'deny', op: 'read', rule: 0, policy: 1, errno: 13, syscall: 'openat' });
    expect(ev!.program).toContain('engine_ops');
    expect(r.code).toBe(0);
  });

  it('a nested policy (within) cannot widen an open: the outer denial holds for clean absolute paths too', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'ro'));
    files(d, { 'ok.txt': 'fine\n', 'secret.txt': 'SECRET\n', 'ro/existing': 'keep\n', 'rw.txt': 'old\n' });
    const outer = policy(1, {
      read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret.txt'))] },
      write: { default: 'allow', rules: [rule(0, 'deny', join(d, 'ro'))] },
    });
    // The nested policy allows everything, by name too: only the outer one refuses.
    const nested = policy(2, {
      within: 1,
      read: { default: 'allow', rules: [rule(0, 'allow', join(d, 'secret.txt'))] },
      write: { default: 'allow', rules: [rule(0, 'allow', join(d, 'ro'))] },
    });
    const r = await run({
      policies: [outer, nested],
      defaultPolicy: 2,
      cwd: d,
      argv: ops(
        ['read', join(d, 'secret.txt')], // clean absolute: the engine's direct open
        ['read', 'secret.txt'], // relative: the full route
        ['read', join(d, 'ok.txt')],
        ['write', join(d, 'ro/existing'), 'clobber'],
        ['write', join(d, 'rw.txt'), 'new'],
      ),
    });
    expect(r.results.get(`read ${join(d, 'secret.txt')}`)).toBe('EACCES');
    expect(r.results.get('read secret.txt')).toBe('EACCES');
    expect(r.results.get(`read ${join(d, 'ok.txt')}`)).toBe('ok fine');
    expect(r.results.get(`write ${join(d, 'ro/existing')}`)).toBe('EACCES');
    expect(readFileSync(join(d, 'ro/existing'), 'utf8')).toBe('keep\n');
    expect(r.results.get(`write ${join(d, 'rw.txt')}`)).toBe('ok');
    expect(readFileSync(join(d, 'rw.txt'), 'utf8')).toBe('new');
    expect(r.events.find((e) => e.target === join(d, 'secret.txt'))).toMatchObject({ kind: 'deny', op: 'read', rule: -3, policy: 2 });
    expect(r.code).toBe(0);
  });

  // Audit mode lifts a policy's own refusals only: a nested policy in audit mode that refuses
  // something itself must still be held to its outer policy (the outer refusal is enforced).
  it('a nested policy in audit mode: its own refusal is only reported, but what the outer one refuses stays refused', async () => {
    const d = tempDir();
    files(d, { 'both.txt': 'BOTH\n', 'inner.txt': 'INNER\n' });
    const outer = policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'both.txt'))] } });
    const nested = policy(2, {
      within: 1,
      mode: 'audit',
      read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'both.txt')), rule(1, 'deny', join(d, 'inner.txt'))] },
    });
    const r = await run({
      policies: [outer, nested],
      defaultPolicy: 2,
      cwd: d,
      argv: ops(['read', join(d, 'both.txt')], ['read', 'both.txt'], ['read', join(d, 'inner.txt')]),
    });
    expect(r.results.get(`read ${join(d, 'both.txt')}`)).toBe('EACCES');
    expect(r.results.get('read both.txt')).toBe('EACCES');
    expect(r.results.get(`read ${join(d, 'inner.txt')}`)).toBe('ok INNER');
    expect(r.events.find((e) => e.target === join(d, 'both.txt'))).toMatchObject({ kind: 'deny', rule: -3, policy: 2 });
    expect(r.events.find((e) => e.target === join(d, 'inner.txt'))).toMatchObject({ kind: 'audit', rule: 1, policy: 2 });
    expect(r.code).toBe(0);
  });

  it('directory opens by clean absolute path (the direct route): denied dir EACCES, allowed dir ok, a FIFO ENOTDIR at once', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'open'));
    mkdirSync(join(d, 'closed'));
    files(d, { 'open/a.txt': 'A\n', 'closed/b.txt': 'B\n' });
    execFileSync('mkfifo', [join(d, 'fifo')]);
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'closed'))] } })],
      // readat opens DIR with O_RDONLY|O_DIRECTORY, then NAME relative to it
      argv: ops(['readat', join(d, 'open'), 'a.txt'], ['readat', join(d, 'closed'), 'b.txt'], ['readat', join(d, 'fifo'), 'x']),
    });
    expect(r.results.get(`readat ${join(d, 'open')}`)).toBe('ok A');
    expect(r.results.get(`readat ${join(d, 'closed')}`)).toBe('EACCES');
    expect(r.results.get(`readat ${join(d, 'fifo')}`)).toBe('ENOTDIR');
    expect(r.code).toBe(0);
  });

  it('a nested policy cannot learn that a name the outer one hides exists (mkdir answers EACCES, not EEXIST)', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'hidden'));
    mkdirSync(join(d, 'shown'));
    const r = await run({
      policies: [
        policy(1, {
          read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'hidden'))] },
          write: { default: 'allow', rules: [rule(0, 'deny', join(d, 'hidden'))] },
        }),
        policy(2, { within: 1 }),
      ],
      defaultPolicy: 2,
      argv: ops(['mkdir', join(d, 'hidden')], ['mkdir', join(d, 'shown')], ['mkdir', join(d, 'new')]),
    });
    expect(r.results.get(`mkdir ${join(d, 'hidden')}`)).toBe('EACCES');
    expect(r.results.get(`mkdir ${join(d, 'shown')}`)).toBe('EEXIST');
    expect(r.results.get(`mkdir ${join(d, 'new')}`)).toBe('ok');
    expect(statSync(join(d, 'new')).isDirectory()).toBe(true);
    expect(r.code).toBe(0);
  });

  it('writes and creates: allowed dir ok, denied dir EACCES and nothing created', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'rw'));
    mkdirSync(join(d, 'ro'));
    files(d, { 'ro/existing': 'keep\n' });
    const r = await run({
      policies: [policy(1, { write: { default: 'deny', rules: [rule(0, 'allow', join(d, 'rw'))] } })],
      argv: ops(
        ['write', join(d, 'rw/new'), 'hello'],
        ['write', join(d, 'ro/new'), 'hello'],
        ['write', join(d, 'ro/existing'), 'clobber'],
        ['read', join(d, 'ro/existing')],
      ),
    });
    expect(r.results.get(`write ${join(d, 'rw/new')}`)).toBe('ok');
    expect(readFileSync(join(d, 'rw/new'), 'utf8')).toBe('hello');
    expect(r.results.get(`write ${join(d, 'ro/new')}`)).toBe('EACCES');
    expect(existsSync(join(d, 'ro/new'))).toBe(false);
    expect(r.results.get(`write ${join(d, 'ro/existing')}`)).toBe('EACCES');
    expect(r.results.get(`read ${join(d, 'ro/existing')}`)).toBe('ok keep');
  });

  it('creation honours the caller umask and O_EXCL', async () => {
    const d = tempDir();
    const r = await run({
      policies: [policy(1)],
      argv: ['/bin/sh', '-c', `umask 077; exec ${ops(['excl', join(d, 'f')], ['excl', join(d, 'f')]).join(' ')}`],
    });
    expect(r.stdout).toContain(`excl ${join(d, 'f')}: ok`);
    expect(r.stdout).toContain('mode 600');
    expect(r.stdout).toContain(`excl ${join(d, 'f')}: EEXIST`);
  });

  it('mkdir / unlink / rmdir: allowed in the writable dir, EACCES in the protected one', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'rw'));
    mkdirSync(join(d, 'ro'));
    mkdirSync(join(d, 'ro/sub'));
    files(d, { 'rw/gone': 'x', 'ro/stay': 'x' });
    const r = await run({
      policies: [policy(1, { write: { default: 'allow', rules: [rule(0, 'deny', join(d, 'ro'))] } })],
      argv: ops(
        ['mkdir', join(d, 'rw/dir')],
        ['mkdir', join(d, 'ro/dir')],
        ['unlink', join(d, 'rw/gone')],
        ['unlink', join(d, 'ro/stay')],
        ['rmdir', join(d, 'ro/sub')],
        ['rmdir', join(d, 'rw/dir')],
      ),
    });
    expect(r.results.get(`mkdir ${join(d, 'rw/dir')}`)).toBe('ok');
    expect(r.results.get(`mkdir ${join(d, 'ro/dir')}`)).toBe('EACCES');
    expect(r.results.get(`unlink ${join(d, 'rw/gone')}`)).toBe('ok');
    expect(r.results.get(`unlink ${join(d, 'ro/stay')}`)).toBe('EACCES');
    expect(r.results.get(`rmdir ${join(d, 'ro/sub')}`)).toBe('EACCES');
    expect(r.results.get(`rmdir ${join(d, 'rw/dir')}`)).toBe('ok');
    expect(existsSync(join(d, 'ro/stay'))).toBe(true);
    expect(existsSync(join(d, 'ro/sub'))).toBe(true);
    expect(existsSync(join(d, 'rw/gone'))).toBe(false);
  });

  it('mkdir of an existing name in a write-denied place is EEXIST (as the kernel says first: `mkdir -p` works); a new name there EACCES; a read-hidden existing name EACCES', async () => {
    const d = tempDir();
    for (const s of ['ro', 'ro/existing', 'ro/hidden']) mkdirSync(join(d, s));
    const r = await run({
      policies: [
        policy(1, {
          read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'ro/hidden'))] },
          write: { default: 'allow', rules: [rule(1, 'deny', join(d, 'ro'))] },
        }),
      ],
      argv: ops(['mkdir', join(d, 'ro/existing')], ['mkdir', join(d, 'ro/new')], ['mkdir', join(d, 'ro/hidden')], ['mkdir', join(d, 'ro')]),
    });
    expect(r.results.get(`mkdir ${join(d, 'ro/existing')}`)).toBe('EEXIST');
    expect(r.results.get(`mkdir ${join(d, 'ro')}`)).toBe('EEXIST');
    expect(r.results.get(`mkdir ${join(d, 'ro/new')}`)).toBe('EACCES');
    expect(existsSync(join(d, 'ro/new'))).toBe(false);
    expect(r.results.get(`mkdir ${join(d, 'ro/hidden')}`)).toBe('EACCES');
  });

  it('rename: within allowed ok; out of a read-denied place or of a dir holding a denied path EACCES', async () => {
    const d = tempDir();
    for (const s of ['a', 'secretdir', 'holder', 'holder/keys']) mkdirSync(join(d, s));
    files(d, { 'a/f': 'x', 'secretdir/s': 'SECRET', 'holder/keys/id': 'KEY' });
    const r = await run({
      policies: [
        policy(1, {
          read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secretdir')), rule(1, 'deny', join(d, 'holder/keys'))] },
        }),
      ],
      argv: ops(
        ['rename', join(d, 'a/f'), join(d, 'a/g')],
        ['rename', join(d, 'secretdir/s'), join(d, 'a/s')],
        ['rename', join(d, 'holder'), join(d, 'a/holder')],
        ['read', join(d, 'a/s')],
      ),
    });
    expect(r.results.get(`rename ${join(d, 'a/f')}`)).toBe('ok');
    expect(r.results.get(`rename ${join(d, 'secretdir/s')}`)).toBe('EACCES');
    expect(r.results.get(`rename ${join(d, 'holder')}`)).toBe('EACCES');
    expect(existsSync(join(d, 'holder/keys/id'))).toBe(true);
    expect(existsSync(join(d, 'a/g'))).toBe(true);
  });

  it('rename of a directory holding a file a deny glob matches is refused; of one without is allowed', async () => {
    const d = tempDir();
    for (const s of ['p', 'p/a', 'p/a/deep', 'p/c', 'q']) mkdirSync(join(d, s));
    files(d, { 'p/a/deep/.env': 'TOKEN=1', 'p/c/code.ts': 'x' });
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(3, 'deny', join(d, 'p/**/.env'), 'glob')] } })],
      argv: ops(['rename', join(d, 'p/a'), join(d, 'q/a')], ['rename', join(d, 'p/c'), join(d, 'q/c')], ['read', join(d, 'p/a/deep/.env')]),
    });
    expect(r.results.get(`rename ${join(d, 'p/a')}`)).toBe('EACCES');
    expect(r.results.get(`rename ${join(d, 'p/c')}`)).toBe('ok');
    expect(r.results.get(`read ${join(d, 'p/a/deep/.env')}`)).toBe('EACCES');
    expect(existsSync(join(d, 'q/a'))).toBe(false);
    expect(r.events.find((e) => e.target === join(d, 'p/a'))).toMatchObject({ rule: 3, op: 'write' });
  });

  it('hard link of a denied file is refused; of an allowed file works', async () => {
    const d = tempDir();
    files(d, { 'ok.txt': 'fine', 'secret.txt': 'SECRET' });
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret.txt'))] } })],
      argv: ops(
        ['link', join(d, 'secret.txt'), join(d, 'exposed')],
        ['read', join(d, 'exposed')],
        ['link', join(d, 'ok.txt'), join(d, 'ok2')],
        ['read', join(d, 'ok2')],
      ),
    });
    expect(r.results.get(`link ${join(d, 'secret.txt')}`)).toBe('EACCES');
    expect(r.results.get(`read ${join(d, 'exposed')}`)).toBe('ENOENT');
    expect(r.results.get(`link ${join(d, 'ok.txt')}`)).toBe('ok');
    expect(r.results.get(`read ${join(d, 'ok2')}`)).toBe('ok fine');
  });

  it('symlinks to a denied file (existing or made inside) are denied; to an allowed file they work', async () => {
    const d = tempDir();
    files(d, { 'secret.txt': 'SECRET' });
    symlinkSync(join(d, 'secret.txt'), join(d, 'sym'));
    symlinkSync(join(d, 'ok.txt'), join(d, 'symok'));
    files(d, { 'ok.txt': 'fine' });
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret.txt'))] } })],
      argv: ops(['read', join(d, 'sym')], ['read', join(d, 'symok')], ['symlink', join(d, 'secret.txt'), join(d, 'sym2')], ['read', join(d, 'sym2')]),
    });
    expect(r.results.get(`read ${join(d, 'sym')}`)).toBe('EACCES');
    expect(r.results.get(`read ${join(d, 'symok')}`)).toBe('ok fine');
    expect(r.results.get(`symlink ${join(d, 'secret.txt')}`)).toBe('ok');
    expect(r.results.get(`read ${join(d, 'sym2')}`)).toBe('EACCES');
  });

  it('/proc/self/root/<denied>, a relative path from a denied cwd and a dirfd-relative open are decided on the real file', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'secret'));
    mkdirSync(join(d, 'open'));
    files(d, { 'secret/key': 'KEY', 'open/f': 'fine' });
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret'))] } })],
      argv: ops(
        ['read', `/proc/self/root${join(d, 'secret/key')}`],
        ['read', `/proc/self/root${join(d, 'open/f')}`],
        ['readat', join(d, 'open'), '../secret/key'],
        ['readat', join(d, 'open'), 'f'],
        ['chdir', join(d, 'secret')],
        ['read', 'key'],
        ['read', '../open/f'],
        ['read', `/proc/self/cwd/key`],
      ),
    });
    expect(r.results.get(`read /proc/self/root${join(d, 'secret/key')}`)).toBe('EACCES');
    expect(r.results.get(`read /proc/self/root${join(d, 'open/f')}`)).toBe('ok fine');
    expect(r.results.get(`readat ${join(d, 'open')}`)).toBeDefined();
    expect(r.stdout).toContain(`readat ${join(d, 'open')}: EACCES`);
    expect(r.stdout).toContain(`readat ${join(d, 'open')}: ok fine`);
    expect(r.results.get('read key')).toBe('EACCES');
    expect(r.results.get('read ../open/f')).toBe('ok fine');
    expect(r.results.get('read /proc/self/cwd/key')).toBe('EACCES');
  });

  it('/proc of a protected pid is refused, the caller\'s own /proc and harmless entries of others are not', async () => {
    const r = await run({
      policies: [policy(1)],
      protectedPids: [process.pid],
      argv: ops(
        ['read', `/proc/${process.pid}/status`],
        ['read', `/proc/${process.pid}/environ`],
        ['read', '/proc/self/status'],
        ['read', '/proc/1/status'],
        ['read', '/proc/1/environ'],
      ),
    });
    expect(r.results.get(`read /proc/${process.pid}/status`)).toBe('EACCES');
    expect(r.results.get(`read /proc/${process.pid}/environ`)).toBe('EACCES');
    expect(r.results.get('read /proc/self/status')).toMatch(/^ok Name:/);
    expect(r.results.get('read /proc/1/status')).toMatch(/^ok Name:/);
    expect(r.results.get('read /proc/1/environ')).toBe('EACCES');
  });

  it('audit mode reports but allows', async () => {
    const d = tempDir();
    files(d, { 'secret.txt': 'SECRET' });
    const r = await run({
      policies: [policy(1, { mode: 'audit', read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret.txt'))] } })],
      argv: ops(['read', join(d, 'secret.txt')]),
    });
    expect(r.results.get(`read ${join(d, 'secret.txt')}`)).toBe('ok SECRET');
    expect(r.events.some((e) => e.kind === 'audit' && e.target === join(d, 'secret.txt'))).toBe(true);
    expect(statSync(join(d, 'secret.txt')).size).toBe(6);
  });

  it('real shells work inside: bash pipeline, redirections, /dev/null, chmod, truncate', async () => {
    const d = tempDir();
    const r = await run({
      policies: [policy(1)],
      cwd: d,
      argv: ['/bin/bash', '-c', 'echo hi > a && cat a | tr a-z A-Z > b && chmod 600 b && cat b && ls >/dev/null && : > a && wc -c < a && ln -s b c && cat c'],
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('HI\n0\nHI\n');
    expect(r.code).toBe(0);
  });

  it('/dev/stdin, /dev/stdout and /dev/fd/N (process substitution) mean the caller\'s fds, not the engine\'s', async () => {
    const r = await run({
      policies: [policy(1)],
      // (The harness's own stdio are socketpairs, which cannot be opened by path at all.)
      argv: ['/bin/bash', '-c', 'echo from-stdin | cat /dev/stdin; { echo to-stdout > /dev/stdout; } | cat; cat <(echo from-procsubst); echo x | cat /proc/self/fd/0; echo end'],
    });
    expect(r.stdout).toBe('from-stdin\nto-stdout\nfrom-procsubst\nx\nend\n');
    expect(r.stderr).toBe('');
  });

  it('a path ending right before an unmapped page is read; a dangling symlink creates its target only where writes are allowed', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'rw'));
    mkdirSync(join(d, 'ro'));
    files(d, { 'rw/f': 'edge-ok' });
    symlinkSync(join(d, 'rw/target'), join(d, 'rw/dangling-ok'));
    symlinkSync(join(d, 'ro/target'), join(d, 'rw/dangling-no'));
    const r = await run({
      policies: [policy(1, { write: { default: 'allow', rules: [rule(0, 'deny', join(d, 'ro'))] } })],
      argv: ops(['edge', join(d, 'rw/f')], ['write', join(d, 'rw/dangling-ok'), 'made'], ['write', join(d, 'rw/dangling-no'), 'made']),
    });
    expect(r.results.get(`edge ${join(d, 'rw/f')}`)).toBe('ok edge-ok');
    expect(r.results.get(`write ${join(d, 'rw/dangling-ok')}`)).toBe('ok');
    expect(readFileSync(join(d, 'rw/target'), 'utf8')).toBe('made');
    expect(r.results.get(`write ${join(d, 'rw/dangling-no')}`)).toBe('EACCES');
    expect(existsSync(join(d, 'ro/target'))).toBe(false);
  });

  it('truncate, chmod and utimes (touch -c) on a write-denied file are EACCES; on an allowed one they work', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'rw'));
    mkdirSync(join(d, 'ro'));
    files(d, { 'rw/f': 'data', 'ro/f': 'data' });
    const r = await run({
      policies: [policy(1, { write: { default: 'allow', rules: [rule(0, 'deny', join(d, 'ro'))] } })],
      argv: ['/bin/sh', '-c', `${ops(['truncate', join(d, 'ro/f')], ['truncate', join(d, 'rw/f')], ['chmod', join(d, 'ro/f')], ['chmod', join(d, 'rw/f')]).join(' ')}; touch -c -d 2001-01-01 ${join(d, 'ro/f')} || echo touch-ro-refused; touch -c -d 2001-01-01 ${join(d, 'rw/f')} && echo touch-rw-ok`],
    });
    expect(r.results.get(`truncate ${join(d, 'ro/f')}`)).toBe('EACCES');
    expect(r.results.get(`truncate ${join(d, 'rw/f')}`)).toBe('ok');
    expect(r.results.get(`chmod ${join(d, 'ro/f')}`)).toBe('EACCES');
    expect(r.results.get(`chmod ${join(d, 'rw/f')}`)).toBe('ok');
    expect(r.stdout).toContain('touch-ro-refused');
    expect(r.stdout).toContain('touch-rw-ok');
    expect(statSync(join(d, 'ro/f')).size).toBe(4);
    expect(statSync(join(d, 'rw/f')).size).toBe(0);
    expect(statSync(join(d, 'rw/f')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'rw/f')).mtime.getUTCFullYear()).toBe(2001);
    expect(statSync(join(d, 'ro/f')).mtime.getUTCFullYear()).not.toBe(2001);
  });

  it('openat2: RESOLVE_BENEATH is honoured, a bigger how with a non-zero tail is E2BIG, unknown resolve flags EINVAL', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'in'));
    files(d, { 'in/f': 'inside', 'out': 'outside' });
    const r = await run({
      policies: [policy(1)],
      argv: ops(['beneath', join(d, 'in'), 'f'], ['beneath', join(d, 'in'), '../out'], ['how2big', join(d, 'out')], ['badresolve', join(d, 'out')]),
    });
    expect(r.stdout).toContain(`beneath ${join(d, 'in')}: ok inside`);
    expect(r.stdout).toContain(`beneath ${join(d, 'in')}: EXDEV`);
    expect(r.results.get(`how2big ${join(d, 'out')}`)).toBe('E2BIG');
    expect(r.results.get(`badresolve ${join(d, 'out')}`)).toBe('EINVAL');
  });

  it('a FIFO open that waits for its writer does not stall the engine (one receiving thread)', async () => {
    const d = tempDir();
    const r = await run({
      policies: [policy(1)],
      threads: 1,
      cwd: d,
      argv: ['/bin/bash', '-c', 'mkfifo f || exit 1; { sleep 0.2; echo through-fifo > f; } & cat f; wait'],
    });
    expect(r.stdout).toBe('through-fifo\n');
    expect(r.code).toBe(0);
  });
});

// A relative name is walked from the caller's own cwd or dirfd object, whose name the engine
// proves first (native fs_open.cc open_direct_relative): the decision is on where that
// directory is now, whatever the caller's cwd was when it got there.
describe('engine: relative names', () => {
  it('from the cwd: files, "dir/" scans and "." are decided on the real place; symlinks, ".." and missing names as before', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'open'));
    mkdirSync(join(d, 'secret'));
    files(d, { 'open/f': 'fine\n', 'open/g': 'fine too\n', 'secret/key': 'KEY\n' });
    symlinkSync('secret', join(d, 'via'));
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret'))] } })],
      cwd: d,
      argv: ops(
        ['read', 'open/f'],
        ['read', 'secret/key'],
        ['list', 'open/'],
        ['list', 'secret/'],
        ['list', '.'],
        ['read', 'open/missing'],
        ['read', 'via/key'],
        ['read', 'open/../secret/key'],
        ['read', 'open//g'],
        ['read', './open/f'],
        ['read', './/./secret/key'],
        ['readat', join(d, 'open'), 'g'],
        ['readat', d, 'secret/key'],
        ['chdir', 'secret'],
        ['list', './'],
        ['read', 'key'],
      ),
    });
    expect(r.results.get('read open/f')).toBe('ok fine');
    expect(r.results.get('read secret/key')).toBe('EACCES');
    expect(r.events.find((e) => e.target === join(d, 'secret/key'))).toMatchObject({ kind: 'deny', op: 'read', rule: 0 });
    expect(r.results.get('list open/')).toBe('ok 4'); // ".", "..", f, g
    expect(r.results.get('list secret/')).toBe('EACCES');
    expect(r.results.get('list .')).toBe('ok 5'); // ".", "..", open, secret, via
    expect(r.results.get('read open/missing')).toBe('ENOENT');
    expect(r.results.get('read via/key')).toBe('EACCES');
    expect(r.results.get('read open/../secret/key')).toBe('EACCES');
    expect(r.results.get('read open//g')).toBe('ok fine too');
    expect(r.results.get('read ./open/f')).toBe('ok fine');
    expect(r.results.get('read .//./secret/key')).toBe('EACCES');
    expect(r.results.get(`readat ${join(d, 'open')}`)).toBe('ok fine too');
    expect(r.results.get(`readat ${d}`)).toBe('EACCES');
    expect(r.results.get('chdir secret')).toBe('ok');
    expect(r.results.get('list ./')).toBe('EACCES'); // the cwd itself, now the denied directory
    expect(r.results.get('read key')).toBe('EACCES');
    expect(r.code).toBe(0);
  });

  it('a cwd moved into a denied place is decided where it is now; a deleted cwd finds nothing', async () => {
    const d = tempDir();
    for (const sub of ['work', 'secret', 'other', 'gone']) mkdirSync(join(d, sub));
    files(d, { 'work/f': 'fine\n', 'other/f': 'old\n' });
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret'))] } })],
      cwd: join(d, 'work'),
      argv: ops(
        ['read', 'f'],
        ['rename', join(d, 'work'), join(d, 'secret/work')],
        ['read', './f'],
        ['list', '.'],
        ['chdir', join(d, 'other')],
        ['list', './'],
        ['read', 'f/'], // a file with a trailing slash: ENOTDIR, as the kernel says
        ['overwrite', 'f', 'new'],
        ['chdir', join(d, 'gone')],
        ['rmdir', join(d, 'gone')],
        ['read', 'anything'],
      ),
    });
    expect(r.results.get('read f')).toBe('ok fine');
    expect(r.results.get(`rename ${join(d, 'work')}`)).toBe('ok');
    expect(r.results.get('read ./f')).toBe('EACCES');
    expect(r.results.get('list .')).toBe('EACCES');
    expect(r.events.find((e) => e.target === join(d, 'secret/work/f'))).toMatchObject({ kind: 'deny', op: 'read' });
    expect(r.results.get('list ./')).toBe('ok 3');
    expect(r.results.get('read f/')).toBe('ENOTDIR');
    expect(r.results.get('overwrite f')).toBe('ok');
    expect(readFileSync(join(d, 'other/f'), 'utf8')).toBe('new');
    expect(r.results.get('rmdir ' + join(d, 'gone'))).toBe('ok');
    expect(r.results.get('read anything')).toBe('ENOENT');
    expect(r.code).toBe(0);
  });

  // The engine's name for a directory (the kernel's d_path) is only a claim: for a directory on
  // a mount of another mount namespace it names the place that mount covers there. Made outside
  // the sandbox (the sandbox may not mount), by a helper whose namespace binds secret/ over open/.
  it.runIf(process.getuid?.() === 0)('a cwd in another mount namespace is not decided by the name it would have here (root: it mounts)', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'open'));
    mkdirSync(join(d, 'secret'));
    files(d, { 'open/f': 'fine\n', 'secret/key': 'KEY\n' });
    const helper = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${d}/secret ${d}/open && echo ready && exec sleep 60`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res, rej) => {
        helper.stdout!.once('data', () => res());
        helper.once('exit', (code) => rej(new Error(`mount helper exited ${code}`)));
      });
      const pol = policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret'))] } });
      const inside = await run({ policies: [pol], cwd: `/proc/${helper.pid}/root${d}/open`, argv: ops(['read', 'key'], ['list', '.']) });
      expect(inside.results.get('read key')).toBe('EACCES');
      expect(inside.results.get('list .')).toBe('EACCES');
      const here = await run({ policies: [pol], cwd: join(d, 'open'), argv: ops(['read', 'f'], ['read', 'key']) });
      expect(here.results.get('read f')).toBe('ok fine');
      expect(here.results.get('read key')).toBe('ENOENT');
    } finally {
      helper.kill('SIGKILL');
    }
  });

  // The cwd's own name fits PATH_MAX, the file's does not: the full route cannot prove such a
  // name (readlink fails) and refuses; the relative route must not decide it as text instead.
  it('a file whose whole name is longer than PATH_MAX is refused as by the full route; a shorter one beside it reads', async () => {
    const d = tempDir();
    const seg = 'n'.repeat(200);
    const depth = 19; // a cwd name of ~3.9 KB: still readable
    // Made one name at a time (no path longer than one name is ever used).
    execFileSync(process.execPath, ['-e', `const fs = require('fs'); process.chdir(process.argv[1]);
      for (let i = 0; i < ${depth}; i++) { fs.mkdirSync(process.argv[2]); process.chdir(process.argv[2]); }
      fs.writeFileSync('g', 'near\\n'); fs.mkdirSync(process.argv[2]); process.chdir(process.argv[2]);
      fs.mkdirSync(process.argv[2]); fs.writeFileSync(process.argv[2] + '/f', 'far\\n');`, d, seg]);
    try {
      const r = await run({
        policies: [policy(1)],
        cwd: d,
        argv: ops(...Array.from({ length: depth }, () => ['chdir', seg]), ['read', 'g'], ['read', `${seg}/${seg}/f`], ['read', `${seg}/./${seg}/f`]),
      });
      expect(r.results.get('read g')).toBe('ok near');
      expect(r.results.get(`read ${seg}/${seg}/f`)).toBe('EACCES'); // the relative route
      expect(r.results.get(`read ${seg}/./${seg}/f`)).toBe('EACCES'); // the full route (a "." inside)
      expect(r.code).toBe(0);
    } finally {
      execFileSync('rm', ['-rf', d]); // walks by dirfd: no name too long
    }
  });

  it('writes by relative name: a write-denied file EACCES and unchanged, its allowed twin written', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'ro'));
    mkdirSync(join(d, 'rw'));
    files(d, { 'ro/f': 'keep\n', 'rw/f': 'old\n' });
    const r = await run({
      policies: [policy(1, { write: { default: 'allow', rules: [rule(0, 'deny', join(d, 'ro'))] } })],
      cwd: d,
      argv: ops(['overwrite', 'ro/f', 'clobbered'], ['overwrite', 'rw/f', 'new'], ['read', 'ro/f']),
    });
    expect(r.results.get('overwrite ro/f')).toBe('EACCES');
    expect(readFileSync(join(d, 'ro/f'), 'utf8')).toBe('keep\n');
    expect(r.results.get('overwrite rw/f')).toBe('ok');
    expect(readFileSync(join(d, 'rw/f'), 'utf8')).toBe('new');
    expect(r.results.get('read ro/f')).toBe('ok keep');
    expect(r.code).toBe(0);
  });
});

// Links right under "/" (/lib -> usr/lib on merged-/usr systems) are remembered by the engine
// so a path through one takes the direct route (native root_links.cc): the decision must be the
// target's whether the link was met before or not, and follow the link when it is replaced.
describe('engine: links right under /', () => {
  const merged = (() => {
    try {
      return lstatSync('/lib').isSymbolicLink() && existsSync('/usr/lib/os-release');
    } catch {
      return false;
    }
  })();

  it.skipIf(!merged)('a path through /lib is decided on /usr/lib, the first time and once the link is known (not applicable without a merged /usr)', async () => {
    const libc = (() => {
      for (const p of ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', '/lib64/libc.so.6']) if (existsSync(p)) return p;
      return '/lib/os-release';
    })();
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', '/usr/lib/os-release')] } })],
      // read, edge and opath: three opens of the same name, the first of which may learn the link.
      argv: ops(['read', '/lib/os-release'], ['edge', '/lib/os-release'], ['opath', '/lib/os-release'], ['read', libc], ['edge', libc]),
    });
    expect(r.results.get('read /lib/os-release')).toBe('EACCES');
    expect(r.results.get('edge /lib/os-release')).toBe('EACCES');
    expect(r.results.get('opath /lib/os-release')).toBe('EACCES');
    // The twin: another file through the same link.
    expect(r.results.get(`read ${libc}`)).toMatch(/^ok/);
    expect(r.results.get(`edge ${libc}`)).toMatch(/^ok/);
    // A name missing through the link: ENOENT, for an open and for an exec (a PATH lookup).
    const missing = await run({ policies: [policy(1)], argv: ['/bin/sh', '-c', 'cat /lib/sbx-no-such-file; /bin/sbx-no-such-cmd; echo rc=$?; /bin/true && echo ran'] });
    expect(missing.stderr).toMatch(/sbx-no-such-file: No such file or directory/);
    expect(missing.stdout).toContain('rc=127');
    expect(missing.stdout).toContain('ran');
    // Named by the target (identical denials are folded into one record).
    const denied = r.events.filter((e) => e.kind === 'deny');
    expect(denied.length).toBeGreaterThan(0);
    for (const e of denied) expect(e.target).toBe('/usr/lib/os-release');
  });

  it.runIf(process.getuid?.() === 0)('a link made under / and replaced: decisions follow it; a link into /proc means the caller, not the engine (root: it creates links in /)', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'one'));
    mkdirSync(join(d, 'two'));
    files(d, { 'one/f': 'ONE\n', 'two/f': 'TWO\n' });
    const link = `/sbx-test-link-${process.pid}`;
    const proc = `/sbx-test-proc-${process.pid}`;
    const deny = policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'two'))] } });
    try {
      symlinkSync(d.slice(1) + '/one', link); // relative, as /lib -> usr/lib
      symlinkSync('proc', proc);
      const first = await run({ policies: [deny], argv: ops(['read', `${link}/f`], ['edge', `${link}/f`], ['read', `${proc}/self/comm`]) });
      expect(first.results.get(`read ${link}/f`)).toBe('ok ONE');
      expect(first.results.get(`edge ${link}/f`)).toBe('ok ONE');
      expect(first.results.get(`read ${proc}/self/comm`)).toBe('ok engine_ops');
      // Replaced (a new link, renamed over the old one, as package managers do): now the denied directory.
      symlinkSync(d.slice(1) + '/two', `${link}.new`);
      renameSync(`${link}.new`, link);
      const second = await run({ policies: [deny], argv: ops(['read', `${link}/f`], ['edge', `${link}/f`], ['read', join(d, 'one/f')]) });
      expect(second.results.get(`read ${link}/f`)).toBe('EACCES');
      expect(second.results.get(`edge ${link}/f`)).toBe('EACCES');
      expect(second.results.get(`read ${join(d, 'one/f')}`)).toBe('ok ONE');
      expect(second.events.find((e) => e.kind === 'deny')?.target).toBe(join(d, 'two/f'));
      // And back: allowed again.
      symlinkSync(d.slice(1) + '/one', `${link}.new`);
      renameSync(`${link}.new`, link);
      const third = await run({ policies: [deny], argv: ops(['read', `${link}/f`]) });
      expect(third.results.get(`read ${link}/f`)).toBe('ok ONE');
    } finally {
      rmSync(link, { force: true });
      rmSync(`${link}.new`, { force: true });
      rmSync(proc, { force: true });
    }
  });
});
