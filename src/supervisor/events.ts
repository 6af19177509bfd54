/**
 * The event factory: the records a session adds to violations.jsonl (src/supervisor/violations.ts)
 * for engine decisions, proxy denials and refused hints or broken policy files.
 */
import type { EngineEvent } from '../../native/unotify/native.js';
import { describeDenial, type ProxyDenial } from '../net/index.js';
import { describeRule } from '../policy/describe-rule.js';
import { privilegedLine, suggestFix } from '../policy/suggest.js';
import type { InstalledPolicy } from './installed.js';
import type { Violation } from './violations.js';

const EACCES = 13;

type Installed = InstalledPolicy | undefined;

/** One record per engine event; `policyOf` names the policy behind an engine id, `describeTarget` the address. */
export function engineViolations(
  session: string,
  evs: EngineEvent[],
  policyOf: (id: number) => Installed,
  describeTarget: (target: string) => string,
  userFile: string,
): Violation[] {
  return evs.map((e) => {
    const p = policyOf(e.policy);
    const target = describeTarget(e.target);
    const fix =
      e.kind === 'privileged'
        ? privilegedLine(e.target)
        : suggestFix({
            op: e.op,
            target,
            rule: e.rule,
            policy: p?.policy,
            projectFile: p?.resolved?.projectFile,
            trusted: p?.resolved?.trusted ?? false,
            userFile,
          });
    return {
      time: e.time,
      session,
      kind: e.kind,
      pid: e.pid,
      program: e.program,
      syscall: e.syscall,
      op: e.op,
      // "name (addr:port)" when the address belongs to a name the policy allows or denies.
      target,
      errno: e.errno,
      rule: e.kind === 'privileged' ? 'no_new_privs' : describeRule(p?.policy, e.rule, e.op),
      policy: p?.origin ?? `policy ${e.policy}`,
      fix,
      ...(e.count > 1 ? { count: e.count } : {}),
    } satisfies Violation;
  });
}

/** The session's proxy refused (or, in audit mode, would have refused) a name or address; `p` is the shell's policy. */
export function proxyViolation(session: string, d: ProxyDenial, p: Installed): Violation {
  return {
    time: d.time,
    session,
    kind: d.audit ? 'audit' : 'deny',
    pid: 0,
    program: '',
    syscall: `proxy ${d.via}`,
    op: 'net',
    target: describeDenial(d),
    errno: EACCES,
    rule: `${describeRule(p?.policy, d.rule, 'net')}: ${d.reason}`,
    policy: p?.origin ?? '',
  };
}

/** A refused hint (op 'hint') or a broken policy file (op 'policy'). */
export function refusal(session: string, op: string, target: string, rule: string, pid = 0): Violation {
  return {
    time: Date.now(),
    session,
    kind: 'refused',
    pid,
    program: '',
    syscall: op === 'hint' ? 'open' : '',
    op,
    target,
    errno: EACCES,
    rule,
    policy: '',
  };
}
