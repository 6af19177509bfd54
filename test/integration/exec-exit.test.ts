/**
 * `./bin/sbx exec` exit codes and command-line errors: the command's own code, 128+signal,
 * 127 for not found, 2 for a bad command line — and the denial line format.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sbxExec, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-exit-');
const exec = (args: string[]) => sbxExec(args, { env: world.env, cwd: world.dir });
afterAll(() => world.cleanup());

describe('exit codes', () => {
  it("is the command's own exit code", async () => {
    expect((await exec(['--', 'true'])).code).toBe(0);
    expect((await exec(['--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await exec(['--deny-net', '--', 'false'])).code).toBe(1);
  });

  it('is 128+signal when the command is killed', async () => {
    expect((await exec(['--', 'sh', '-c', 'kill -TERM $$'])).code).toBe(143);
    expect((await exec(['--', 'sh', '-c', 'kill -KILL $$'])).code).toBe(137);
  });

  it('is 127 with "command not found" for a program not on PATH', async () => {
    const r = await exec(['--', 'sbx-surely-not-a-command']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('sbx: sbx-surely-not-a-command: command not found');
  });

  it('runs a command given without `--` too', async () => {
    const r = await exec(['--deny-net', 'echo', 'hi']);
    expect(r.stdout).toBe('hi\n');
    expect(r.code).toBe(0);
  });
});

describe('bad command lines: usage and exit 2, nothing runs', () => {
  it('unknown flag', async () => {
    const marker = join(world.dir, 'ran');
    const r = await exec(['--deny-evrything', '--', 'touch', marker]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag '--deny-evrything'");
    expect(r.stderr).toContain('usage: sbx exec');
    expect(existsSync(marker)).toBe(false);
  });

  it('missing command, missing flag value, value on a boolean flag', async () => {
    expect((await exec(['--deny-net'])).code).toBe(2);
    expect((await exec(['--allow-read'])).code).toBe(2);
    const r = await exec(['--deny-net=yes', '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--deny-net takes no value');
  });

  it('allowed twin: the same command line with a valid flag runs', async () => {
    const marker = join(world.dir, 'ran-ok');
    const r = await exec(['--deny-net', '--', 'touch', marker]);
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });
});
