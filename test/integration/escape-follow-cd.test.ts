/**
 * Leaving a trusted project must leave its rights behind, whatever the next directory holds
 * and whoever moves there. The user's policy denies ~/private; the trusted project `wide`
 * allows its token. A hostile repository must never run with that right:
 *   - its `.sbx.yaml` names a program no file can be named (over NAME_MAX, a NUL), which
 *     once made the build throw, the push fail, and the shell keep wide's policy;
 *   - a subshell or nested shell (not the session's shell) moves there: its push is
 *     refused, and it used to keep wide's policy for what it ran next.
 * Each denial has its twin: in wide, and in a subdirectory of wide, the token is read.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './exec-helpers.js';
import { makeProject, makeSandbox, PUSH_FN, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
let wide: string;
let token: string;

beforeAll(() => {
  sb = makeSandbox('fcd');
  const priv = join(sb.home, 'private');
  mkdirSync(priv);
  token = join(priv, 'token');
  writeFileSync(token, 'TOKEN-only-for-wide\n');
  mkdirSync(join(sb.env.XDG_CONFIG_HOME!, 'sbx'), { recursive: true });
  writeFileSync(join(sb.env.XDG_CONFIG_HOME!, 'sbx', 'config.yaml'), `version: 1\nread:\n  deny: [${JSON.stringify(priv)}]\n`);
  wide = makeProject(join(sb.home, 'wide'), `version: 1\nread:\n  allow: [${JSON.stringify(token)}]\n`);
  mkdirSync(join(wide, 'sub'));
  expect(sb.sbx(['trust'], { cwd: wide }).code).toBe(0);
}, 60_000);
afterAll(() => sb.cleanup());

/** Each of `lines` is a line of `stdout`. */
const expectLines = (stdout: string, lines: string[]) => expect(stdout.split('\n')).toEqual(expect.arrayContaining(lines));

/** Reads the token in the shell's place and says which way it went. */
const readToken = (label: string) => `if read l < ${token}; then echo ${label}-token-read; else echo ${label}-token-denied; fi`;

describe('a shell leaving a trusted project for a hostile one', () => {
  it('program names no file can have (over NAME_MAX, a NUL) in the hostile file: the shell there has no token (twin: in wide it has)', { timeout: 60_000 }, () => {
    const long = makeProject(join(sb.home, 'evil-long'), `version: 1\nexec:\n  deny: ["curl", "${'x'.repeat(300)}"]\n`);
    const nul = makeProject(join(sb.home, 'evil-nul'), 'version: 1\nexec:\n  deny: ["curl\\0"]\n');
    const cmds = makeProject(join(sb.home, 'evil-cmds'), `version: 1\ncommands:\n  "${'y'.repeat(300)}":\n    read:\n      deny: ["/"]\n`);
    const script = `${PUSH_FN}
      cd ${wide} && push "cd$PWD" >/dev/null; ${readToken('wide')}
      cd ${long} && push "cd$PWD" >/dev/null; ${readToken('long')}
      cd ${wide} && push "cd$PWD" >/dev/null; ${readToken('wide2')}
      cd ${nul} && push "cd$PWD"; ${readToken('nul')}
      cd ${wide} && push "cd$PWD" >/dev/null
      cd ${cmds} && push "cd$PWD" >/dev/null; ${readToken('cmds')}`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: sb.home });
    expectLines(r.stdout, ['wide-token-read', 'wide2-token-read', 'long-token-denied', 'nul-token-denied', 'cmds-token-denied']);
    // The NUL is a broken file, said with its place (the strict fallback is in force there).
    expect(r.stdout).toMatch(/reply: .*evil-nul\/\.sbx\.yaml:3:\d+.*NUL/);
  });

  it('a subshell moving to another project, or to another directory without one, runs under the strictest policy; one moving within the project keeps it (twin)', { timeout: 60_000 }, () => {
    const evil = join(sb.home, 'evil-plain');
    mkdirSync(evil, { recursive: true }); // no policy file at all: the user's policy there
    const other = makeProject(join(sb.home, 'evil-own'), 'version: 1\n');
    const plainB = join(sb.home, 'plain-b');
    mkdirSync(plainB, { recursive: true });
    writeFileSync(join(sb.home, 'note.txt'), 'NOTE\n');
    const readNote = (label: string) => `if read l < ${join(sb.home, 'note.txt')}; then echo ${label}-note-read; else echo ${label}-note-denied; fi`;
    const script = `${PUSH_FN}
      cd ${evil} && push "cd$PWD" >/dev/null
      ( cd ${plainB} && push "cd$PWD" >/dev/null; ${readNote('plain-to-plain')} )
      ${readNote('shell-in-plain')}
      cd ${wide} && push "cd$PWD" >/dev/null
      ( cd ${evil} && push "cd$PWD" >/dev/null; ${readToken('sub-plain')} )
      ( cd ${other} && push "cd$PWD" >/dev/null; ${readToken('sub-other')} )
      ( cd ${wide}/sub && push "cd$PWD" >/dev/null; ${readToken('sub-same')} )
      ${readToken('shell-after')}
      sh -c 'cd ${evil} && { while IFS= read -r l; do :; done < /proc/self/sbx/cd$PWD; }; ${readToken('nested')}'`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: sb.home });
    // Between two directories without a project file too: their floors are built from where they are.
    expectLines(r.stdout, ['plain-to-plain-note-denied', 'shell-in-plain-note-read', 'sub-plain-token-denied', 'sub-other-token-denied', 'nested-token-denied', 'sub-same-token-read', 'shell-after-token-read']);
    expect(sb.log().some((v) => v.kind === 'refused' && v.rule.includes('it now runs under the strictest policy'))).toBe(true);
  });

  it('a process moved to the strictest policy keeps what its project gave it, so nothing debugs it (twin: a sibling under the project\'s policy is debugged)', { timeout: 60_000 }, () => {
    const evil = join(sb.home, 'evil-plain');
    mkdirSync(evil, { recursive: true });
    const script = `${PUSH_FN}
      cd ${wide} && push "cd$PWD" >/dev/null
      ( cd ${evil} && push "cd$PWD" >/dev/null; exec sleep 20 ) & moved=$!
      sleep 20 & sibling=$!
      sleep 1
      timeout 3 strace -e trace=none -p $moved 2>&1 | head -1 | sed 's/^/moved: /'
      timeout 3 strace -e trace=none -p $sibling 2>&1 | head -1 | sed 's/^/sibling: /'
      kill $moved $sibling`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: sb.home });
    expect(r.stdout).toMatch(/^moved: .*(Operation not permitted|Permission denied)/m);
    expect(r.stdout).toMatch(/^sibling: strace: Process \d+ attached/m);
  });
});

// A seccomp filter the shell adds to itself where no override can start is let through
// (self_restrict.cc); the shell then moves into a project whose commands: give cat the token.
// The filter answers before sbx for every program the shell starts: no override under it.
describe('a shell that added a filter of its own, then moves into a project with commands:', () => {
  it('its cat does not get the override there (twin: the same shell without the filter reads the token)', { timeout: 60_000 }, () => {
    const cmds = makeProject(join(sb.home, 'cmds'), `version: 1\ncommands:\n  cat:\n    read:\n      allow: [${JSON.stringify(token)}]\n`);
    expect(sb.sbx(['trust'], { cwd: cmds }).code).toBe(0);
    const script = (filter: boolean) => `${PUSH_FN}
      ${filter ? `enable -f ${fixture('self_filter_lib')} sbx_none 2>/dev/null` : ''}
      cd ${cmds} && push "cd$PWD" >/dev/null
      cat ${token} >/dev/null 2>&1 && echo cat-token-read || echo cat-token-denied`;
    const filtered = sb.sbx(['shell', '--follow-cd', '--', 'bash', '-c', script(true)], { cwd: sb.home });
    expectLines(filtered.stdout, ['lib-filter: ok', 'cat-token-denied']);
    expect(filtered.stderr + JSON.stringify(sb.log())).toContain('it runs under a seccomp filter or Landlock ruleset a sandboxed process added');
    const plain = sb.sbx(['shell', '--follow-cd', '--', 'bash', '-c', script(false)], { cwd: sb.home });
    expectLines(plain.stdout, ['cat-token-read']);
  });
});
