/**
 * identifyCommands: a `commands:` override is bound to the files its name names (it widens,
 * so a program merely called like it must not get it). Real files in a temp dir.
 */
import { chmodSync, copyFileSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identifyCommands, scriptInterpreter } from '../../../src/policy/exec-images.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sbx-cmdimg-')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
copyFileSync('/bin/cat', join(dir, 'mytool'));
chmodSync(join(dir, 'mytool'), 0o755);
writeFileSync(join(dir, 'real-script'), '#!/bin/sh -e\necho hi\n', { mode: 0o755 });
symlinkSync(join(dir, 'real-script'), join(dir, 'myscript'));
const env = { PATH: dir };
const cmd = (name: string) => ({ rule: 0, name, policy: 1 });

describe('identifyCommands', () => {
  it('a program on PATH: its identity (dev/ino), no scripts', () => {
    const { commands, warnings } = identifyCommands([cmd('mytool')], env);
    const st = statSync(join(dir, 'mytool'), { bigint: true });
    expect(commands[0]!.images!.map((i) => [i.path, i.dev, i.ino])).toEqual([[join(dir, 'mytool'), st.dev.toString(), st.ino.toString()]]);
    expect(commands[0]!.scripts).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('a #! script (through a symlink): the paths it is found as, the script and its interpreter', () => {
    const { commands } = identifyCommands([cmd('myscript')], env);
    const s = commands[0]!.scripts!;
    expect(commands[0]!.images).toEqual([]);
    expect(s).toHaveLength(1);
    expect(s[0]!.paths).toEqual([join(dir, 'myscript'), join(dir, 'real-script')]);
    expect(s[0]!.script.path).toBe(join(dir, 'real-script'));
    expect(s[0]!.interpreter.path).toBe(realpathSync('/bin/sh'));
  });

  it('a name by path is that file; a name on no PATH matches nothing and says so', () => {
    expect(identifyCommands([cmd(join(dir, 'mytool'))], { PATH: '/nonexistent' }).commands[0]!.images).toHaveLength(1);
    const none = identifyCommands([cmd('no-such-tool-here')], env, () => '/p/.sbx.yaml:4:3');
    expect(none.commands[0]!.images).toEqual([]);
    expect(none.warnings).toEqual(['/p/.sbx.yaml:4:3: commands: no-such-tool-here names no program on PATH; the override applies to nothing until the policy is reloaded with it installed']);
  });

  it('scriptInterpreter reads the first word of a #! line only', () => {
    expect(scriptInterpreter(join(dir, 'real-script'))).toBe('/bin/sh');
    expect(scriptInterpreter(join(dir, 'mytool'))).toBeUndefined();
    expect(scriptInterpreter(join(dir, 'missing'))).toBeUndefined();
  });
});
