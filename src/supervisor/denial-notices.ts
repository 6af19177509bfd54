/**
 * Denials waiting to be shown at a shell's next prompt (item "deny and suggest"): folded
 * (same program, operation, target and rule → one line with ×N), at most a few lines per
 * prompt, then a pointer to `sbx why`. Delivered through the push channel the hook already
 * reads: the engine removes the shells' fresh markers before it answers a denied syscall
 * (engineSetNoticeFiles), so the hook pushes at its very next prompt and the reply carries
 * these lines as notices. Nothing is spawned at the prompt.
 */
import { formatDenial, type Violation } from './violations.js';

/** Lines per prompt; the rest is one "… and N more" line. */
const SHOWN = 4;
/** Distinct denials kept between two prompts (a storm stays small). */
const KEPT = 64;
/** Markers (one per shell that asked) the engine removes at a denial. */
const MARKERS = 16;

export class DenialNotices {
  private readonly pending = new Map<string, Violation>();
  private dropped = 0;
  private readonly files: string[] = [];
  private readonly privileged = new Set<string>();

  add(v: Violation): void {
    // A set-id program: once per program and session (it is not a denial; it keeps running).
    if (v.kind === 'privileged' && !this.firstPrivileged(v.target)) return;
    if (v.kind !== 'deny' && v.kind !== 'error' && v.kind !== 'privileged') return;
    const key = `${v.kind}\0${v.program}\0${v.op}\0${v.target}\0${v.rule}`;
    const prev = this.pending.get(key);
    if (prev) {
      prev.count = (prev.count ?? 1) + (v.count ?? 1);
      return;
    }
    if (this.pending.size >= KEPT) {
      this.dropped += v.count ?? 1;
      return;
    }
    this.pending.set(key, { ...v });
  }

  /** The lines for one reply, and forgets them. */
  take(): string[] {
    const all = [...this.pending.values()];
    this.pending.clear();
    const more = all.length - SHOWN + this.dropped;
    this.dropped = 0;
    const lines = all.slice(0, SHOWN).map(formatDenial);
    if (more > 0) lines.push(`sbx: … and ${more} more denial(s): \`sbx why\` explains them`);
    return lines;
  }

  /** Remembers a shell's marker (most recent last). */
  watch(file: string): void {
    const at = this.files.indexOf(file);
    if (at >= 0) this.files.splice(at, 1);
    this.files.push(file);
    if (this.files.length > MARKERS) this.files.shift();
  }

  markers(): string[] {
    return [...this.files];
  }

  /** True the first time this program is reported as running without its privileges. */
  firstPrivileged(program: string): boolean {
    if (this.privileged.has(program)) return false;
    this.privileged.add(program);
    return true;
  }
}
