/**
 * The supervisor has one JavaScript thread for every session of the user: their `cd`s, new
 * terminals, `sbx exec` starts and `ping`s all wait on it. A request a program inside can send
 * in a loop — `sbx trust FILE` (a policy file parsed), a nested `sbx exec` (a policy
 * compiled) — must not be able to hold it: a 150 MB file held it for minutes, and a terminal
 * opened meanwhile started unsandboxed after 20 s. So the thread time such requests take is
 * charged to their session, and to all sessions together; over budget, a request is answered
 * "busy" at once, without the work, and the rest of the thread stays for everyone's cd,
 * starts and pings. A person typing `sbx trust` or nesting `sbx exec` stays far below it.
 */

interface Bucket {
  /** Thread time (ms) still available; below zero: in debt. */
  balance: number;
  at: number;
}

/**
 * Capacity (a burst) and refill (a share of the thread), in ms and ms per second. What bounds
 * one request is the input itself (a policy file of 64 KiB, MAX_TOTAL_ENTRIES and
 * MAX_COMMANDS: under 2 s to compile; a hint's arguments fit in one path), and requests are
 * answered one after another with everyone else's in between, so a loop of them slows the
 * others down rather than stopping them. This bounds such a loop: over a minute of thread
 * time, a session gets 80% of it at most, all sessions together 90% — a build that nests
 * `sbx exec` hundreds of times in deep directories (300 ms each) is never refused.
 */
export const PER_SESSION = { capacity: 60_000, refillPerSecond: 800 };
export const ALL_SESSIONS = { capacity: 120_000, refillPerSecond: 900 };
const ALL = '\0all';

type Spec = { capacity: number; refillPerSecond: number };

export class ThreadBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly perSession: Spec = PER_SESSION,
    private readonly all: Spec = ALL_SESSIONS,
  ) {}

  /** undefined when `session` may start more work; else why not (for its answer). */
  admit(session: string): string | undefined {
    if (this.level(session, this.perSession) <= 0) return 'busy: this session asked the supervisor for too much work lately; try again in a few seconds';
    if (this.level(ALL, this.all) <= 0) return 'busy: sandboxed sessions asked the supervisor for too much work lately; try again in a few seconds';
    return undefined;
  }

  /** `ms` of thread time spent for `session`. */
  charge(session: string, ms: number): void {
    for (const [key, spec] of [[session, this.perSession], [ALL, this.all]] as const) {
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

/**
 * Read-only asks (`sbx status`, `sbx log`, `sbx why` inside) have one of their own, far
 * smaller: a person asks a few times a minute, each answer takes milliseconds, and 256
 * threads asking `why` (thousands of records folded each time) held the thread for over 30 s
 * within the big budget's burst — long enough for a new terminal to give up waiting.
 */
export const ASKS_PER_SESSION = { capacity: 1_000, refillPerSecond: 100 };
export const ASKS_ALL_SESSIONS = { capacity: 2_000, refillPerSecond: 200 };
export const askWork = new ThreadBudget(() => performance.now(), ASKS_PER_SESSION, ASKS_ALL_SESSIONS);
