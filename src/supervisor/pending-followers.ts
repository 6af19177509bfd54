/**
 * Which sessions about to start have the user's interactive shell as their root: said by the
 * `session-env` request that `sbx shell` sends before it execs the launcher (outside the
 * sandbox: the control socket is a floor), taken once when the keeper registers the session.
 * Only such a root follows its directory (cd pushes, src/supervisor/hints.ts); a command
 * started with `sbx shell -- CMD`, or a session whose request was lost, keeps the policy of the
 * directory it started in.
 */
const UNCLAIMED_MS = 60_000;

export class PendingFollowers {
  private readonly waiting = new Map<string, NodeJS.Timeout>();

  add(session: string): void {
    clearTimeout(this.waiting.get(session));
    const timer = setTimeout(() => this.waiting.delete(session), UNCLAIMED_MS);
    timer.unref();
    this.waiting.set(session, timer);
  }

  /** True once for a session that was added (and not yet taken or expired). */
  take(session: string): boolean {
    const timer = this.waiting.get(session);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.waiting.delete(session);
    return true;
  }
}
