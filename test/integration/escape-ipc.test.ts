/**
 * SysV IPC and POSIX message queues (DESIGN invariant 5: no unsandboxed deputy). Their
 * objects are shared by every process of the user: a daemon outside that keeps a secret in
 * a shared-memory segment, or takes commands from a message queue with a known key, was
 * one shmat or msgsnd away. Inside, only objects the session made are reachable (the engine
 * makes them and records them: native/unotify/src/addon/ipc.h).
 *
 * Every refused step is first shown to work OUTSIDE on the same object; every kind has its
 * allowed twin inside (the session's own objects, private and keyed, across its processes).
 * The fixture: test/fixtures/c/ipc_probe.c ("<step>: ok …" or "<step>: <ERRNO>").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomInt } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeWorld, fixture, run, sbxBin, sbxExec, type Result } from './exec-helpers.js';
import { makeSandbox, until, type Sandbox } from './supervisor-helpers.js';

const P = fixture('ipc_probe');
const w = escapeWorld('sbx-ipc-');
const { world, policy } = w;
const KINDS = ['shm', 'sem', 'msg'] as const;
type Kind = (typeof KINDS)[number];
/** Keys and queue names of this run only (the root and the unprivileged CI runs share the machine). */
const base = randomInt(0x10000000, 0x7fff0000);
const keyOf = (i: number) => (base + i).toString(16);
const mq = `/sbx-test-${process.pid}-${randomInt(1e9)}`;
const outsideIds: Partial<Record<Kind, number>> = {};

const outside = (...args: string[]) => run(P, args, { env: world.env, cwd: world.dir });
const inside = (sh: string) => sbxExec([...policy, '--', 'sh', '-c', sh], { env: world.env, cwd: world.dir });
/** The same, saying which path it took (the fast path: a supervisor serves it). */
const insideTraced = (sh: string) => sbxExec([...policy, '--', 'sh', '-c', sh], { env: { ...world.env, SBX_FAST_TRACE: '1' }, cwd: world.dir });
/** step → verdict line, for scripts whose steps print in order under `## label` lines. */
function parse(r: Result): Record<string, string> {
  const out: Record<string, string> = {};
  let label = '';
  for (const line of r.stdout.split('\n')) {
    const m = /^## (.*)$/.exec(line);
    if (m) label = m[1]!;
    else if (label && line.trim()) out[label] = line.trim();
  }
  return out;
}
const script = (steps: Record<string, string[]>) =>
  Object.entries(steps)
    .map(([label, args]) => `echo '## ${label}'; ${[P, ...args].map((a) => `'${a}'`).join(' ')}`)
    .join('\n');

beforeAll(async () => {
  w.create();
  for (const [i, kind] of KINDS.entries()) {
    const r = await outside('make', kind, keyOf(i));
    const id = /^make: ok id=(\d+)$/.exec(r.stdout.trim())?.[1];
    expect(id, `outside: make ${kind}: ${r.stdout}${r.stderr}`).toBeDefined();
    outsideIds[kind] = Number(id);
  }
  expect((await outside('mq-make', mq)).stdout.trim()).toBe('mq-make: ok');
});
afterAll(async () => {
  for (const kind of KINDS) if (outsideIds[kind] !== undefined) await outside('rm', kind, String(outsideIds[kind]));
  await outside('mq-unlink', mq);
  world.cleanup();
});

describe('SysV IPC and message queues made outside the sandbox', () => {
  it('each object works outside; inside, its key, its id and its name are refused (EACCES) with a denial line, and nothing of it changes', async () => {
    // The outside twins: the same steps reach the same objects.
    for (const [i, kind] of KINDS.entries()) {
      const id = String(outsideIds[kind]);
      expect((await outside('get', kind, keyOf(i))).stdout.trim()).toBe(`get: ok id=${id}`);
      expect((await outside('stat', kind, id)).stdout.trim()).toBe('stat: ok');
    }
    expect((await outside('read', 'shm', String(outsideIds.shm))).stdout.trim()).toBe('read: ok SECRET-SHM');
    expect((await outside('read', 'sem', String(outsideIds.sem))).stdout.trim()).toBe('read: ok 1');
    expect((await outside('mq-open', mq)).stdout.trim()).toBe('mq-open: ok messages=1');

    const steps: Record<string, string[]> = {};
    for (const [i, kind] of KINDS.entries()) {
      const id = String(outsideIds[kind]);
      steps[`${kind} get`] = ['get', kind, keyOf(i)];
      steps[`${kind} create`] = ['create', kind, keyOf(i)];
      steps[`${kind} use`] = ['use', kind, id];
      steps[`${kind} read`] = ['read', kind, id];
      steps[`${kind} stat`] = ['stat', kind, id];
      steps[`${kind} rm`] = ['rm', kind, id];
    }
    steps['mq open'] = ['mq-open', mq];
    steps['mq unlink'] = ['mq-unlink', mq];
    const r = await inside(`${script(steps)}\ntrue`);
    const got = parse(r);
    for (const [label, args] of Object.entries(steps)) expect(got[label], `${label}\n${r.stdout}${r.stderr}`).toBe(`${args[0]}: EACCES`);
    for (const [i, kind] of KINDS.entries()) {
      expect(r.stderr).toContain(`denied ipc ${kind} key 0x${keyOf(i).padStart(8, '0')} (made outside this sandbox)`);
      expect(r.stderr).toContain(`denied ipc ${kind} id ${outsideIds[kind]} (not made in this sandbox)`);
    }
    expect(r.stderr).toContain(`denied ipc mqueue ${mq} (made outside this sandbox)`);
    expect(r.code).toBe(0);

    // Untouched: the secret, the message, the semaphore's value and the queue are all as they were.
    expect((await outside('read', 'shm', String(outsideIds.shm))).stdout.trim()).toBe('read: ok SECRET-SHM');
    expect((await outside('read', 'sem', String(outsideIds.sem))).stdout.trim()).toBe('read: ok 1');
    expect((await outside('mq-open', mq)).stdout.trim()).toBe('mq-open: ok messages=1');
    expect((await outside('read', 'msg', String(outsideIds.msg))).stdout.trim()).toBe('read: ok SECRET-MSG');
    // The message is gone now (read took it): put it back for a later run of this test.
    expect((await outside('use', 'msg', String(outsideIds.msg))).stdout.trim()).toBe('use: ok');
  });

  it('the allowed twins: the session makes, uses and removes its own objects, private and keyed, across its processes; ipcs-style listing works', async () => {
    const ownKey = keyOf(10);
    const ownMq = `${mq}-own`;
    const steps: Record<string, string[]> = {
      'own shm': ['own', 'shm'],
      'own sem': ['own', 'sem'],
      'own msg': ['own', 'msg'],
      'own mq': ['mq-own', ownMq],
      info: ['info'],
    };
    // A keyed segment made by one process of the session, found by key by the next one.
    const keyed = `echo '## made'; id=$(${P} make shm ${ownKey} | sed -n 's/^make: ok id=//p'); echo "made=$id"
echo '## keyed get'; ${P} get shm ${ownKey}
echo '## keyed read'; ${P} read shm "$id"
echo '## keyed rm'; ${P} rm shm "$id"
echo '## keyed after rm'; ${P} get shm ${ownKey}; true`;
    const r = await inside(`${script(steps)}\n${keyed}`);
    const got = parse(r);
    expect(got['own shm'], r.stdout + r.stderr).toBe('own: ok SECRET-SHM SECRET-SHM');
    expect(got['own sem']).toBe('own: ok 1');
    expect(got['own msg']).toBe('own: ok SECRET-MSG');
    expect(got['own mq']).toBe('mq-own: ok mine');
    expect(got.info).toBe('info: ok');
    const made = /made=(\d+)/.exec(r.stdout)?.[1];
    expect(made, r.stdout).toBeDefined();
    expect(got['keyed get']).toBe(`get: ok id=${made}`);
    expect(got['keyed read']).toBe('read: ok SECRET-SHM');
    expect(got['keyed rm']).toBe('rm: ok');
    expect(got['keyed after rm']).toBe('get: ENOENT');
    expect(r.stderr).not.toContain('denied');
    expect(r.code).toBe(0);
  });

  it('an object another sandbox made is refused like one made outside (twin: the sandbox that made it); it goes when that sandbox ends', async () => {
    const key = keyOf(20);
    const ready = join(w.pub, 'made');
    const go = join(w.pub, 'go');
    // Sandbox A makes a keyed queue and stays until told to end.
    const a = inside(`${P} make msg ${key}; ${P} get msg ${key}; : > ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done`);
    const deadline = Date.now() + 30_000;
    while (!existsSync(ready) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(ready), 'sandbox A made its queue').toBe(true);
    // Outside, the key finds it (nothing stops a process outside sbx).
    const id = /^get: ok id=(\d+)$/.exec((await outside('get', 'msg', key)).stdout.trim())?.[1];
    expect(id).toBeDefined();
    const other = await inside(`${P} get msg ${key}; ${P} read msg ${id}; true`);
    expect(other.stdout).toBe('get: EACCES\nread: EACCES\n');
    expect(other.stderr).toContain(`denied ipc msg key 0x${key.padStart(8, '0')} (made outside this sandbox)`);
    writeFileSync(go, '');
    const ended = await a;
    expect(ended.stdout).toContain(`get: ok id=${id}`);
    expect(ended.code).toBe(0);
    // A has ended: its queue went with it (an outside program that adopted the key keeps no
    // channel to a sandbox). The outside objects are still there (first test, and afterAll).
    const gone = await outside('stat', 'msg', id!);
    expect(gone.stdout.trim()).toMatch(/^stat: E(INVAL|IDRM)$/);
    expect((await outside('stat', 'msg', String(outsideIds.msg))).stdout.trim()).toBe('stat: ok');
  });

  it('a message queue the session made and left goes when it ends (a daemon opening that name later finds no planted message); twin: the one made outside stays', async () => {
    const planted = `${mq}-planted`;
    // While the session lives, its queue is there for its own processes (with the message).
    const r = await inside(`${P} mq-make ${planted}; ${P} mq-open ${planted}`);
    expect(r.stdout, r.stderr).toBe('mq-make: ok\nmq-open: ok messages=1\n');
    expect(r.code).toBe(0);
    // Ended: the name is free again; the queue made outside is untouched.
    const after = await outside('mq-open', planted);
    if (after.stdout.trim() !== 'mq-open: ENOENT') await outside('mq-unlink', planted);
    expect(after.stdout.trim()).toBe('mq-open: ENOENT');
    expect((await outside('mq-open', mq)).stdout.trim()).toBe('mq-open: ok messages=1');
  });

  it("an object of the session's whose mode hides it from its owner still works (checked without read permission); removed through the engine, its id is refused", async () => {
    const r = await inside(`id=$(${P} make msg ${keyOf(40)} | sed -n 's/^make: ok id=//p')
echo '## chmod'; ${P} chmod msg "$id" 200
echo '## use'; ${P} use msg "$id"
echo '## rm'; ${P} rm msg "$id"
echo '## after rm'; ${P} use msg "$id"; true`);
    const got = parse(r);
    expect(got.chmod, r.stdout + r.stderr).toBe('chmod: ok');
    expect(got.use).toBe('use: ok');
    expect(got.rm).toBe('rm: ok');
    // Gone, and its record with it: the id is refused (not EINVAL from the kernel).
    expect(got['after rm']).toBe('use: EACCES');
    expect(r.code).toBe(0);
  });
});

describe('POSIX shared memory and named semaphores (/dev/shm)', () => {
  const psx = `sbx-test-${process.pid}-${randomInt(1e9)}`;
  const out = `/dev/shm/${psx}`;
  const outDir = `/dev/shm/${psx}-dir`;
  const outExe = `/dev/shm/${psx}-exe`;
  beforeAll(async () => {
    expect((await outside('psx-make', `/${psx}`)).stdout.trim()).toBe('psx-make: ok');
    mkdirSync(outDir);
    copyFileSync('/bin/true', outExe);
    chmodSync(outExe, 0o755);
  });
  afterAll(() => {
    for (const f of [out, outDir, outExe]) rmSync(f, { recursive: true, force: true });
  });

  it("another program's segment is out of reach: read, write, truncate, remove, rename, link, chmod, replace, and making a name in its directory are refused with a denial line; nothing of it changes", async () => {
    // The outside twin: the same file is there and readable.
    expect(readFileSync(out, 'utf8')).toBe('SECRET-PSX');
    const steps = [
      `cat ${out}`,
      `cd /dev/shm && cat ${psx}`, // by a relative name: another mount than /, the full route
      `echo x >> ${out}`,
      `truncate -s 0 ${out}`,
      `rm -f ${out}`,
      `mv ${out} ${out}-moved`,
      `ln ${out} ${out}-linked`,
      `chmod 666 ${out}`,
      `echo mine > ${out}-mine && mv ${out}-mine ${out}`,
      `echo x > ${outDir}/planted`,
      `mkdir ${outDir}/.git`,
      `${P} bind ${outDir}/sock`,
      outExe,
      `chmod 777 /dev/shm`,
    ];
    const r = await inside(steps.map((s, i) => `if ( ${s} ) >/dev/null 2>&1; then echo "${i} done"; else echo "${i} refused"; fi`).join('\n'));
    expect(r.stdout, r.stderr).toBe(steps.map((_, i) => `${i} refused\n`).join(''));
    expect(r.stderr).toContain(`sbx: denied ipc ${out} (made outside this sandbox)`);
    expect(r.stderr).toContain(`sbx: denied ipc ${outDir} (made outside this sandbox)`);
    expect(readFileSync(out, 'utf8')).toBe('SECRET-PSX');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`${psx}-`)).sort()).toEqual([`${psx}-dir`, `${psx}-exe`]);
    expect(readdirSync(outDir)).toEqual([]);
    // Outside, the program runs (the twin of running it inside).
    expect((await run(outExe, [])).code).toBe(0);
    // An fd of it handed in from outside (the fast path passes a caller's fds on, as a shell
    // does): its metadata cannot be changed through it either.
    expect((await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir })).code).toBe(0);
    const handed = await run('sh', ['-c', `exec 3<${out}; exec "$0" exec "$@"`, sbxBin, ...policy, '--', P, 'fchmod-fd', '3', '666'], { env: world.env, cwd: world.dir });
    await run(sbxBin, ['daemon', 'stop', '--force'], { env: world.env, cwd: world.dir });
    expect(handed.stdout, handed.stderr).toBe('fchmod-fd: EACCES\n');
    expect(handed.stderr).toContain(`sbx: denied ipc ${out} (made outside this sandbox)`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('the allowed twins: its own segments, semaphores, files and directories work (shm_open, sem_open, mkdir, rename, unlink); /dev/shm stays listable', async () => {
    const own = `${psx}-own`;
    const r = await inside(`${P} psx-own /${own}-seg
${P} sem-own /${own}-sem
mkdir /dev/shm/${own}-d && echo a > /dev/shm/${own}-d/f && mv /dev/shm/${own}-d/f /dev/shm/${own}-d/g && cat /dev/shm/${own}-d/g && (cd /dev/shm/${own}-d && cat ./g) && rm -r /dev/shm/${own}-d && echo tree-ok
ls /dev/shm | grep -qx ${psx} && echo listed`);
    expect(r.stdout, r.stderr).toBe('psx-own: ok mine\nsem-own: ok taken\na\na\ntree-ok\nlisted\n');
    expect(r.stderr).not.toContain('denied');
    expect(r.code).toBe(0);
  });

  it('no name outlives the session another way: no whiteout device, nothing deeper than 16 directories, made or moved there (twins: a socket bound there, a copy of a program run from there)', async () => {
    const own = `/dev/shm/${psx}-x`;
    const r = await inside(`: > ${own}-a; ${P} whiteout ${own}-a ${own}-b
mkdir -p ${own}-deep/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15 && echo 15-ok; mkdir ${own}-deep/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16 || echo 16-refused
mkdir -p ${own}-tree/a && { mv ${own}-tree ${own}-deep/1/2/3/4/5/6/7/8/9/10/11/12/13/14/ 2>/dev/null || echo deeper-move-refused; }
mv ${own}-tree ${own}-deep/1/2/3/4/5/6/7/8/9/10/11/12/13/ && echo move-ok
${P} bind ${own}-sock
cp /bin/true ${own}-true && ${own}-true && echo ran-own`);
    expect(r.stdout, r.stderr).toBe('whiteout: EPERM\n15-ok\n16-refused\ndeeper-move-refused\nmove-ok\nbind: ok\nran-own\n');
    expect(r.stderr).toContain('at most 16 directories deep');
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`${psx}-x`))).toEqual([]);
  });

  it("what the session leaves in /dev/shm goes when it ends, even renamed onto itself, closed to its owner or with a process left behind (twin: another program's stays)", async () => {
    const left = `${psx}-left`;
    const r = await inside(`${P} psx-make /${left} && mkdir /dev/shm/${left}-d && echo a > /dev/shm/${left}-d/f && cat /dev/shm/${left}-d/f
mv -T /dev/shm/${left} /dev/shm/${left} 2>/dev/null; : > /dev/shm/${left}-same && ${P} rename-self /dev/shm/${left}-same
mkdir -p /dev/shm/${left}-locked/in && : > /dev/shm/${left}-locked/in/f && chmod 000 /dev/shm/${left}-locked/in /dev/shm/${left}-locked
sleep 1 & exit 0`);
    expect(r.stdout, r.stderr).toBe('psx-make: ok\na\nrename-self: ok\n');
    const after = readdirSync('/dev/shm').filter((f) => f.startsWith(left));
    for (const f of after) {
      await run('chmod', ['-R', 'u+rwx', `/dev/shm/${f}`]);
      rmSync(`/dev/shm/${f}`, { recursive: true, force: true });
    }
    expect(after).toEqual([]);
    expect(readFileSync(out, 'utf8')).toBe('SECRET-PSX');
  });
});

// Root only (mounting it needs root; systemd mounts it at /dev/mqueue): the mqueue filesystem,
// whose files are the queues themselves.
describe.runIf(process.getuid?.() === 0)('message queues through the mqueue filesystem', () => {
  let mnt: string;
  beforeAll(async () => {
    mnt = mkdtempSync(join(w.pub, 'mq-'));
    expect((await run('mount', ['-t', 'mqueue', 'none', mnt])).code).toBe(0);
  });
  afterAll(async () => {
    await run('umount', [mnt]);
  });

  it("another program's queue read through a file there is refused like its mq_open; nothing is made or removed by path (twins: outside reads it; the session's own queue reads there)", async () => {
    const q = mq.slice(1);
    expect((await run('cat', [`${mnt}/${q}`])).stdout).toContain('QSIZE:10');
    const own = `${mq}-viafs`;
    const r = await inside(`cat ${mnt}/${q} >/dev/null 2>&1 || echo read-refused
(echo x > ${mnt}/${q}-new) 2>/dev/null || echo create-refused
rm -f ${mnt}/${q} 2>/dev/null || echo rm-refused
${P} mq-make ${own} >/dev/null && grep -q QSIZE ${mnt}/${own.slice(1)} && echo own-read`);
    expect(r.stdout, r.stderr).toBe('read-refused\ncreate-refused\nrm-refused\nown-read\n');
    expect(r.stderr).toContain(`sbx: denied ipc mqueue ${mq} (made outside this sandbox)`);
    expect(r.stderr).toContain('(queues are made by mq_open, which records them)');
    expect((await outside('mq-open', mq)).stdout.trim()).toBe('mq-open: ok messages=1');
    expect(readdirSync(mnt)).not.toContain(`${q}-new`);
    expect(readdirSync(mnt)).not.toContain(own.slice(1));
  });

  it('an engine that cannot make a queue of its own (RLIMIT_MSGQUEUE 0) still knows the filesystem (twins: outside reads the queue; inside, a plain file and one of another kernel filesystem read)', async () => {
    const q = mq.slice(1);
    const plain = join(w.pub, `plain-${process.pid}`);
    writeFileSync(plain, 'PLAIN\n');
    chmodSync(plain, 0o644);
    expect((await run('cat', [`${mnt}/${q}`])).stdout).toContain('QSIZE:10');
    // The engine runs in this sbx exec (no supervisor for this world): the limit is its own.
    const cmd = [sbxBin, 'exec', ...policy, '--', 'sh', '-c', `cat ${mnt}/${q} >/dev/null 2>&1 || echo read-refused; cat ${plain} /proc/sys/kernel/ostype`];
    const r = await run('bash', ['-c', 'ulimit -q 0 && exec "$@"', 'bash', ...cmd], { env: world.env, cwd: world.dir });
    expect(r.stdout, r.stderr).toBe('read-refused\nPLAIN\nLinux\n');
    expect(r.stderr).toContain(`sbx: denied ipc mqueue ${mq} (made outside this sandbox)`);
    rmSync(plain);
  });
});

// Root only: the kernel's checkpoint/restore knob (/proc/sys/kernel/shm_next_id) stands in for
// the millions of creations after which the kernel hands an id out again. As the unprivileged
// CI user this part does not run; the root run of the same file does.
describe.runIf(process.getuid?.() === 0)('a record whose object went away outside the engine', () => {
  // Both sandboxes served by one supervisor (the fast path): one engine process makes every
  // segment, so the creator pid cannot tell them apart.
  beforeAll(async () => {
    expect((await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir })).code).toBe(0);
  });
  afterAll(async () => {
    await run(sbxBin, ['daemon', 'stop', '--force'], { env: world.env, cwd: world.dir });
  });

  it("another sandbox's new segment that the kernel gave the old id is not the first sandbox's (twin: its maker reads it)", async () => {
    const ready = join(w.pub, 'stale-ready');
    const go = join(w.pub, 'stale-go');
    const bMade = join(w.pub, 'stale-b-made');
    const bGo = join(w.pub, 'stale-b-go');
    const waitFile = async (f: string) => {
      const deadline = Date.now() + 30_000;
      while (!(existsSync(f) && readFileSync(f, 'utf8').trim()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return readFileSync(f, 'utf8').trim();
    };
    // Sandbox A makes a private segment and waits; then it tries the same id again.
    const a = insideTraced(`id=$(${P} make shm 0 | sed -n 's/^make: ok id=//p'); echo "$id" > ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done; echo '## again'; ${P} read shm "$id"; true`);
    const id = await waitFile(ready);
    expect(id).toMatch(/^\d+$/);
    let b: Promise<Result> | undefined;
    try {
      // Gone outside the engine (as shm_rmid_forced does at its last detach, or an ipcrm).
      expect((await outside('rm', 'shm', id)).stdout.trim()).toBe('rm: ok');
      writeFileSync('/proc/sys/kernel/shm_next_id', id);
      // Sandbox B's engine makes the next segment: the kernel hands it the same id. B keeps it
      // while A tries, then reads it itself (the twin) and removes it.
      b = insideTraced(`id=$(${P} make shm 0 | sed -n 's/^make: ok id=//p'); echo "$id" > ${bMade}; while [ ! -e ${bGo} ]; do sleep 0.05; done; ${P} read shm "$id"; ${P} rm shm "$id"`);
      expect(await waitFile(bMade)).toBe(id);
    } finally {
      // The kernel sets it back to -1 once it has used it; a write of -1 then fails (EINVAL).
      if (readFileSync('/proc/sys/kernel/shm_next_id', 'utf8').trim() !== '-1') writeFileSync('/proc/sys/kernel/shm_next_id', '-1');
      writeFileSync(go, '');
      if (!b) writeFileSync(bGo, '');
    }
    const r = await a;
    writeFileSync(bGo, '');
    expect(r.stderr).toMatch(/^sbx-fast: fast exec: session /m);
    expect(parse(r).again, r.stdout + r.stderr).toBe('read: EACCES');
    expect(r.stderr).toContain(`denied ipc shm id ${id} (not made in this sandbox)`);
    const twin = await b!;
    expect(twin.stderr).toMatch(/^sbx-fast: fast exec: session /m);
    expect(twin.stdout).toBe('read: ok SECRET-SHM\nrm: ok\n');
  });
});

describe('a supervisor killed with -9', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('ipc');
  });
  afterAll(() => sb.cleanup());

  it("keeps the session's objects: made before the kill, used after it by the next supervisor; an outside object stays refused", { timeout: 90_000 }, async () => {
    const key = keyOf(30);
    const go = join(sb.dir, 'go');
    const sh = `id=$(${P} make shm ${key} | sed -n 's/^make: ok id=//p'); echo "made=$id"
while [ ! -e ${go} ]; do sleep 0.05; done
echo '## get'; ${P} get shm ${key}
echo '## read'; ${P} read shm "$id"
echo '## outside'; ${P} read shm ${outsideIds.shm}
echo '## rm'; ${P} rm shm "$id"`;
    const job = sb.spawnSbx(['shell', '--', 'sh', '-c', sh]);
    let early = '';
    job.child.stdout?.on('data', (d: Buffer) => (early += d.toString()));
    await until('the segment made', () => early.includes('made='), 30_000);
    await sb.killSupervisor(sb.status().sessions[0]!.id);
    writeFileSync(go, '');
    const r = await job.done;
    const got = parse(r);
    const made = /made=(\d+)/.exec(r.stdout)?.[1];
    expect(made, r.stdout + r.stderr).toBeDefined();
    expect(got.get).toBe(`get: ok id=${made}`);
    expect(got.read).toBe('read: ok SECRET-SHM');
    expect(got.outside).toBe('read: EACCES');
    expect(got.rm).toBe('rm: ok');
    expect(r.code).toBe(0);
  });
});
