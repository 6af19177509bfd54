/**
 * Widening from inside a session (`sbx trust` run in a sandboxed shell): the request arrives on
 * the hint channel (`/proc/self/sbx/widen/trust?file=<abs path>`), the supervisor checks it,
 * asks the person at the session's terminal (confirm.ts) and only then acts — with its own
 * rights, outside the sandbox. The caller gets a JSON answer (src/protocol/inside.ts).
 *
 * What a caller may name: a policy file its own policy lets it read (else `sbx trust
 * ~/.ssh/id_rsa` would have us parse it), and whose problems are reported without content.
 */
import { realpathSync } from 'node:fs';
import type { HintRequest } from '../../native/unotify/native.js';
import type { Engine } from '../native/engine.js';
import { PolicyError } from '../errors.js';
import { markStale } from '../hook/fresh.js';
import { loadPolicyFile, withoutContent } from '../policy/load.js';
import { decidePath } from '../policy/match.js';
import type { Env } from '../policy/paths.js';
import { isTrusted, trust, trustPlace } from '../policy/trust.js';
import type { ProjectFile } from '../policy/schema.js';
import { parseWiden, type AskReply } from '../protocol/inside.js';
import { confirmAtTerminal } from './confirm.js';
import { parentOf } from './procfs.js';
import { insideWork } from './thread-budget.js';
import type { InstalledPolicies } from './installed.js';

export interface WidenHost {
  readonly id: string;
  readonly rootPid: number;
  readonly installed: InstalledPolicies;
  readonly env: Env;
  engine(): Engine | undefined;
  /** A pty allocated inside any sandbox this supervisor serves. */
  sandboxedPty(path: string): boolean;
  logRefusal(op: string, target: string, rule: string, pid?: number): void;
  say(line: string): void;
}

/** The allow entries of a policy file, one line each: what trusting it lets through. */
export function allowsOf(data: ProjectFile): string[] {
  const out: string[] = [];
  const list = (name: string, v: unknown) => {
    if (Array.isArray(v) && v.length > 0) out.push(`${name}: ${v.map((x) => JSON.stringify(x)).join(', ')}`);
  };
  const d = data as Record<string, any>;
  for (const s of ['read', 'write', 'exec', 'env'] as const) list(`${s}.allow`, d[s]?.allow);
  list('net.allow', d.net?.allow);
  list('net.unix.allow', d.net?.unix?.allow);
  if (d.extends) list('extends', d.extends);
  // Each override's own allows, in full: what the program it names may do.
  for (const [name, body] of Object.entries((d.commands ?? {}) as Record<string, ProjectFile>)) {
    const own = allowsOf(body).filter((l) => !l.startsWith('('));
    out.push(`commands: ${JSON.stringify(name)}${own.length > 0 ? ':' : ' (no allow entries)'}`, ...own.map((l) => `  ${l}`));
  }
  if (d.mode === 'audit') out.push("mode: audit (only floors and sbx's own built-in denials hold; the rest is only logged)");
  return out.length > 0 ? out : ['(no allow entries: trusting changes nothing today)'];
}

/** When each session last failed to pause (its asks are spaced: a failing pause stops and starts its processes for seconds). */
const lastFailedPause = new Map<string, number>();
const PAUSE_RETRY_MS = 10_000;

async function answerWiden(host: WidenHost, h: HintRequest): Promise<AskReply> {
  const engine = host.engine();
  if (!engine || engine.stopped) return { error: 'the session is ending' };
  const failedAt = lastFailedPause.get(host.id);
  if (failedAt !== undefined && Date.now() - failedAt < PAUSE_RETRY_MS) return { error: "asked again too soon after the session's processes could not be paused" };
  const caller = engine.process(h.tgid);
  if (!caller) return { error: 'not a process of this session' };
  const req = parseWiden(h.arg);
  if ('error' in req) return req;
  const busy = insideWork.admit(host.id);
  if (busy) return { error: busy };
  // The content is read from where the name leads; the trust is for the name's own place (a
  // link is trusted where it is, not as the file it points to: policy/trust.ts).
  let file: string;
  let place: string;
  try {
    file = realpathSync(req.file);
    place = trustPlace(req.file);
  } catch {
    return { error: `${req.file} does not exist` };
  }
  const named = place === file ? place : `${place} (a link to ${file})`;
  const policy = host.installed.byPolicyId(caller.policy)?.policy;
  if (!policy || decidePath(policy.read, file).effect !== 'allow') {
    host.logRefusal('widen', `trust ${file}`, "not readable under the caller's policy", h.pid);
    return { error: `${file} is not readable under this process's policy: it cannot be trusted from here` };
  }
  let loaded;
  const t0 = performance.now();
  try {
    loaded = loadPolicyFile(file, 'project');
  } catch (err) {
    if (err instanceof PolicyError) return { error: withoutContent(err.issues[0] ?? err.message, file) };
    throw err;
  } finally {
    insideWork.charge(host.id, performance.now() - t0);
  }
  if (isTrusted(place, loaded.sha256, host.env)) return { ok: true, already: true, file: place };
  const answer = await confirmAtTerminal({
    pid: h.tgid,
    rootPid: host.rootPid,
    sandboxedPty: (p) => host.sandboxedPty(p),
    asks: `a command in sandboxed session ${host.id} asks to trust ${named} (sha256 ${loaded.sha256.slice(0, 12)}), which lets it widen access beyond your user policy:`,
    allows: allowsOf(loaded.data as ProjectFile),
    // A command typed at the prompt of the session's interactive shell: while the question is
    // on screen every other process of the session is paused, the shell aside, so nothing of
    // the session stands between the shell and the one asking. Not a session's own command
    // (`sbx exec -- X`, `sbx shell -- X`): a one-shot sandbox has no prompt a person watches,
    // and its command may be a package's script.
    typedAtPrompt: engine.process(host.rootPid)?.followsCd === true && parentOf(h.tgid) === host.rootPid,
    pause: async () => {
      const why = await engine.pause(h.pid);
      if (why === '') lastFailedPause.delete(host.id);
      else {
        for (const [id, at] of lastFailedPause) if (Date.now() - at > PAUSE_RETRY_MS) lastFailedPause.delete(id);
        lastFailedPause.set(host.id, Date.now());
      }
      return why;
    },
    quiet: () => engine.quiet(),
    resume: () => engine.resume(),
  });
  if (!answer.ok) {
    host.logRefusal('widen', `trust ${place}`, `not confirmed: ${answer.why}`, h.pid);
    return { error: `not trusted: ${answer.why}` };
  }
  trust(place, loaded.sha256, host.env);
  // Every shell asks again at its next prompt (the one right after this command's answer),
  // which puts the new trust in force: not left to the file watcher, which may come later.
  markStale(host.env);
  host.say(`session ${host.id}: trusted ${named} (sha256 ${loaded.sha256.slice(0, 12)}), confirmed at the terminal`);
  return { ok: true, file: place, sha256: loaded.sha256 };
}

export async function handleWiden(host: WidenHost, h: HintRequest): Promise<void> {
  let reply: AskReply;
  try {
    reply = await answerWiden(host, h);
  } catch (err) {
    host.say(`session ${host.id}: widen ${h.arg} failed: ${(err as Error).stack ?? String(err)}`);
    reply = { error: `internal error: ${(err as Error).message}` };
  }
  const engine = host.engine();
  if (engine && !engine.stopped) engine.replyHint(h.id, { content: `${JSON.stringify(reply)}\n` });
}
