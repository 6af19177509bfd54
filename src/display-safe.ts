/**
 * Text a sandboxed program chose (a path, a program name, a host) goes into lines sbx writes
 * to the user's terminal: denial lines, `sbx log`, `sbx why`. A file named
 * `$'\e]52;c;…\a'` must not set the clipboard, retitle the window or move the cursor through
 * them — even from a program whose own output was cut off. Every such line passes through
 * here: control characters (C0, DEL, C1) and the bidirectional overrides that reorder what is
 * shown become visible escapes (`\x1b`, `\u202e`).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function displaySafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
