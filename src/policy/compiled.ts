/**
 * The compiled policy: the one hand-off format between the policy compiler (src/policy)
 * and every enforcer (the native seccomp engine, the Seatbelt profile generator, and
 * `sbx check`'s explanations).
 *
 * Everything here is already resolved: paths are absolute and canonical, `~`/`$VAR`
 * expanded, presets merged, trust applied. Host names are resolved to addresses in the
 * *finished* policy only (src/policy/finish.ts: the compiler's output plus resolutions,
 * DNS, the proxy port and the unix-socket defaults) — the one an engine receives. An
 * enforcer never reads YAML and never guesses; it only evaluates these rules.
 *
 * Decision rule for path rules (identical in TS `decidePath` and native `decide_path`):
 *   1. A matching rule with `floor: true` and effect `deny` denies, whatever else matches.
 *   2. Otherwise the matching rule with the highest score wins, where
 *        score = 2 * depth(matched prefix) + (match === 'glob' ? 0 : 1)
 *      depth(p) = number of path segments ("/" = 0, "/a" = 1, "/a/b" = 2).
 *      A subtree rule matches its pattern and everything below; its matched prefix is
 *      the pattern itself. A glob rule matches a path if it matches the path or any of
 *      its ancestors; its matched prefix is the shortest such ancestor-or-self. An exact
 *      rule (a glob, usually an escaped literal path) matches a path only when it matches
 *      all of it — nothing below; its matched prefix is the path. The compiler emits exact
 *      floor denies for the ancestors of floor paths (write section).
 *      So: the rule naming the deepest path wins; at equal depth a literal path beats a
 *      glob; at equal score deny beats allow.
 *   3. No matching rule: the section's `default`.
 *   Reported rule (`rule` = PathRule.rule, -1 for the default): in step 1 the first
 *   matching floor deny in `rules` order; in step 2 the winner, and among rules with
 *   equal score and equal effect the first one in `rules` order.
 *   Paths are absolute and canonical with no trailing slash ("/" itself is depth 0).
 *   A name not starting with "/" (an abstract socket "@name") is split on "/" the same
 *   way, so "@name" has depth 1.
 *
 * Glob syntax (after the compiler made it absolute): `*` = any run of characters except
 * `/` (dotfiles included), `?` = one character except `/`, `**` as a whole segment =
 * zero or more whole segments, `\` escapes the next character. Nothing else is special.
 */

import type { NetStep } from './net-plan.js';

export type Effect = 'allow' | 'deny';
export type PathMatch = 'subtree' | 'glob' | 'exact';

export interface PathRule {
  /** Index into CompiledPolicy.origins: which file/preset/flag wrote this rule. */
  rule: number;
  effect: Effect;
  match: PathMatch;
  /** Absolute canonical path (subtree) or absolute glob (glob, exact). No trailing slash except "/". */
  pattern: string;
  /** A `protect` entry: a floor deny no allow can lift. Only meaningful with effect deny. */
  floor: boolean;
  /**
   * unix section only, with effect deny: a known deputy's socket (ssh-agent, tmux, D-Bus …,
   * src/policy/deputies.ts). It denies a server outside the sandbox session only — like
   * the section default does — but, being a rule, it also beats a broader allow: the socket
   * must be named itself. A server the same session started stays reachable.
   */
  deputy?: boolean;
  /**
   * Finished policy only: written by sbx itself (an origin "built-in…": home configuration,
   * docker sockets, deputies …), not by a policy file, flag or a preset one names. Audit mode
   * lifts only the policy's own denials, never these (native decide.cc: Decision::own).
   */
  builtin?: boolean;
}

export interface PathSection {
  default: Effect;
  rules: PathRule[];
}

/**
 * Exec rules. An exec of binary B (canonical path of the file the kernel runs) with
 * argument vector A is allowed iff:
 *   - read(B) is allowed, and
 *   - decidePath(exec.paths, exec.default, B) allows, and
 *   - no `programs` rule denies it: among the program rules that match, the one with the
 *     most `args` wins (deny on ties); a program rule matches when `name` equals the
 *     basename of B or the basename of the path the program asked to run (so a busybox
 *     applet or a symlinked alias is caught) — or, if `name` contains a "/", equals B —
 *     and A[1..] starts with `args`. In a finished policy a rule also matches an image
 *     with the identity of one it named (`images`: dev/ino, then content), and `args` match
 *     after a known tool's global options (`tool`).
 *   - an image nothing names (memfd, deleted file, unreachable from the engine's root) is
 *     refused whenever the policy has exec rules (programs, paths, a deny default, commands).
 */
export interface ProgramRule {
  rule: number;
  effect: Effect;
  name: string;
  args: string[];
  /**
   * Finished policy only, deny rules only (src/policy/exec-images.ts): the files `name`
   * named when the policy was finished. The rule also matches an image with the same
   * dev/ino or the same content (a copy, a hard link), whatever it is called. Absent or
   * empty: by name only. (An allow never matches by identity: it could be planted.)
   */
  images?: ExecImageId[];
  /**
   * Finished policy only, for a rule with `args`: the tool's global options
   * (exec-tools.ts). `args` then match the subcommand after them, in every reading of the
   * options (any reading that denies, denies).
   */
  tool?: { name: string; value: string[]; flag: string[] };
}

/**
 * A file as the policy saw it: dev/ino and its version (mtime/ctime in ns) as decimal
 * strings (64-bit), size, and the content hash when it was hashed at finish time.
 */
export interface ExecImageId {
  path: string;
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  /**
   * SHA-256, lower-case hex; for files up to EAGER_HASH_MAX (exec-images.ts). A bigger one
   * is hashed by the engine when an image of the same size is executed — and only while
   * the file is still the version recorded here (else the comparison fails closed).
   */
  sha256?: string;
}

export interface ExecSection {
  default: Effect;
  paths: PathRule[];
  programs: ProgramRule[];
  /**
   * Finished policy only: the dynamic loaders by identity. An exec of one (`ld.so PROG`)
   * is decided on PROG too; when PROG cannot be proven, refused while a program deny exists.
   */
  loaders?: ExecImageId[];
}

/**
 * IP rules. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched as IPv4.
 * Longest prefix wins; at equal prefix length a narrower port range wins; then deny
 * beats allow. No match: `default`.
 */
export interface NetRule {
  rule: number;
  effect: Effect;
  family: 4 | 6;
  /** Canonical textual address of the network (host bits zero). */
  address: string;
  prefix: number;
  /** Inclusive port range; 0..65535 = every port. */
  portLo: number;
  portHi: number;
}

/**
 * A host-name rule as written (`github.com`, `*.npmjs.org`): TS-only for now (native
 * ignores it) — explanations and the filtering proxy use it; the engine decides on the
 * addresses the compiler resolved into `rules`. `*.d` matches strict subdomains of d,
 * not d itself.
 */
export interface HostRule {
  rule: number;
  effect: Effect;
  /** Lower-case name, or "*." + name. */
  pattern: string;
  portLo: number;
  portHi: number;
}

export interface NetSection {
  default: Effect;
  rules: NetRule[];
  /**
   * The port of this policy's own sbx filtering proxy on 127.0.0.1 (set by src/net when one
   * runs): the engine lets the sandbox reach it and no other sbx proxy.
   */
  proxyPort?: number;
  /** TS-only: the host-name rules the IP rules were resolved from. */
  hosts?: HostRule[];
  /**
   * TS-only: the layers' net entries in order (src/policy/net-plan.ts). The compiler's
   * `rules`/`hosts` are this plan replayed with no name resolved; finishPolicy
   * (src/policy/finish.ts) replays it with the resolutions src/net supplies.
   */
  plan?: NetStep[];
}

/**
 * Unix-domain sockets (connect/sendto, and bind of an abstract name). Pathname sockets are
 * decided with the path rule algorithm on the canonical socket path; abstract sockets are
 * written "@name" and decided with the same algorithm (a pattern "@*" matches every
 * abstract name). The verdict:
 *   - a deny rule (not `deputy`), or `default: deny` with no rule → refused;
 *   - an allow rule ("the policy names it") → reachable, whoever serves it;
 *   - otherwise (the default allows, or a deputy rule matched) → reachable only when its
 *     server belongs to the same sandbox session: a socket file the session's processes
 *     bound, or a stream server whose peer pid (SO_PEERPIDFD) is one of the session's
 *     processes. A server outside the sandbox would act for it (a confused deputy).
 */
export type UnixSection = PathSection;

/** A per-program override: when a process execs a matching program, it switches to `policy`. */
export interface CommandOverride {
  rule: number;
  /** Matches like ProgramRule.name (basename, or canonical path when it contains "/"). */
  name: string;
  /** Id of another compiled policy handed to the same engine. */
  policy: number;
  /**
   * Finished policy only: what `name` named when the policy was finished, by identity. The
   * override widens, so it applies only to these files — never to another program that is
   * merely called `name` (exec-images.ts identifyCommands; native exec_rules.cc).
   *   images:  programs the kernel runs itself (ELF): the running image must be one of them;
   *   scripts: `#!` scripts: the interpreter must be the script's, and the path the kernel
   *            was asked to run (AT_EXECFN) one of `paths`, still naming the script.
   */
  images?: ExecImageId[];
  scripts?: CommandScript[];
}

/** A `#!` script a `commands:` override names (see CommandOverride.scripts). */
export interface CommandScript {
  /** The paths it was found as (the PATH entry joined with the name, and the real path). */
  paths: string[];
  script: ExecImageId;
  interpreter: ExecImageId;
}

/** Where a rule came from, for explanations: "preset secrets", "/p/.sbx.yaml:7:5", "--deny-net". */
export interface RuleOrigin {
  source: string;
  /** The rule as the user wrote it (before expansion), e.g. "~/.ssh". */
  text: string;
  section: 'read' | 'write' | 'exec' | 'net' | 'unix' | 'commands' | 'protect';
}

export interface CompiledPolicy {
  /** Engine-wide id of this snapshot; assigned by whoever hands it to an engine. */
  id: number;
  mode: 'enforce' | 'audit';
  read: PathSection;
  write: PathSection;
  exec: ExecSection;
  net: NetSection;
  unix: UnixSection;
  commands: CommandOverride[];
  /** TS-only (native ignores it): origins[rule] explains a rule. */
  origins: RuleOrigin[];
  /** TS-only: the environment filter applied when a process is launched into this policy. */
  env: { deny: string[]; allow: string[] };
  /**
   * A nested policy (`sbx exec` inside a session): the id of the policy it was narrowed
   * within. The engine allows only what both allow; a refusal by the outer one is reported
   * as rule -3 (OUTER_RULE).
   */
  within?: number;
}

/** The rule index the engine reports when a nested policy's outer policy refused. */
export const OUTER_RULE = -3;

/**
 * The rule index of the engine's git-directory guard (native bare_repo.h): a HEAD next to a
 * config or commondir git would run code from. Built in; no policy or audit mode lifts it.
 */
export const GIT_DIR_RULE = -4;
