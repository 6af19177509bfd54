/**
 * Violation log: an in-memory ring buffer (for `sbx log` and `sbx status`) plus a JSONL
 * file under $XDG_STATE_HOME/sbx/, rotated at a size (violations.jsonl → .1 → .2).
 * Followers (`sbx log -f`) get each record as it is added.
 */
import { appendFile, existsSync, renameSync, statSync } from 'node:fs';
import { displaySafe } from '../display-safe.js';

export interface Violation {
  time: number;
  session: string;
  /**
   * deny | audit | error (from the engine), refused (the supervisor refused a hint/handover),
   * privileged (a set-id / file-capability program ran without its privileges: no_new_privs).
   */
  kind: 'deny' | 'audit' | 'error' | 'refused' | 'privileged';
  pid: number;
  program: string;
  syscall: string;
  op: string;
  target: string;
  errno: number;
  /** Which rule, in words: "/p/.sbx.yaml:4:10 read.deny ~/.ssh", "built-in (protected pid)". */
  rule: string;
  /** The policy's origin line. */
  policy: string;
  /** What would allow it: the exact edit or command (src/policy/suggest.ts). */
  fix?: string;
  /** Order within this supervisor's ring (a follower asking "what is new since" names the last it saw). */
  seq?: number;
  /** How many identical records (same process, operation, target, rule) this one stands for. */
  count?: number;
}

/** Identical records within one flush window are folded into one with a count (a denial storm stays cheap). */
const FLUSH_MS = 100;

export interface ViolationLogOptions {
  file: string;
  ringSize?: number;
  rotateBytes?: number;
  keep?: number;
}

export class ViolationLog {
  private readonly ring: Violation[] = [];
  private readonly followers = new Set<(v: Violation) => void>();
  private readonly file: string;
  private readonly ringSize: number;
  private readonly rotateBytes: number;
  private readonly keep: number;
  private size: number;
  private pending: Violation[] = [];
  private readonly folded = new Map<string, Violation>();
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private seq = 0;
  private queued = '';

  constructor(o: ViolationLogOptions) {
    this.file = o.file;
    this.ringSize = o.ringSize ?? 2000;
    this.rotateBytes = o.rotateBytes ?? 5 * 1024 * 1024;
    this.keep = o.keep ?? 3;
    this.size = existsSync(this.file) ? statSync(this.file).size : 0;
  }

  add(batch: Violation[]): void {
    for (const v of batch) {
      const key = `${v.session}\0${v.kind}\0${v.pid}\0${v.syscall}\0${v.op}\0${v.target}\0${v.rule}`;
      const prev = this.folded.get(key);
      if (prev) {
        prev.count = (prev.count ?? 1) + (v.count ?? 1);
        continue;
      }
      this.folded.set(key, v);
      this.pending.push(v);
    }
    if (!this.timer && this.pending.length > 0) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Publishes what accumulated: ring, followers, file (appended asynchronously, in order). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.folded.clear();
    if (batch.length === 0) return;
    for (const v of batch) {
      v.seq = ++this.seq;
      this.ring.push(v);
      for (const f of this.followers) f(v);
    }
    if (this.ring.length > this.ringSize) this.ring.splice(0, this.ring.length - this.ringSize);
    this.queued += batch.map((v) => `${JSON.stringify(v)}\n`).join('');
    this.write();
  }

  private write(): void {
    if (this.writing || this.queued === '') return;
    const text = this.queued;
    this.queued = '';
    try {
      if (this.size + text.length > this.rotateBytes) this.rotate();
    } catch (err) {
      process.stderr.write(`sbx supervisor: cannot rotate ${this.file}: ${(err as Error).message}\n`);
    }
    this.writing = true;
    this.size += Buffer.byteLength(text);
    appendFile(this.file, text, { mode: 0o600 }, (err) => {
      this.writing = false;
      if (err) process.stderr.write(`sbx supervisor: cannot write ${this.file}: ${err.message}\n`);
      this.write();
    });
  }

  private rotate(): void {
    for (let i = this.keep - 1; i >= 1; i--) {
      const from = `${this.file}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.file}.${i + 1}`);
    }
    if (existsSync(this.file)) renameSync(this.file, `${this.file}.1`);
    this.size = 0;
  }

  recent(filter: { session?: string; limit?: number; since?: number } = {}): Violation[] {
    this.flush();
    const limit = filter.limit ?? 200;
    if (limit <= 0) return [];
    const since = filter.since ?? 0;
    const all = filter.session || since ? this.ring.filter((v) => (!filter.session || v.session === filter.session) && (v.seq ?? 0) > since) : this.ring;
    return all.slice(-limit);
  }

  /** The last record's seq (0 when none). */
  get lastSeq(): number {
    return this.seq;
  }

  follow(fn: (v: Violation) => void): () => void {
    this.followers.add(fn);
    return () => this.followers.delete(fn);
  }
}

/** One line for people: `12:00:01 s1a2b deny cat read /home/u/.ssh/id_rsa (rule …)`. */
export function formatViolation(v: Violation): string {
  const t = new Date(v.time).toISOString().slice(11, 19);
  const prog = v.program.split('/').pop() ?? v.program;
  const times = v.count && v.count > 1 ? ` ×${v.count}` : '';
  return displaySafe(`${t} ${v.session} ${v.kind} ${prog}[${v.pid}] ${v.op} ${v.target} (${v.syscall}, ${v.rule})${times}${v.fix ? ` — to allow: ${v.fix}` : ''}`);
}

/**
 * One line for the shell's prompt and `sbx why`: what was denied, by which rule, what would
 * allow it. `sbx: denied cat read /home/u/.ssh/id_rsa ×3 — rule: … — to allow: …`.
 */
export function formatDenial(v: Violation): string {
  if (v.kind === 'privileged') return displaySafe(v.fix ?? `sbx: ${v.target} ran without its privileges (no_new_privs)`);
  const prog = v.program.split('/').pop() || 'a program';
  const times = v.count && v.count > 1 ? ` ×${v.count}` : '';
  const verb = v.kind === 'audit' ? 'audit: would deny' : 'denied';
  return displaySafe(`sbx: ${verb} ${prog} ${v.op} ${v.target}${times} — rule: ${v.rule}${v.fix ? ` — to allow: ${v.fix}` : ''}`);
}
