/**
 * Violation log: an in-memory ring buffer (for `sbx log` and `sbx status`) plus a JSONL
 * file under $XDG_STATE_HOME/sbx/, rotated at a size (violations.jsonl → .1 → .2).
 * Followers (`sbx log -f`) get each record as it is added.
 */
import { appendFile, existsSync, renameSync, statSync } from 'node:fs';

export interface Violation {
  time: number;
  session: string;
  /** deny | audit | error (from the engine), or refused (the supervisor refused a hint/handover). */
  kind: 'deny' | 'audit' | 'error' | 'refused';
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

  recent(filter: { session?: string; limit?: number } = {}): Violation[] {
    this.flush();
    const limit = filter.limit ?? 200;
    if (limit <= 0) return [];
    const all = filter.session ? this.ring.filter((v) => v.session === filter.session) : this.ring;
    return all.slice(-limit);
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
  return `${t} ${v.session} ${v.kind} ${prog}[${v.pid}] ${v.op} ${v.target} (${v.syscall}, ${v.rule})${times}`;
}
