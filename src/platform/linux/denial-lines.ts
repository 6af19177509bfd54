/**
 * The "sbx: denied …" lines `sbx exec` shows a person (the Node exec prints them; for the fast
 * path the supervisor sends them to its client). Each distinct line once, and at most MAX of
 * them: a program that makes endless different denials (/secret/1, /secret/2 …) must not grow
 * the supervisor, or the client, without end. Past the cap one line says so, once.
 */
export const MAX_DENIAL_LINES = 500;

export class DenialLines {
  private readonly seen = new Set<string>();
  private capped = false;

  /** @param rest where the lines not shown can still be read (e.g. "`sbx log` has them"). */
  constructor(
    private readonly rest: string,
    private readonly max = MAX_DENIAL_LINES,
  ) {}

  /** What to show for this line: nothing (shown before, or past the cap), the line, or the one notice. */
  take(line: string): string | undefined {
    if (this.seen.has(line)) return undefined; // a program retrying the same open is one denial to a person
    if (this.seen.size < this.max) {
      this.seen.add(line);
      return line;
    }
    if (this.capped) return undefined;
    this.capped = true;
    return `sbx: more than ${this.max} different denials; the rest are not shown here (${this.rest})`;
  }
}
