/**
 * What a push tells the shell, quietly: a notice only when the policy a shell runs under
 * changes *for the user* — other policy files in force, or their trust — not on every cd.
 *   - cd between directories without a project file: same files (the user config), no notice;
 *   - direnv's `use sandbox .sbx.yaml` after the cd push that found the same file: no second notice;
 *   - a shell's first push: a notice only when a project (or `use`) file is in force — a new
 *     terminal in a plain directory prints nothing;
 *   - after a reload or `sbx trust` (the hook asks again, see fresh.ts): a notice if the trust changed.
 * The supervisor keeps what it last told each shell process (pid + start time: a reused pid is
 * a new shell).
 */

export interface NoticeSubject {
  /** Every policy file in force (user config, project file, `use` file). */
  files: string[];
  trusted: boolean;
  /** e.g. "project /p/.sbx.yaml (trusted)", "use /p/policy.yaml (…)", "built-in defaults (…)". */
  origin: string;
}

export const UNTRUSTED_NOTICE = 'sbx: this project file is not trusted: it can only narrow your policy (`sbx trust` asks you to confirm at this terminal)';

/** Two policies with the same identity look the same to the user. */
export function policyIdentity(s: NoticeSubject): string {
  return `${[...new Set(s.files)].sort().join('\n')}\n${s.trusted ? 'trusted' : 'untrusted'}`;
}

/** A project's file (or direnv's `use` file, or a locked-down session) is in force, not only the user's. */
export function isProjectPolicy(s: NoticeSubject): boolean {
  return !/^(built-in defaults|user config) /.test(s.origin);
}

export class NoticeMemory {
  private readonly told = new Map<number, { start: string; identity: string }>();

  get size(): number {
    return this.told.size;
  }

  /** The notices for a reply to process `pid` (started at `start`), and remembers what it was told. */
  notices(pid: number, start: string | undefined, s: NoticeSubject): string[] {
    const identity = policyIdentity(s);
    const last = this.told.get(pid);
    const known = last !== undefined && last.start === (start ?? '');
    this.told.set(pid, { start: start ?? '', identity });
    if (known ? last.identity === identity : !isProjectPolicy(s)) return [];
    return [`sbx: policy ${s.origin}`, ...(s.trusted ? [] : [UNTRUSTED_NOTICE])];
  }

  /** Forgets processes that are gone (`alive` says whether pid still runs with that start time). */
  prune(alive: (pid: number, start: string) => boolean): void {
    for (const [pid, t] of this.told) if (!alive(pid, t.start)) this.told.delete(pid);
  }
}
