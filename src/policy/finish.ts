/**
 * The finished policy: what an engine receives, what the filtering proxy decides on, and
 * what `sbx check` / `sbx policy` explain. One pure step from the compiler's output
 * (compile.ts) and the facts src/net gathers:
 *
 *   - the net plan replayed with the names' current addresses, the trust rule applied
 *     after resolution (net-plan.ts): an untrusted name never re-allows an address the
 *     policy below it denies;
 *   - DNS: when names are allowed and the network defaults to deny, the nameservers on
 *     port 53 — only where no rule decides them already;
 *   - the filtering proxy's loopback port (it decides by this same policy);
 *   - sbx's own socket directories denied as a floor (the docker-socket default is a
 *     layer of its own in compose.ts, so the trust check sees it);
 *   - the usual confused deputies (deputies.ts: ssh-agent, gpg-agent, D-Bus, systemd, tmux,
 *     screen …) as `deputy` rules: the engine refuses them when their server runs outside
 *     the session, unless a (trusted: compile.ts drops untrusted unix allows) rule names
 *     the socket itself; container engines as plain denies.
 *
 *   - exec rules by identity (exec-images.ts): each program rule's images (resolved through
 *     the system PATH and the user's PATH, dev/ino + SHA-256), a tool's global options for
 *     an argument rule, the dynamic loaders.
 *
 * The only I/O is the exec identification (stat + hash, cached per file version) and the
 * deputies' socket paths made canonical (each directory resolved once per finish); src/net
 * resolves, reads resolv.conf and runs the proxy, then calls this again whenever an
 * address changes.
 */
import type { CompiledPolicy, PathRule, RuleOrigin } from './compiled.js';
import { decideNet } from './net-match.js';
import { addressRule, planOf, replayNet } from './net-plan.js';
import { runtimeDirs, type Env } from './paths.js';
import { currentDeputyPatterns } from './deputies.js';
import { identifyCommands, identifyExec } from './exec-images.js';
import { withBuildFactsSync } from './expand.js';
import { escapeGlob } from './escape-glob.js';

export interface FinishInputs {
  /** Exact name → its current addresses (src/net's resolver). A missing name matches no address. */
  resolved: ReadonlyMap<string, readonly string[]>;
  /** The nameservers DNS may reach when names are allowed (src/net/dns.ts). */
  nameservers: readonly string[];
  /** The filtering proxy's port on 127.0.0.1, when one runs. */
  proxyPort?: number;
  /** HOME and XDG_RUNTIME_DIR, for the unix-socket defaults; PATH, for the exec rules' programs. */
  env: Env;
  /**
   * The variables of the processes the policy is for, when they are not `env`'s (a supervisor
   * finishing a session's policy has its own): their PATH names the exec and `commands:`
   * rules' programs, and their runtime dir and deputy sockets are protected beside env's.
   */
  callerEnv?: Env;
  /** Default: this process's uid (for /tmp/sbx-$UID). */
  uid?: number;
}

export interface FinishedPolicy {
  policy: CompiledPolicy;
  /** Untrusted allows dropped, including addresses dropped after resolution. */
  dropped: string[];
  /** Names that resolve to nothing. */
  warnings: string[];
}

/** The network defaults to deny and nothing allows an address or a name. */
function reachesNothing(p: CompiledPolicy): boolean {
  return p.net.default === 'deny' && !p.net.rules.some((r) => r.effect === 'allow') && !(p.net.hosts ?? []).some((h) => h.effect === 'allow');
}

/** True when DNS must be reachable: some name is allowed and the default denies. */
export function needsDns(p: CompiledPolicy): boolean {
  return p.net.default === 'deny' && (p.net.hosts ?? []).some((h) => h.effect === 'allow');
}

export function finishPolicy(draft: CompiledPolicy, inputs: FinishInputs): FinishedPolicy {
  return withBuildFactsSync(() => finishUnmemoised(draft, inputs));
}

function finishUnmemoised(draft: CompiledPolicy, inputs: FinishInputs): FinishedPolicy {
  const plan = planOf(draft.net);
  const replay = replayNet(plan, inputs.resolved);
  const origins: RuleOrigin[] = [...draft.origins];
  const net = { ...replay.net, plan };
  // What a rule's program name means to the sandboxed processes: found through their PATH.
  const programs = inputs.callerEnv ?? inputs.env;
  const ids = identifyExec(draft.exec, programs, (rule) => origins[rule]?.source ?? 'exec');
  const cmds = identifyCommands(draft.commands, programs, (rule) => origins[rule]?.source ?? 'commands');
  const policy: CompiledPolicy = { ...draft, origins, net, exec: ids.exec, commands: cmds.commands };
  denyReadingScripts(policy, ids.deniedScripts);

  if (needsDns(policy)) {
    const servers = inputs.nameservers.filter((s) => decideNet(net, s, 53).rule === -1);
    if (servers.length > 0) {
      const rule = origins.length;
      origins.push({ source: 'built-in: DNS for allowed host names', text: servers.map((s) => `${s}:53`).join(' '), section: 'net' });
      for (const s of servers) {
        const r = addressRule(rule, 'allow', s, 53, 53);
        if (r) net.rules.push(r);
      }
    }
  }
  // Not for a policy that reaches nothing (--deny-net, `offline`): the proxy could serve it
  // nothing, and reaching it is a channel (its name lookups) the policy does not have.
  if (inputs.proxyPort !== undefined && !reachesNothing(policy)) {
    const rule = origins.length;
    origins.push({ source: 'built-in: sbx filtering proxy', text: `127.0.0.1:${inputs.proxyPort}`, section: 'net' });
    net.rules.push(addressRule(rule, 'allow', '127.0.0.1', inputs.proxyPort, inputs.proxyPort)!);
    net.proxyPort = inputs.proxyPort; // the engine admits connects to this proxy only (net.cc)
  } else delete net.proxyPort;

  const unix: PathRule[] = [...draft.unix.rules];
  const envs = inputs.callerEnv ? [inputs.env, inputs.callerEnv] : [inputs.env];
  for (const pattern of new Set(envs.flatMap((e) => runtimeDirs(e, inputs.uid)))) {
    if (unix.some((r) => r.pattern === pattern && r.effect === 'deny' && r.floor)) continue;
    const rule = origins.length;
    origins.push({ source: 'built-in (sbx net)', text: "sbx's own socket", section: 'protect' });
    unix.push({ rule, effect: 'deny', match: 'subtree', pattern, floor: true });
  }
  for (const e of envs) addDeputies(unix, origins, e);
  policy.unix = { ...draft.unix, rules: unix };
  markBuiltins(policy);

  const warnings = replay.unresolved.map((u) => `${u.where}: ${u.name} does not resolve; it matches no address`);
  return { policy, dropped: replay.dropped, warnings: [...new Set([...warnings, ...ids.warnings, ...cmds.warnings])] };
}

/**
 * A denied `#!` script is not read either: its interpreter, given the file, would run it
 * (`bash /usr/bin/ldd`). A floor, so a broader read allow does not lift it.
 */
function denyReadingScripts(policy: CompiledPolicy, scripts: string[]): void {
  const rules = [...policy.read.rules];
  for (const script of scripts) {
    const pattern = escapeGlob(script);
    if (rules.some((r) => r.effect === 'deny' && r.match === 'subtree' && r.pattern === pattern)) continue;
    const rule = policy.origins.length;
    policy.origins.push({ source: 'built-in: a denied script (its interpreter would run it)', text: script, section: 'read' });
    rules.push({ rule, effect: 'deny', match: 'subtree', pattern, floor: true });
  }
  policy.read = { ...policy.read, rules };
}

/** Marks the rules sbx wrote itself (PathRule.builtin): audit mode never lifts them. */
function markBuiltins(policy: CompiledPolicy): void {
  const mark = (rules: PathRule[]) => rules.map((r) => (policy.origins[r.rule]?.source.startsWith('built-in') ? { ...r, builtin: true } : r));
  policy.read = { ...policy.read, rules: mark(policy.read.rules) };
  policy.write = { ...policy.write, rules: mark(policy.write.rules) };
  policy.unix = { ...policy.unix, rules: mark(policy.unix.rules) };
  policy.exec = { ...policy.exec, paths: mark(policy.exec.paths) };
}

/** The deputy defaults (see deputies.ts); idempotent per pattern. */
function addDeputies(unix: PathRule[], origins: RuleOrigin[], env: Env): void {
  const source = 'built-in: confused deputies';
  const origin = (text: string) => {
    const at = origins.findIndex((o) => o.source === source && o.text === text);
    if (at >= 0) return at;
    origins.push({ source, text, section: 'unix' });
    return origins.length - 1;
  };
  const has = (pattern: string, effect?: string) => unix.some((r) => r.pattern === pattern && (effect === undefined || r.effect === effect));
  for (const d of currentDeputyPatterns(env)) {
    const text = `${d.deputy.name}: ${d.deputy.why}`;
    if (d.deputy.alwaysDeny) {
      // Like docker.sock: a plain deny; an explicit rule for the same path is the user's choice.
      if (d.literal !== undefined && !has(d.literal)) unix.push({ rule: origin(text), effect: 'deny', match: 'subtree', pattern: d.literal, floor: false });
      continue;
    }
    if (has(d.pattern, 'deny')) continue;
    unix.push({ rule: origin(text), effect: 'deny', match: 'glob', pattern: d.pattern, floor: false, deputy: true });
  }
}
