/**
 * Live reload: one chokidar watcher over every policy file in force in any session.
 * Events for a file are coalesced for a few ms (editors write in bursts), then every
 * session reading that file re-resolves it.
 */
import { watch, type FSWatcher } from 'chokidar';

const SETTLE_MS = 15;

export class PolicyWatcher {
  private readonly watcher: FSWatcher;
  private readonly watched = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onChange: (file: string) => void) {
    this.watcher = watch([], { ignoreInitial: true, persistent: true, atomic: true });
    for (const ev of ['add', 'change', 'unlink'] as const) this.watcher.on(ev, (p: string) => this.bump(p));
    this.watcher.on('error', () => {});
  }

  private bump(file: string): void {
    clearTimeout(this.timers.get(file));
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        this.onChange(file);
      }, SETTLE_MS),
    );
  }

  /** Makes the watched set exactly `files` (the union over live sessions). */
  set(files: Iterable<string>): void {
    const want = new Set(files);
    const add = [...want].filter((f) => !this.watched.has(f));
    const drop = [...this.watched].filter((f) => !want.has(f));
    if (add.length) this.watcher.add(add);
    if (drop.length) this.watcher.unwatch(drop);
    for (const f of add) this.watched.add(f);
    for (const f of drop) this.watched.delete(f);
  }

  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    await this.watcher.close();
  }
}
