/**
 * A command started with no terminal on its standard streams (`nohup sbx exec -- CMD &`,
 * `… </dev/null >log 2>&1 &`, an agent's tool call on pipes) gets no pty of its own, and it
 * used to keep the user's terminal as its controlling terminal: it opened /dev/tty, called
 * setsid() and read every line typed to the unsandboxed shell there (a sudo password). It
 * now starts with no controlling terminal, and the engine gives it no terminal it does not
 * hold. Twin: outside sbx the same probe, started the same way, opens both names.
 * Both ways `sbx exec` runs: in its own process, and served by a supervisor. The terminal
 * is a real pty (script(1)).
 */
import { afterAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onBothStartPaths, sbxBin, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-ctty-');
afterAll(() => world.cleanup());

let runs = 0;

onBothStartPaths(world, (label, env) => {
  it(`${label}: a command whose stdio is no terminal cannot open the terminal it was started from, as /dev/tty or /dev/pts/N (twin: outside it can)`, { timeout: 60_000 }, () => {
    const out = join(world.dir, `ctty-${++runs}`);
    const probe = `for p in /dev/tty "$1"; do if (exec 3<>"$p") 2>/dev/null; then echo "open $p"; else echo "refused $p"; fi; done`;
    const cmd = `t=$(tty); echo "$t" > ${out}.tty; sh -c '${probe}' sh "$t" </dev/null >${out}.outside 2>&1; ${sbxBin} exec -- sh -c '${probe}' sh "$t" </dev/null >${out}.inside 2>&1`;
    execFileSync('script', ['-qec', cmd, '/dev/null'], { env: env(), cwd: world.dir, stdio: 'ignore', timeout: 50_000 });
    const tty = readFileSync(`${out}.tty`, 'utf8').trim();
    expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(readFileSync(`${out}.outside`, 'utf8').trim().split('\n')).toEqual(['open /dev/tty', `open ${tty}`]);
    const inside = readFileSync(`${out}.inside`, 'utf8').trim().split('\n');
    expect(inside.filter((l) => !l.startsWith('sbx:'))).toEqual(['refused /dev/tty', `refused ${tty}`]);
    expect(inside).toContain(`sbx: denied tty ${tty} (built-in)`);
  });
});
