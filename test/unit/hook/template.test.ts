import { describe, expect, it } from 'vitest';
import { execaSync } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderHook, sbxBinPath, shellQuote, SHELLS } from '../../../src/hook/template.js';

const sbx = resolve(import.meta.dirname, '../../../bin/sbx');

describe('sbx hook templates', () => {
  it('bake the real path of bin/sbx in, quoted so each shell reads it back unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-tpl-'));
    const odd = join(dir, `it's a "dir" $HOME \\ x`, 'sbx');
    for (const shell of SHELLS) {
      const text = renderHook(shell, odd);
      expect(text).not.toContain('@SBX_BIN@');
      // Evaluate only the assignment line in the real shell and print the value back.
      const line = text.split('\n').find((l) => l.includes('__sbx_bin'))!.trim();
      const file = join(dir, `line.${shell}`);
      writeFileSync(file, `${line}\nprintf '%s' $__sbx_bin\n`.replace('$__sbx_bin', shell === 'fish' ? '$__sbx_bin' : '"$__sbx_bin"'));
      expect(execaSync(shell, [file], { stripFinalNewline: false }).stdout).toBe(odd);
    }
    expect(sbxBinPath()).toBe(sbx);
  });

  it("bake in bin/sbx's native client when it is built (the session start skips bin/sbx's sh), '' when not", () => {
    const fast = resolve(import.meta.dirname, '../../../native/unotify/build/Release/sbx-fast');
    for (const shell of SHELLS) {
      const assign = (text: string) => text.split('\n').find((l) => l.includes('__sbx_fast') && l.includes('=') || /^set -g __sbx_fast /.test(l))!;
      expect(renderHook(shell)).not.toContain('@SBX_FAST@');
      expect(assign(renderHook(shell))).toContain(shellQuote(fast, shell));
      expect(assign(renderHook(shell, '/nonexistent/bin/sbx'))).toMatch(/__sbx_fast[= ]''$/);
    }
  });

  it('parse in every shell', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-tpl-'));
    for (const shell of SHELLS) {
      const file = join(dir, `hook.${shell}`);
      writeFileSync(file, renderHook(shell));
      const r = execaSync(shell, ['-n', file], { reject: false });
      expect(r.stderr, shell).toBe('');
      expect(r.exitCode, shell).toBe(0);
    }
  });

  it('quote for fish with backslashes kept', () => {
    expect(shellQuote(`a'b\\c`, 'fish')).toBe(`'a\\'b\\\\c'`);
    expect(shellQuote(`a'b\\c`, 'bash')).toBe(`'a'\\''b\\c'`);
  });
});

describe('sbx hook command', () => {
  it('prints each shell template and the direnv library', () => {
    for (const shell of SHELLS) expect(execaSync(sbx, ['hook', shell]).stdout).toContain(`__sbx_bin`);
    expect(execaSync(sbx, ['hook', 'direnv']).stdout).toContain('use_sandbox()');
    expect(execaSync(sbx, ['hook', 'direnv', '--path']).stdout.trim()).toBe(resolve(import.meta.dirname, '../../../direnvrc.sh'));
  });

  it('an unknown shell is a usage error: exit 2, the shell named, usage shown', () => {
    const r = execaSync(sbx, ['hook', 'tcsh'], { reject: false, stripFinalNewline: false });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^sbx: unknown shell 'tcsh' \(supported: bash, zsh, fish, direnv\)/);
    expect(r.stderr).toContain('usage: sbx hook <bash|zsh|fish|direnv>');
    const none = execaSync(sbx, ['hook'], { reject: false });
    expect(none.exitCode).toBe(2);
    const extra = execaSync(sbx, ['hook', 'bash', 'zsh'], { reject: false });
    expect(extra.exitCode).toBe(2);
  });
});

describe('direnvrc.sh: use sandbox', () => {
  // direnv's stdlib functions, as direnv defines them for an .envrc (the real bash runs the file).
  const stdlib = 'log_error() { echo "ERR $*" >&2; }; watch_file() { :; }; expand_path() { echo "$PWD/$1"; }';
  const run = (env: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-direnvrc-'));
    writeFileSync(join(dir, '.sbx.yaml'), 'version: 1\n');
    const lib = resolve(import.meta.dirname, '../../../direnvrc.sh');
    return execaSync('bash', ['--norc', '--noprofile', '-c', `${stdlib}; source "$1"; use_sandbox && echo "use=$SBX_DIRENV_USE"`, 'bash', lib], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, extendEnv: false, reject: false });
  };

  it('in a shell without an sbx session it fails the .envrc and says NOT sandboxed (twin: in a session it applies the file)', () => {
    const outside = run({});
    expect(outside.exitCode).toBe(1);
    expect(outside.stderr).toMatch(/^ERR sbx: use sandbox: NOT sandboxed: this shell has no sbx session/);
    expect(outside.stdout).toBe('');
    const inside = run({ SBX_SESSION: 's1' });
    expect(inside.exitCode).toBe(0);
    expect(inside.stdout).toMatch(/^use=.*\/\.sbx\.yaml$/);
  });
});
