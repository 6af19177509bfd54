/**
 * Shared by the net-*.test.ts files: run a program in a real sandbox (real launcher, real
 * engine, `linuxExec` with its prepareNetwork: resolution through a test hosts file, proxy,
 * unix defaults) under a CompiledPolicy built here —
 * plus loopback-only servers (127.0.0.x, ::1, unix sockets). Nothing leaves the machine.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import type { CompiledPolicy, Effect, PathRule, RuleOrigin } from '../../src/policy/compiled.js';
import { netSection } from '../unit/net/helpers.js';
import { repo, type Result } from './exec-helpers.js';

export { fixture, tempWorld, type Result } from './exec-helpers.js';

export interface NetSpec {
  /** net.allow (undefined = absent = every host). */
  allow?: string[];
  deny?: string[];
  /** net.unix: absent = allowed; given = default deny with these allowed. */
  unix?: { allow?: string[]; deny?: string[] };
}

/** The CompiledPolicy the policy compiler would produce for `net:` alone (read/write/exec open). */
export function policyFor(spec: NetSpec): CompiledPolicy {
  const origins: RuleOrigin[] = [];
  const net = netSection(spec.allow, spec.deny ?? [], origins, 'test policy');
  const unixRules: PathRule[] = [];
  for (const [list, effect] of [[spec.unix?.allow ?? [], 'allow'], [spec.unix?.deny ?? [], 'deny']] as [string[], Effect][]) {
    for (const pattern of list) {
      unixRules.push({ rule: origins.length, effect, match: pattern.includes('*') ? 'glob' : 'subtree', pattern, floor: false });
      origins.push({ source: 'test policy', text: pattern, section: 'unix' });
    }
  }
  const open = { default: 'allow' as const, rules: [] };
  const policy: CompiledPolicy = {
    id: 1,
    mode: 'enforce',
    read: open,
    write: open,
    exec: { default: 'allow', paths: [], programs: [] },
    net,
    unix: { default: spec.unix ? 'deny' : 'allow', rules: unixRules },
    commands: [],
    origins,
    env: { deny: [], allow: [] },
  };
  return policy;
}

// Runs in a child node: the Linux exec backend with this policy, exactly what `sbx exec`
// does after compiling its flags (linuxExec calls prepareNetwork: names, proxy, unix defaults).
const RUNNER = `
try {
  const { linuxExec } = await import(${JSON.stringify(join(repo, 'dist', 'platform', 'linux', 'exec.js'))});
  const policy = JSON.parse(process.env.SBX_NET_TEST_POLICY);
  const argv = JSON.parse(process.env.SBX_NET_TEST_ARGV);
  const env = { ...process.env };
  delete env.SBX_NET_TEST_POLICY; delete env.SBX_NET_TEST_ARGV;
  process.exit(await linuxExec({ policy, overrides: [], argv, cwd: process.cwd(), env, callerEnv: env, quiet: false }));
} catch (err) {
  process.stderr.write('net test runner failed: ' + (err && err.stack || err) + '\\n');
  process.exit(99);
}
`;

/** Runs argv sandboxed under `policy` (prepared by prepareNetwork in a child node process). */
export function sandboxed(policy: CompiledPolicy, argv: string[], options: { env: Record<string, string>; hostsFile?: string; cwd?: string }): Promise<Result> {
  const env: Record<string, string> = {
    ...options.env,
    SBX_NET_TEST_POLICY: JSON.stringify(policy),
    SBX_NET_TEST_ARGV: JSON.stringify(argv),
  };
  if (options.hostsFile) env.SBX_HOSTS_FILE = options.hostsFile;
  return execa(process.execPath, ['--input-type=module', '-e', RUNNER], {
    cwd: options.cwd,
    env,
    extendEnv: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    reject: false, // the tests inspect exit codes
  }).then((r) => {
    if (r.exitCode === undefined && r.signal === undefined) throw r; // could not start node: the error says why
    // The harness itself broke (addon missing, bad policy): fail loudly, not as a "denial".
    if (r.exitCode === 99) throw new Error(`sandbox harness failed:\n${r.stderr}`);
    return { code: r.exitCode ?? null, signal: r.signal ?? null, stdout: r.stdout, stderr: r.stderr };
  });
}

export function writeHostsFile(dir: string, lines: Record<string, string[]>): string {
  const file = join(dir, 'hosts');
  writeFileSync(file, Object.entries(lines).map(([a, names]) => `${a} ${names.join(' ')}\n`).join(''));
  return file;
}

export interface Servers {
  port: number;
  /** Connections (TCP) or datagrams (UDP) each address received. */
  count(address: string): number;
  close(): Promise<void>;
}

/**
 * TCP servers on the same port on every address; each greets with its `banner` line
 * (default "hello from ADDR") and closes. An HTTP request gets a tiny HTTP response instead.
 */
export async function tcpServers(banners: Record<string, string>, fixedPort = 0): Promise<Servers> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const counts = new Map<string, number>();
  let port = fixedPort;
  for (const [address, banner] of Object.entries(banners)) {
    const server = createServer((sock) => {
      counts.set(address, (counts.get(address) ?? 0) + 1);
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => {});
      sock.once('data', (d) => {
        if (/^[A-Z]+ \S+ HTTP\/1/.test(d.toString('latin1'))) {
          sock.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${banner.length + 1}\r\n\r\n${banner}\n`);
        } else sock.end(`${banner}\n`);
      });
      // A client that sends nothing (the race fixture) still gets the banner.
      sock.setTimeout(200, () => sock.end(`${banner}\n`));
    });
    await listen(server, port, address);
    if (port === 0) port = (server.address() as { port: number }).port;
    servers.push(server);
  }
  return {
    port,
    count: (a) => counts.get(a) ?? 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** Race fixture servers: greet immediately (no wait for data). */
export async function greeters(banners: Record<string, string>): Promise<Servers> {
  const servers: Server[] = [];
  const counts = new Map<string, number>();
  let port = 0;
  for (const [address, banner] of Object.entries(banners)) {
    const server = createServer((sock) => {
      counts.set(address, (counts.get(address) ?? 0) + 1);
      sock.on('error', () => {});
      sock.end(`${banner}\n`);
    });
    await listen(server, port, address);
    if (port === 0) port = (server.address() as { port: number }).port;
    servers.push(server);
  }
  return {
    port,
    count: (a) => counts.get(a) ?? 0,
    close: async () => void (await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))),
  };
}

function listen(server: Server, port: number, address: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolveListen());
  });
}

/** UDP echo servers ("echo from ADDR") on the same port on every address. */
export async function udpServers(addresses: string[], fixedPort = 0): Promise<Servers> {
  const sockets: UdpSocket[] = [];
  const counts = new Map<string, number>();
  let port = fixedPort;
  for (const address of addresses) {
    const s = address.includes(':') ? createSocket({ type: 'udp6', ipv6Only: true }) : createSocket('udp4');
    s.on('message', (msg, rinfo) => {
      counts.set(address, (counts.get(address) ?? 0) + 1);
      if (msg.toString() === 'ping\n') s.send(`echo from ${address}\n`, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolveBind, reject) => {
      s.once('error', reject);
      s.bind(port, address, () => resolveBind());
    });
    if (port === 0) port = s.address().port;
    sockets.push(s);
  }
  return {
    port,
    count: (a) => counts.get(a) ?? 0,
    close: async () => void (await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))))),
  };
}

/**
 * A unix stream server at `path` greeting with `banner`. "@name" = abstract, served by
 * socat: Node binds abstract names padded to the full sun_path, which no C client matches.
 */
export async function unixServer(path: string, banner: string): Promise<{ count(): number; close(): Promise<void> }> {
  if (path.startsWith('@')) {
    // A directory of our own: a name in the shared /tmp could be another user's leftover.
    const hitsDir = mkdtempSync(join(tmpdir(), 'sbx-abstract-'));
    const hits = join(hitsDir, 'hits');
    // The script reads the client's line first: exiting before it would make socat's write
    // fail (EPIPE) and drop the banner.
    // reject: false: close() kills it; cleanup (execa's default) kills it if the test process dies first.
    const child = execa('socat', [`ABSTRACT-LISTEN:${path.slice(1)},fork`, `SYSTEM:read -r line; echo x >> ${hits}; echo '${banner}'`], { stdio: 'ignore', reject: false });
    for (let i = 0; i < 100 && !readFileSync('/proc/net/unix', 'utf8').includes(` ${path}`); i++) await new Promise((r) => setTimeout(r, 20));
    return {
      count: () => (existsSync(hits) ? readFileSync(hits, 'utf8').length / 2 : 0),
      close: async () => {
        child.kill();
        rmSync(hitsDir, { recursive: true, force: true });
      },
    };
  }
  let count = 0;
  const open = new Set<Socket>();
  const server = createServer((sock) => {
    count++;
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => {});
    sock.resume(); // read (and drop) the client's line, so its close is seen
    sock.end(`${banner}\n`);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolveListen());
  });
  return {
    count: () => count,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function parseRace(stdout: string): { ok: number; leaked: number; refused: number } {
  const m = /ok=(\d+) leaked=(\d+) refused=(\d+)/.exec(stdout);
  if (!m) throw new Error(`net_race printed no counts: ${stdout}`);
  return { ok: Number(m[1]), leaked: Number(m[2]), refused: Number(m[3]) };
}

/** A minimal HTTP CONNECT proxy on 127.0.0.1 (the user's own proxy sbx chains to): pushes
 * each CONNECT target to `connects`, then tunnels to it. */
export function startUpstream(connects: string[]): Promise<Server> {
  const server = createServer((client: Socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      const m = /^CONNECT (\S+):(\d+) HTTP/.exec(head.toString('latin1'));
      if (!m) return void client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
      connects.push(`${m[1]}:${m[2]}`);
      const target = connect({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length > 0) target.write(rest);
        client.pipe(target);
        target.pipe(client);
      });
      target.on('error', () => client.destroy());
    };
    client.on('data', onData);
    client.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
