/**
 * The hint handler (docs/hook-protocol.md): answers the `cd`, `use` and `leave` pushes of a
 * session's shell. Only the shell may push; a `cd` must name the caller's real cwd; a `use`
 * file must be readable under the caller's own policy and is never quoted back. The answer
 * is a hook reply (src/protocol/hook-reply.ts) or an errno.
 */
import type { Env } from '../policy/paths.js';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HintRequest } from '../../native/unotify/native.js';
import type { Engine } from '../native/engine.js';
import { PolicyError } from '../errors.js';
import { withoutContent } from '../policy/load.js';
import type { NoticeMemory } from '../hook/notices.js';
import { startTime } from './procfs.js';
import { formatReply } from '../protocol/hook-reply.js';
import { brokenNotice } from '../policy/index.js';
import { decidePath } from '../policy/match.js';
import type { InstalledPolicies, Entry } from './installed.js';
import type { PolicySource, ResolvedSource } from './policies.js';
import type { PolicyCache } from './policy-cache.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { STRICT_ORIGIN } from '../policy/strict.js';
import { insideWork } from './thread-budget.js';

const EACCES = 13;
const EINVAL = 22;

export type HintAnswer = { errno: number } | { content: string };

/** What the hint handler needs of its session. */
export interface HintHost {
  readonly id: string;
  readonly rootPid: number;
  readonly installed: InstalledPolicies;
  readonly policies: PolicyCache;
  /** The variables the session's policies are built from (caller-env.ts). */
  readonly buildEnv: Env;
  /** The caller's own HOME and XDG_* when they differ: their floors are added (caller-env.ts). */
  readonly floorEnv: Env | undefined;
  /** The session's engine while the session has not ended. */
  engine(): Engine | undefined;
  /** Records a new or changed resolution and installs it in the engine; undefined when the session ended meanwhile. */
  installEntry(key: string, resolved: ResolvedSource, generation: number): Promise<Entry | undefined>;
  /** The shell now runs under this entry (the proxy decides on its main policy). */
  rootChanged(key: string, mainId: number): void;
  /** The entries changed: rewatch the files, hand the keeper the new state. */
  changed(): void;
  logRefusal(op: string, target: string, rule: string, pid?: number): void;
  say(line: string): void;
  /** What each shell was last told (notices only when that changes: src/hook/notices.ts). */
  readonly told: NoticeMemory;
  /** A fresh marker for this shell's reply (src/hook/fresh.ts): gone = the shell asks again. */
  markFresh(tgid: number): string | undefined;
  /** Denials since the last reply, one line each with what would allow it (denial-notices.ts). */
  denialNotices(): Promise<string[]>;
  /** The session proxy's variables ({} without a proxy). */
  proxyVars(): Record<string, string>;
}

/** sbx's proxy variables for a shell whose policy needs the proxy (host or wildcard rules), else none. */
function proxyFor(host: HintHost, policy: CompiledPolicy | undefined): Record<string, string> | undefined {
  return policy && (policy.net.hosts?.length ?? 0) > 0 ? host.proxyVars() : undefined;
}

/** Answers a hint and replies to it in the engine (EACCES when answering failed). */
export async function handleHint(host: HintHost, h: HintRequest): Promise<void> {
  try {
    const reply = await answerHint(host, h);
    const engine = host.engine();
    if (engine && !engine.stopped) engine.replyHint(h.id, reply);
  } catch (err) {
    host.say(`session ${host.id}: hint ${h.verb} failed: ${(err as Error).stack ?? String(err)}`);
    const engine = host.engine();
    if (engine && !engine.stopped) engine.replyHint(h.id, { errno: EACCES });
  }
}

/**
 * A push from a process other than the session's shell (a subshell, a nested shell, a
 * program) is refused: it keeps the policy it was started under when that is the policy of
 * where it is now, and goes to the strictest policy when not. `(cd repo && ./install)` in a
 * trusted project must not run the install with that project's rights.
 */
function refuseOtherProcess(host: HintHost, h: HintRequest, policyId: number): HintAnswer {
  const why = "only the session's shell pushes hints; this process keeps the policy it was started under";
  const current = host.installed.keyOfId(policyId);
  if (h.verb !== 'cd' && h.verb !== 'leave') return refuse(host, h, why);
  // Already under no project's policy (strictest, a nested sbx exec's): nothing it gains here.
  if (current === undefined) return refuse(host, h, why);
  // Which policy decides there, by name only (a few stats, no build: any process can ask in a
  // loop). The same project: it keeps its policy. Anything else — another project, another
  // directory without one (its floors are built from where it is), leaving one — is not
  // this process's to take with it.
  let here: string | undefined;
  // Charged like the shell's own requests from inside: over budget, no lookup — strictest.
  if (!insideWork.admit(host.id)) {
    const t0 = performance.now();
    try {
      here = host.policies.effectiveKey({ kind: 'dir', dir: h.cwd });
    } catch {
      here = undefined;
    } finally {
      insideWork.charge(host.id, performance.now() - t0);
    }
  }
  if (here !== undefined && here === current) return refuse(host, h, why);
  if (!toStrictest(host, h.tgid, false)) return { errno: EACCES };
  return refuse(host, h, `only the session's shell follows cd, and ${h.cwd} is under another policy than this process: it now runs under the strictest policy`);
}

/** Puts `tgid` under the session's strictest policy; false when the engine could not. */
function toStrictest(host: HintHost, tgid: number, followsCd: boolean): boolean {
  const engine = host.engine();
  if (!engine || engine.stopped) return false;
  try {
    engine.assign(tgid, host.installed.strictId, followsCd);
    return true;
  } catch {
    return false;
  }
}

/** The shell goes to the session's strictest policy, and is told why. */
async function underStrictest(host: HintHost, h: HintRequest, notice: string, env?: { deny: string[]; allow: string[] }): Promise<HintAnswer> {
  if (!toStrictest(host, h.tgid, true)) return { errno: EACCES };
  if (h.tgid === host.rootPid) host.rootChanged(host.installed.rootKey, host.installed.strictId);
  host.changed();
  return {
    content: formatReply({
      policy: STRICT_ORIGIN,
      prompt: 'sbx!',
      notices: [notice, ...(await host.denialNotices())],
      envDeny: env?.deny ?? [],
      envAllow: env?.allow ?? [],
      fresh: host.markFresh(h.tgid),
      proxy: undefined,
    }),
  };
}

function refuse(host: HintHost, h: HintRequest, why: string): { errno: number } {
  host.logRefusal('hint', `${h.verb} /${h.arg.replace(/^\/+/, '')}`, why, h.pid);
  return { errno: EACCES };
}

export async function answerHint(host: HintHost, h: HintRequest): Promise<HintAnswer> {
  const { installed } = host;
  // Only the session's shell follows its directory; any other process keeps the policy it
  // was created under (a program under a `commands:` override cannot cd its way out).
  const engine = host.engine();
  if (!engine || engine.stopped) return { errno: EACCES };
  const caller = engine.process(h.tgid);
  if (!caller) return { errno: EACCES };
  if (!caller.followsCd) return refuseOtherProcess(host, h, caller.policy);
  let source: PolicySource;
  // `/proc/self/sbx/cd/<abs dir>`: the engine hands over what follows "cd/", slash eaten.
  const claimed = `/${h.arg.replace(/^\/+/, '')}`;
  if (h.verb === 'cd') {
    if (!sameDir(claimed, h.cwd)) return refuse(host, h, `pushed directory is not the caller's cwd (${h.cwd})`);
    source = { kind: 'dir', dir: h.cwd };
  } else if (h.verb === 'use') {
    let file: string;
    try {
      file = realpathSync(claimed);
    } catch {
      return refuse(host, h, 'policy file named by `use` does not exist');
    }
    const dir = dirname(file);
    if (!isWithin(h.cwd, dir) && !isWithin(dir, h.cwd))
      return refuse(host, h, `policy file ${file} is neither inside nor above the caller's cwd (${h.cwd})`);
    // The supervisor reads with the user's full rights: it reads a file for the shell only
    // where the shell's own policy lets it read (else `use ~/.ssh/id_rsa` would have us
    // parse, and quote, a key).
    const callerPolicy = installed.byPolicyId(caller.policy)?.policy;
    if (!callerPolicy || decidePath(callerPolicy.read, file).effect !== 'allow')
      return refuse(host, h, `policy file ${file} is not readable under the caller's policy`);
    source = { kind: 'use', file, dir: h.cwd };
  } else if (h.verb === 'leave') {
    source = { kind: 'dir', dir: h.cwd };
  } else {
    host.logRefusal('hint', `${h.verb} ${h.arg}`, 'unknown request', h.pid);
    return { errno: EINVAL };
  }

  const before = installed.keyOfId(caller.policy) ?? installed.rootKey;
  // A `use sandbox` holds while the shell stays where it was accepted: the variable that
  // carries it comes from direnv, which also evaluates files a sandboxed process can write
  // (`.envrc.local`, `.env`), so its disappearance there is no proof the user left. Only a
  // real cwd outside that directory drops it (or the same file named again).
  const held = installed.entries.get(before)?.resolved.source;
  if (held?.kind === 'use' && isWithin(h.cwd, held.dir) && !(source.kind === 'use' && source.file === held.file))
    return refuse(host, h, `the shell is still in ${held.dir}, where \`use sandbox ${held.file}\` applies: only leaving that directory drops it`);
  let resolved: ResolvedSource;
  let key: string;
  let generation: number;
  try {
    ({ resolved, effectiveKey: key, generation } = await host.policies.get(source, host.buildEnv, host.floorEnv));
  } catch (err) {
    // No policy for where the shell is now: what it ran under was another directory's (a
    // trusted project's, perhaps wider), so it goes to the session's strictest policy until
    // a push succeeds. Say which file and line is wrong; a file named by `use` may be any
    // file: say where, never what (no key, value or source line).
    const first = err instanceof PolicyError ? (err.issues[0] ?? err.message) : `internal error: ${(err as Error).message}`;
    const where = source.kind === 'use' ? withoutContent(first, source.file) : first;
    host.logRefusal('policy', h.arg, `no policy could be built: ${where}`, h.pid);
    if (!(err instanceof PolicyError)) host.say(`session ${host.id}: building the policy for ${h.cwd} failed: ${(err as Error).stack ?? String(err)}`);
    const hidden = installed.entries.get(before)?.resolved.main.env; // stays hidden
    return underStrictest(host, h, `sbx: ${where} — strictest policy in force until this is fixed`, hidden);
  }
  if (!host.engine()) return { errno: EACCES };
  let entry = installed.entries.get(key);
  // Same files, same stamps as what this session installed: the policy is in the engine.
  if (!entry || entry.generation !== generation) {
    entry = await host.installEntry(key, resolved, generation);
    if (!entry) return { errno: EACCES };
  } else entry.resolved.source = source;
  resolved = entry.resolved;
  // The shell from now on; what it started before keeps the policy it was started under.
  try {
    host.engine()!.assign(h.tgid, entry.mainId, true);
  } catch (err) {
    return refuse(host, h, `cannot switch the shell's policy: ${(err as Error).message}`);
  }
  if (h.tgid === host.rootPid) host.rootChanged(key, entry.mainId);
  host.changed();

  // Quiet: a notice only when the files in force or their trust change for this shell.
  if (host.told.size > 32) host.told.prune((p, st) => startTime(p) === st);
  const notices = host.told.notices(h.tgid, startTime(h.tgid), resolved);
  // A broken file: which file, line and column, and what is in force — every time.
  for (const b of resolved.broken) {
    notices.push(brokenNotice(b));
    host.logRefusal('policy', b.file, `broken policy file: ${b.issues[0] ?? b.file} (${b.kept} in force)`, h.pid);
  }
  // What was denied since this shell last asked (the engine removed its marker to make it ask).
  notices.push(...(await host.denialNotices()));
  return {
    content: formatReply({
      policy: resolved.origin,
      prompt: resolved.prompt,
      notices,
      envDeny: resolved.main.env.deny,
      envAllow: resolved.main.env.allow,
      fresh: host.markFresh(h.tgid),
      proxy: proxyFor(host, resolved.main),
    }),
  };
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') : p;
}

/** The hook's $PWD may be a logical path (symlinks); the kernel's cwd is physical. */
function sameDir(claimed: string, real: string): boolean {
  if (!claimed.startsWith('/')) return false;
  const c = stripSlash(claimed);
  if (c === real) return true;
  try {
    return realpathSync(c) === real;
  } catch {
    return false;
  }
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);
}

