/** A literal path as a policy glob: its `\`, `*` and `?` are not wildcards (native glob.cc). */
export function escapeGlob(path: string): string {
  return path.replace(/[\\*?]/g, (c) => `\\${c}`);
}
