/**
 * A value one request of a session's start leaves for a later one (the `session-env` request
 * of `sbx shell`, then the keeper's registration): taken once, or dropped when nobody claims
 * it within UNCLAIMED_MS (a client that gave up) or when the supervisor stops.
 */
const UNCLAIMED_MS = 60_000;

export class Unclaimed<T> {
  private readonly waiting = new Map<string, { value: T; timer: NodeJS.Timeout }>();

  /** `drop`: what to do with a value nobody took (close what it holds). */
  constructor(private readonly drop: (value: T) => void | Promise<void> = () => {}) {}

  add(session: string, value: T): void {
    const replaced = this.take(session);
    if (replaced !== undefined) void this.drop(replaced);
    const timer = setTimeout(() => {
      if (this.waiting.get(session)?.value === value) this.waiting.delete(session);
      void this.drop(value);
    }, UNCLAIMED_MS);
    timer.unref();
    this.waiting.set(session, { value, timer });
  }

  take(session: string): T | undefined {
    const w = this.waiting.get(session);
    if (!w) return undefined;
    clearTimeout(w.timer);
    this.waiting.delete(session);
    return w.value;
  }

  async close(): Promise<void> {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      await this.drop(w.value);
    }
    this.waiting.clear();
  }
}
