/**
 * The usual confused deputies: Unix-socket servers that run outside the sandbox and act for
 * whoever connects. A sandboxed program that reaches one does, through it, what the sandbox
 * forbids (a tmux server started outside runs `cat ~/.ssh/id_rsa > /tmp/x` for it; an
 * ssh-agent signs with the user's key; docker is root on the host).
 *
 * The engine refuses every Unix-socket server outside the sandbox session unless the policy
 * names the socket (net.unix.allow); a server the session started itself stays reachable.
 * These entries add to that:
 *   - `deputy` rules (src/net/unix.ts adds them to every compiled policy): a broad allow
 *     (`net.unix.allow: [/run/user/1000]`) does not reach them — only naming the socket
 *     itself does — and refusals and `sbx check` say what the server would have done;
 *   - container engines are plain denies: refused even if named by a broader rule, and
 *     whoever serves them (an explicit rule for the same path lifts it).
 */
import { canonicalPath, isGlob, planFactsCheck, recordOwnFacts, type FactsCheck } from './expand.js';
import { recordReads } from './env-reads.js';
import type { Env } from './paths.js';
import { escapeGlob } from './escape-glob.js';

export interface Deputy {
  name: string;
  /** What it does for whoever connects. */
  why: string;
  /** Socket locations: absolute globs (values from the environment escaped), or "@abstract" names. */
  sockets(env: Env, home: string): (string | undefined)[];
  /** Basenames of the programs that serve it (for "served by … (ssh-agent)"). */
  programs: string[];
  /** A plain deny (container engines), not just "outside the session". */
  alwaysDeny?: boolean;
}

/** A path from the environment: literal (its `*` and `?` are not wildcards). */
const lit = (v: string | undefined) => (v ? escapeGlob(v) : undefined);
const rt = (env: Env, rest: string) => (env.XDG_RUNTIME_DIR ? `${lit(env.XDG_RUNTIME_DIR)}/${rest}` : undefined);

/** unix:path=/x and unix:abstract=y of a D-Bus address list. */
function dbusSockets(address: string | undefined): string[] {
  const out: string[] = [];
  for (const part of (address ?? '').split(';')) {
    if (!part.startsWith('unix:')) continue;
    for (const kv of part.slice(5).split(',')) {
      const [k, v] = kv.split('=');
      if (!v) continue;
      const value = decodeURIComponent(v);
      if (k === 'path') out.push(value);
      if (k === 'abstract') out.push(`@${value}`);
    }
  }
  return out;
}

export const DEPUTIES: Deputy[] = [
  {
    name: 'ssh-agent',
    why: 'signs with your SSH keys for whoever connects (logs in to your servers, pushes to your repositories)',
    sockets: (env) => [lit(env.SSH_AUTH_SOCK), '/tmp/ssh-*/agent.*', rt(env, 'ssh-agent.socket'), rt(env, 'openssh_agent'), rt(env, 'keyring/ssh'), rt(env, 'gcr/ssh')],
    programs: ['ssh-agent', 'gnome-keyring-daemon', 'gcr-ssh-agent'],
  },
  {
    name: 'gpg-agent',
    why: 'decrypts and signs with your GnuPG keys for whoever connects',
    sockets: (env, home) => [rt(env, 'gnupg/**'), '/run/user/*/gnupg/**', `${lit(home)}/.gnupg/S.*`, env.GNUPGHOME ? `${lit(env.GNUPGHOME)}/S.*` : undefined],
    programs: ['gpg-agent', 'keyboxd', 'scdaemon', 'dirmngr'],
  },
  {
    name: 'D-Bus session bus',
    why: 'starts programs and services of your desktop session, reads your keyring (secret service) for whoever connects',
    sockets: (env) => [rt(env, 'bus'), '/run/user/*/bus', ...dbusSockets(env.DBUS_SESSION_BUS_ADDRESS).map(lit), '@/tmp/dbus-*'],
    programs: ['dbus-daemon', 'dbus-broker', 'dbus-broker-launch'],
  },
  {
    name: 'D-Bus system bus',
    why: 'talks to system services (systemd, NetworkManager, polkit …) for whoever connects',
    sockets: () => ['/run/dbus/system_bus_socket'],
    programs: ['dbus-daemon', 'dbus-broker'],
  },
  {
    name: 'systemd',
    why: 'starts and changes units (commands run outside any sandbox) for whoever connects',
    sockets: (env) => [rt(env, 'systemd/**'), '/run/user/*/systemd/**', '/run/systemd/private'],
    programs: ['systemd'],
  },
  {
    name: 'tmux server',
    why: 'runs any command in a new window for whoever connects (tmux -S SOCK new-window CMD)',
    sockets: (env) => ['/tmp/tmux-*/**', env.TMUX_TMPDIR ? `${lit(env.TMUX_TMPDIR)}/tmux-*/**` : undefined, lit(env.TMUX?.split(',')[0])],
    programs: ['tmux'],
  },
  {
    name: 'screen session',
    why: 'runs any command in a new window for whoever connects (screen -X screen CMD)',
    sockets: (env, home) => ['/run/screen/**', `${lit(home)}/.screen/**`, env.SCREENDIR ? `${lit(env.SCREENDIR)}/**` : undefined],
    programs: ['screen'],
  },
  {
    name: 'X server',
    why: 'lets any client type into your other windows (a terminal outside the sandbox) and read the screen',
    sockets: () => ['/tmp/.X11-unix/**', '@/tmp/.X11-unix/*'],
    programs: ['Xorg', 'X', 'Xwayland', 'Xvfb', 'Xephyr', 'Xvnc'],
  },
  {
    name: 'docker',
    why: 'runs containers with host mounts: root on the host for whoever connects',
    sockets: (env, home) => ['/run/docker.sock', '/var/run/docker.sock', `${lit(home)}/.docker/run/docker.sock`, rt(env, 'docker.sock')],
    programs: ['dockerd', 'docker-proxy'],
    alwaysDeny: true,
  },
  {
    name: 'podman',
    why: 'runs containers with host mounts as you (or root) for whoever connects',
    sockets: (env) => ['/run/podman/podman.sock', rt(env, 'podman/podman.sock')],
    programs: ['podman'],
    alwaysDeny: true,
  },
  {
    name: 'containerd',
    why: 'runs containers (root on the host) for whoever connects',
    sockets: (env) => ['/run/containerd/containerd.sock', rt(env, 'containerd/containerd.sock'), '/run/buildkit/buildkitd.sock'],
    programs: ['containerd', 'buildkitd'],
    alwaysDeny: true,
  },
];

const unescape = (text: string) => text.replace(/\\(.)/g, '$1');

export interface DeputyPattern {
  deputy: Deputy;
  /** `match: 'glob'` pattern (a literal path escaped): a rule naming the path itself beats it. */
  pattern: string;
  /** The literal path, when the entry is one (container engines keep a subtree rule). */
  literal?: string;
}

/** The deputies' socket patterns for this environment (canonical literal prefixes, deduplicated). */
export function deputyPatterns(env: Env, home = env.HOME ?? '/'): DeputyPattern[] {
  const out: DeputyPattern[] = [];
  const seen = new Set<string>();
  for (const deputy of DEPUTIES) {
    for (const raw of deputy.sockets(env, home)) {
      if (!raw || (!raw.startsWith('/') && !raw.startsWith('@'))) continue;
      let pattern: string;
      let literal: string | undefined;
      if (raw.startsWith('@')) pattern = raw;
      else if (!isGlob(raw)) {
        literal = canonicalPath(unescape(raw));
        pattern = escapeGlob(literal);
      } else {
        const segs = raw.split('/').filter(Boolean);
        const first = segs.findIndex((s) => isGlob(s));
        const prefix = canonicalPath(unescape(`/${segs.slice(0, first).join('/')}`));
        pattern = `${prefix === '/' ? '' : escapeGlob(prefix)}/${segs.slice(first).join('/')}`;
      }
      if (seen.has(pattern)) continue;
      seen.add(pattern);
      out.push({ deputy, pattern, literal });
    }
  }
  return out;
}

/**
 * deputyPatterns for `env`, the last answer kept while every variable it read and every path
 * it made canonical are unchanged. Every session start finishes its policy (finish.ts), and
 * resolving these paths afresh was ~0.6 ms and ~90 KB of garbage of each.
 */
export function currentDeputyPatterns(env: Env): readonly DeputyPattern[] {
  const k = kept;
  if (k && k.reads.every(([name, value]) => env[name] === value) && k.facts.holds()) return k.out;
  const reads = recordReads(env);
  const { out, facts } = recordOwnFacts(() => deputyPatterns(reads.view));
  kept = { reads: reads.names().map((n) => [n, env[n]]), facts: planFactsCheck(facts), out: Object.freeze(out) };
  return kept.out;
}

let kept: { reads: Array<[string, string | undefined]>; facts: FactsCheck; out: readonly DeputyPattern[] } | undefined;

/** The deputy a server program is (by basename), if any. */
export function deputyByProgram(program: string): Deputy | undefined {
  const base = program.split('/').pop() ?? program;
  return DEPUTIES.find((d) => d.programs.includes(base));
}
