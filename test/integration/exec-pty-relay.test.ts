/**
 * The sandbox never holds the terminal of a shell outside (native/unotify/src/pty_relay.c).
 * A program run with `sbx exec` from an ordinary shell inherited that terminal, and a child
 * that calls setsid() leaves its job control: it read the lines typed to the shell outside
 * (commands, sudo passwords) from the background or after ^Z, and resized the terminal
 * (attack report F1, F3). Now the command gets a pseudo-terminal of its own, relayed by the
 * launcher's outside half only while its job is in the foreground.
 * Each denied case has its allowed twin: the same program outside sbx does it (the fixture
 * works), and what a user does through the relay (type to the command, resize, ^C, exit
 * codes) still works. The outer terminal is a real pty (script(1)) with an interactive
 * bash in it, driven by keystrokes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, onBothStartPaths, run, sbxBin, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-ptyrelay-');
afterAll(() => world.cleanup());

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An interactive bash on a fresh pty (script(1) holds the master), as a user's shell outside. */
class Outer {
  screen = '';
  tty = '';
  private readonly proc: ChildProcess;
  private mark = 0;
  constructor(env: Record<string, string>) {
    this.proc = spawn('script', ['-qfc', 'bash --norc --noprofile -i', '/dev/null'], {
      env: { ...env, PS1: '$ ', TERM: 'dumb' },
      cwd: world.dir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (d) => (this.screen += d.toString()));
  }
  async start(): Promise<this> {
    this.type('stty rows 30 cols 100; echo "tty=$(tty)"\n');
    await this.wait(/tty=(\/dev\/pts\/\d+)/);
    this.tty = /tty=(\/dev\/pts\/\d+)/.exec(this.screen)![1]!;
    return this;
  }
  type(keys: string): void {
    this.proc.stdin!.write(keys);
  }
  /** Waits for text after the last wait's match (or the start). */
  async wait(re: RegExp, ms = 10_000): Promise<RegExpExecArray> {
    let m: RegExpExecArray | null = null;
    await until(`screen shows ${re}`, () => (m = re.exec(this.screen.slice(this.mark))) !== null, ms).catch((e: Error) => {
      throw new Error(`${e.message}; screen since the last match: ${JSON.stringify(this.screen.slice(this.mark))}`);
    });
    this.mark += m!.index + m![0].length;
    return m!;
  }
  /** The outer terminal's size, read from outside. */
  size(): string {
    return execFileSync('stty', ['-F', this.tty, 'size'], { encoding: 'utf8' }).trim();
  }
  close(): void {
    this.proc.kill('SIGKILL');
  }
}

/** Kills what tty_steal left (its log's "ready <parent> <reader>" line). */
function killStealer(log: string): void {
  if (!existsSync(log)) return;
  const m = /ready (\d+) (\d+)/.exec(readFileSync(log, 'utf8'));
  for (const pid of m ? [m[1], m[2]] : []) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
}

let n = 0;
const logPath = () => join(world.dir, `steal-${++n}.log`);
const stolen = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('got: ')) : []);

/** Types `LINE` at the outer shell and waits until the setsid reader it starts is ready. */
async function startReader(t: Outer, line: string, log: string): Promise<void> {
  t.type(`${line}\n`);
  await until('the reader runs', () => existsSync(log) && readFileSync(log, 'utf8').includes('ready'));
}

/** Types three commands at the outer shell, each seen run (its output on screen). */
async function typeAtShell(t: Outer): Promise<void> {
  for (let i = 1; i <= 3; i++) {
    t.type(`echo typed-outside-${i}\n`);
    await t.wait(new RegExp(`\\r?\\ntyped-outside-${i}`));
  }
}

function check(label: string, env: () => Record<string, string>) {
  describe(label, () => {
    it('a setsid reader in a background `sbx exec &` gets none of the lines typed to the shell outside', async () => {
      const t = await new Outer(env()).start();
      const log = logPath();
      try {
        await startReader(t, `${sbxBin} exec -- ${fixture('tty_steal')} ${log} &`, log);
        await typeAtShell(t);
        expect(stolen(log)).toEqual([]);
      } finally {
        t.close();
        killStealer(log);
      }
    });

    it('a setsid reader in a foreground `sbx exec` stopped with ^Z gets none of the lines typed to the shell outside; fg resumes it', async () => {
      const t = await new Outer(env()).start();
      const log = logPath();
      try {
        await startReader(t, `${sbxBin} exec -- ${fixture('tty_steal')} ${log}`, log);
        t.type('\x1a');
        await t.wait(/Stopped/);
        await typeAtShell(t);
        expect(stolen(log)).toEqual([]);
        // The terminal was given back in its own modes (echo, canonical): the shell works, as above.
        t.type('fg\n');
        await t.wait(/fg\r?\n[^\n]*tty_steal[^\n]*\n/); // bash names the job it resumes
        await pause(500);
        t.type('\x03'); // through the relay and the pty's line discipline: ^C ends the command
        await t.wait(/\n\$ /); // (keys typed before the command ended would go to it, as to any job)
        t.type('echo "rc=$?"\n');
        await t.wait(/rc=130/);
      } finally {
        t.close();
        killStealer(log);
      }
    });

    it('twin: the same reader outside sbx, in the background, does get the lines typed to the shell', async () => {
      const t = await new Outer(env()).start();
      const log = logPath();
      try {
        await startReader(t, `${fixture('tty_steal')} ${log} &`, log);
        for (let i = 1; i <= 6; i++) {
          t.type(`echo typed-outside-${i}\n`);
          await pause(300);
        }
        await until('the reader stole a line', () => stolen(log).length > 0);
        expect(stolen(log).join('\n')).toMatch(/typed-outside-\d/);
      } finally {
        t.close();
        killStealer(log);
      }
    });

    it('twin: a foreground `sbx exec` reads what is typed through the relay, and its exit code comes back', async () => {
      const t = await new Outer(env()).start();
      try {
        t.type(`${sbxBin} exec -- sh -c 'read line; echo "got [$line]"; exit 3'\n`);
        await pause(1000);
        t.type('hello-through-the-relay\n');
        await t.wait(/got \[hello-through-the-relay\]/);
        await t.wait(/\n\$ /);
        t.type('echo "rc=$?"\n');
        await t.wait(/rc=3/);
        // The outer terminal is back in its own modes (as the shell runs its next command).
        t.type('stty -a\n');
        await t.wait(/(?<![-\w])icanon\b/);
      } finally {
        t.close();
      }
    });

    it('TIOCSWINSZ from a background `sbx exec` does not change the outer terminal (nor signal its foreground)', async () => {
      const t = await new Outer(env()).start();
      try {
        const out = join(world.dir, `size-${++n}`);
        t.type(`${sbxBin} exec -- ${fixture('tty_size')} set 22 77 >${out} 2>&1 &\n`);
        await until('the command ran', () => existsSync(out) && readFileSync(out, 'utf8').includes('set:'));
        expect(readFileSync(out, 'utf8')).toContain('set: ok'); // on its own pty
        expect(t.size()).toBe('30 100');
      } finally {
        t.close();
      }
    });

    it('twin: outside sbx the same background program resizes the terminal', async () => {
      const t = await new Outer(env()).start();
      try {
        const out = join(world.dir, `size-${++n}`);
        t.type(`${fixture('tty_size')} set 22 77 >${out} 2>&1 &\n`);
        await until('the command ran', () => existsSync(out) && readFileSync(out, 'utf8').includes('set:'));
        expect(t.size()).toBe('22 77');
      } finally {
        t.close();
      }
    });

    it('twin: the command sees the outer window size at start and after a resize (SIGWINCH passed on)', async () => {
      const t = await new Outer(env()).start();
      try {
        t.type(`${sbxBin} exec -- ${fixture('tty_size')} watch\n`);
        await t.wait(/size 30 100/);
        execFileSync('stty', ['-F', t.tty, 'rows', '40', 'cols', '120']);
        await t.wait(/size 40 120/);
        t.type('\n');
        await t.wait(/\n\$ /);
        t.type('echo "rc=$?"\n');
        await t.wait(/rc=0/);
      } finally {
        t.close();
      }
    });

    it('exit codes and signals pass through: exit 3 is 3, killed by SIGTERM is 143; ^C typed reaches the command', async () => {
      const t = await new Outer(env()).start();
      try {
        t.type(`${sbxBin} exec -- sh -c 'exit 3'; echo "rc=$?"\n`);
        await t.wait(/rc=3/);
        t.type(`${sbxBin} exec -- sh -c 'kill -TERM $$'; echo "rc=$?"\n`);
        await t.wait(/rc=143/);
        t.type(`${sbxBin} exec -- sh -c 'trap "echo got-INT; exit 7" INT; echo armed; while :; do sleep 0.1; done'\n`);
        await t.wait(/\narmed/);
        t.type('\x03');
        await t.wait(/got-INT/);
        await t.wait(/\n\$ /);
        t.type('echo "rc=$?"\n');
        await t.wait(/rc=7/);
      } finally {
        t.close();
      }
    });

    it('no relay when sbx leads the terminal (a session leader execs `sbx shell`, as the shell hook does): the command has the terminal itself', async () => {
      const probe = `${sbxBin} shell -- sh -c 'echo "in=$(readlink /proc/self/fd/0) "'`;
      const led = await run('script', ['-qec', `echo "tty=$(tty)"; exec ${probe}`, '/dev/null'], { env: env(), cwd: world.dir });
      const tty = /tty=(\S+)/.exec(led.stdout)?.[1];
      expect(tty, led.stdout).toMatch(/^\/dev\/pts\/\d+$/);
      expect(led.stdout).toContain(`in=${tty} `);
      // Twin: the same from a shell that leads the terminal: a pty of its own, relayed by the launcher.
      const relayed = await run('script', ['-qec', `echo "tty=$(tty)"; ${probe}`, '/dev/null'], { env: env(), cwd: world.dir });
      const outer = /tty=(\S+)/.exec(relayed.stdout)?.[1];
      expect(relayed.stdout).toMatch(/in=\/dev\/pts\/\d+ /);
      expect(relayed.stdout).not.toContain(`in=${outer} `);
    });

    it('no relay when no stdio fd is a terminal: the command is the launcher, a child of sbx itself (seen from outside)', async () => {
      const out = join(world.dir, `pp-${++n}`);
      const r = run('setsid', ['-w', sbxBin, 'exec', '--', 'sh', '-c', `echo $PPID >${out}; sleep 2`], { env: env(), cwd: world.dir });
      await until('the command runs', () => existsSync(out) && readFileSync(out, 'utf8').trim() !== '');
      const parent = readlinkSync(`/proc/${readFileSync(out, 'utf8').trim()}/exe`);
      expect(parent).not.toMatch(/sbx-launch$/);
      await r;
    });

    // The relay (outside the sandbox) signals the pty's foreground job on ^Z, on ^C from a
    // cooked terminal and at fg. The pty reports a group that is gone by its old number, so a
    // command could make the number name a group of the user's outside: the relay stopped or
    // killed it (helper-59 F1). Made deterministic here with ns_last_pid (root).
    it.runIf(process.getuid?.() === 0)('^Z and ^C after the pty\'s foreground group died and its number went to a group outside: the outside group is not signalled (twin: a live foreground job is stopped by ^Z)', async () => {
      const fx = fixture('pty_stale_fg');
      for (const [mode, key, redirect] of [['raw', '\x1a', ''], ['cooked', '\x03', ' < /dev/null']] as const) {
        const t = await new Outer(env()).start();
        let victim: number | undefined;
        try {
          t.type(`${sbxBin} exec -- ${fx} inside 8${redirect}; echo "rc=$?"\n`);
          const stale = Number((await t.wait(/stale (\d+)/))[1]);
          const v = await run(fx, ['victim-at', String(stale), '20']);
          expect(v.stdout, `${mode}: ${v.stderr}`).toBe(`victim ${stale}\n`);
          victim = stale;
          // Outside, the number is a live group now (the kernel signals it), once its process
          // sleeps (just forked, it may still be running: R).
          await until('the victim sleeps', () => /^\d+ \(pty_stale_fg\) S /.test(readFileSync(`/proc/${stale}/stat`, 'utf8')), 5_000);
          t.type(key);
          await pause(1000);
          const state = readFileSync(`/proc/${stale}/stat`, 'utf8').split(') ')[1]?.[0];
          expect(state, mode).toBe('S');
        } finally {
          if (victim) process.kill(victim, 'SIGKILL');
          t.close();
        }
      }
    });

    it('the relay is outside the sandbox: the command cannot signal it', async () => {
      const t = await new Outer(env()).start();
      try {
        t.type(`${sbxBin} exec -- sh -c 'kill -KILL $PPID; echo "kill=$?"; exit 4'; echo "rc=$?"\n`);
        await t.wait(/kill=1/);
        await t.wait(/rc=4/);
      } finally {
        t.close();
      }
    });
  });
}

onBothStartPaths(world, check);
