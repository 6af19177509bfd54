/**
 * The supervisor has one JavaScript thread for every session of the user: their `cd`s, new
 * terminals, `sbx exec` starts and `ping`s all wait on it. A request a program inside can send
 * in a loop — `sbx trust FILE` (a policy file parsed), a nested `sbx exec` (a policy
 * compiled) — must not be able to hold it: a 150 MB file held it for minutes, and a terminal
 * opened meanwhile started unsandboxed after 20 s. So the thread time such requests take is
 * charged to their session, and to all sessions together; over budget, a request is answered
 * "busy" at once, without the work. A person typing `sbx trust` or nesting `sbx exec` now
 * and then stays far below it.
 */

interface Bucket {
  /** Thread time (ms) still available; below zero: in debt. */
  balance: number;
  at: number;
}

/** Capacity (a burst) and refill (a share of the thread), in ms and ms per second. */
const PER_SESSION = { capacity: 2000, refillPerSecond: 100 }; // 10% of the thread after a 2 s burst
const ALL_SESSIONS = { capacity: 4000, refillPerSecond: 400 }; // 40% for every session together
const ALL = '\0all';

export class ThreadBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** undefined when `session` may start more work; else why not (for its answer). */
  admit(session: string): string | undefined {
    if (this.level(session, PER_SESSION) <= 0) return 'busy: this session asked the supervisor for too much work lately; try again in a few seconds';
    if (this.level(ALL, ALL_SESSIONS) <= 0) return 'busy: sandboxed sessions asked the supervisor for too much work lately; try again in a few seconds';
    return undefined;
  }

  /** `ms` of thread time spent for `session`. */
  charge(session: string, ms: number): void {
    for (const [key, spec] of [[session, PER_SESSION], [ALL, ALL_SESSIONS]] as const) {
      this.level(key, spec);
      this.buckets.get(key)!.balance -= ms;
    }
  }

  /** Measures `work` (its synchronous part and whatever it awaits) and charges it. */
  async run<T>(session: string, work: () => Promise<T>): Promise<T> {
    const t0 = this.now();
    try {
      return await work();
    } finally {
      this.charge(session, this.now() - t0);
    }
  }

  forget(session: string): void {
    this.buckets.delete(session);
  }

  private level(key: string, spec: { capacity: number; refillPerSecond: number }): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { balance: spec.capacity, at: t };
    b.balance = Math.min(spec.capacity, b.balance + ((t - b.at) / 1000) * spec.refillPerSecond);
    b.at = t;
    this.buckets.set(key, b);
    return b.balance;
  }
}

/** The one budget of this supervisor process. */
export const insideWork = new ThreadBudget();
