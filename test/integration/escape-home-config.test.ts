/**
 * A foothold in the home: files tools load when they start, outside the sandbox, later
 * (src/policy/home-config.ts). Under the default policy (no policy file anywhere) a
 * sandboxed program wrote python's usercustomize.py, direnv's direnvrc and allow list,
 * ~/.tmux.conf, a file an rc file sources (~/.cargo/env), a $ZDOTDIR's .zshrc and ~/bin/ls —
 * each ran in the next unsandboxed python, direnv, tmux, shell. Every one is written here
 * outside first (the twin: the place is writable), then refused inside; the caches and
 * histories programs inside must write stay writable, and an exception is never a grant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sbxExec, servedBySupervisor, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-homecfg-');
const home = world.env.HOME!;
// The XDG dirs at their defaults, under the home (as on most machines).
const env = Object.fromEntries(Object.entries(world.env).filter(([k]) => !/^XDG_(CONFIG|STATE|CACHE|DATA)_HOME$/.test(k)));
// Served by a supervisor started with the same variables as the callers (as a terminal does).
servedBySupervisor({ dir: world.dir, env });
const project = join(world.dir, 'proj');
const h = (p: string) => join(home, p);

/** Appends a line to each path from inside; returns the per-path verdict "ok"/"refused". */
async function writeInside(
  paths: string[],
  args: string[] = [],
  where: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ verdicts: Record<string, string>; stderr: string }> {
  const script = paths.map((p, i) => `if mkdir -p "$(dirname "\${${i + 1}}")" 2>/dev/null; echo planted >> "\${${i + 1}}"; then echo "${i} ok"; else echo "${i} refused"; fi`).join('\n');
  const r = await sbxExec([...args, '--', 'sh', '-c', script, 'sh', ...paths], { env: where.env ?? env, cwd: where.cwd ?? project });
  const verdicts: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+) (ok|refused)$/.exec(line);
    if (m) verdicts[paths[Number(m[1])]!] = m[2]!;
  }
  return { verdicts, stderr: r.stderr };
}

const FOOTHOLDS = [
  '.local/lib/python3.11/site-packages/usercustomize.py', // every python3 start
  '.config/direnv/direnvrc', // every direnv run
  '.local/share/direnv/allow/0123abcd', // an .envrc approved by the program itself
  '.tmux.conf', // a new file: tmux's run-shell
  '.vimrc',
  '.cargo/env', // sourced by ~/.bashrc after rustup's setup
  '.config/zsh/.zshrc', // $ZDOTDIR set in ~/.zshenv
  '.local/share/fish/vendor_conf.d/x.fish',
  '.cache/p10k-instant-prompt-u.zsh', // sourced by every powerlevel10k .zshrc
  '.local/state/nix/profiles/profile-2-link/bin/hello', // Nix user profiles: on PATH
  '.npm/_npx/8f49/node_modules/cowsay/cli.js', // what `npx cowsay` runs
  '.config/fish/fish_variables', // SETUVAR --export LD_PRELOAD:… for every program an outside fish starts
  'bin/ls', // on PATH from the next login (~/.profile)
];

beforeAll(() => {
  mkdirSync(project, { recursive: true });
  mkdirSync(h('notes'), { recursive: true });
  // As on any machine: sbx keeps its state there, fish its config (ancestors of floors,
  // which cannot be created inside).
  for (const d of ['.local/state', '.config/fish']) mkdirSync(h(d), { recursive: true });
  mkdirSync(h('.cargo'), { recursive: true });
  writeFileSync(h('.cargo/env'), 'export PATH="$HOME/.cargo/bin:$PATH"\n');
});
afterAll(() => world.cleanup());

describe('the home configuration cannot be written from inside (default policy)', () => {
  it('each foothold place is writable outside (twin) and refused inside, with a denial naming the rule', async () => {
    for (const p of FOOTHOLDS) {
      mkdirSync(dirname(h(p)), { recursive: true });
      appendFileSync(h(`${p}.outside-twin`), 'outside\n');
      expect(readFileSync(h(`${p}.outside-twin`), 'utf8')).toBe('outside\n');
    }
    const { verdicts, stderr } = await writeInside(FOOTHOLDS.map(h));
    for (const p of FOOTHOLDS) expect(verdicts[h(p)], p).toBe('refused');
    expect(readFileSync(h('.cargo/env'), 'utf8')).not.toContain('planted');
    expect(existsSync(h('.tmux.conf'))).toBe(false);
    expect(stderr).toContain(`sbx: denied write ${h('.tmux.conf')} (built-in: home configuration (tools load it outside later): dot-entries of the home)`);
    expect(stderr).toContain(`sbx: denied write ${h('bin/ls')} (default protect (protect: preset persistence)`);
  });

  // What programs outside leave in the runtime dir and read back later: ArchWiki's ssh-agent
  // recipe has every new shell source $XDG_RUNTIME_DIR/ssh-agent.env; podman keeps its login
  // there.
  it('the runtime dir: refused inside like the dot-entries (twin: writable outside; a place an --allow-write names is writable), and podman\'s login unreadable', async () => {
    const run = world.env.XDG_RUNTIME_DIR!;
    const places = [join(run, 'ssh-agent.env'), join(run, 'some-tool/state')];
    for (const p of places) {
      mkdirSync(dirname(p), { recursive: true });
      appendFileSync(`${p}.outside-twin`, 'outside\n');
    }
    const { verdicts, stderr } = await writeInside(places);
    for (const p of places) expect(verdicts[p], p).toBe('refused');
    expect(stderr).toContain(`sbx: denied write ${join(run, 'ssh-agent.env')} (built-in: home configuration`);
    const named = await writeInside([join(run, 'some-tool/state')], [`--allow-write=${join(run, 'some-tool')}`]);
    expect(named.verdicts[join(run, 'some-tool/state')]).toBe('ok');
    mkdirSync(join(run, 'containers'), { recursive: true });
    writeFileSync(join(run, 'containers/auth.json'), '{"auths":{"r.example":{"auth":"c2VjcmV0"}}}\n');
    const r = await sbxExec(['--', 'sh', '-c', `cat ${join(run, 'containers/auth.json')} || echo unreadable; cat ${join(run, 'some-tool/state.outside-twin')}`], { env, cwd: project });
    expect(r.stdout).toContain('unreadable');
    expect(r.stdout).not.toContain('c2VjcmV0');
    expect(r.stdout).toContain('outside'); // the twin: another file there stays readable
  });

  // A supervisor started without XDG_RUNTIME_DIR (su -, cron, ssh without pam_systemd) keeps
  // its sockets in /tmp/sbx-UID: one planted there first would answer that start's sbx.
  it("sbx's fallback socket dir /tmp/sbx-UID cannot be made or written inside, whatever runtime dir this session has (twin: a sibling name can)", async () => {
    const uid = process.getuid?.() ?? 0;
    const name = `planted-${process.pid}`;
    const fallback = join(`/tmp/sbx-${uid}`, name);
    const twin = join(`/tmp/sbx-${uid}-twin-${process.pid}`, name);
    expect(world.env.XDG_RUNTIME_DIR).toBeTruthy(); // this session's runtime dir is elsewhere
    try {
      const { verdicts, stderr } = await writeInside([fallback, twin]);
      expect(verdicts[fallback]).toBe('refused');
      expect(verdicts[twin]).toBe('ok');
      expect(stderr).toMatch(new RegExp(`sbx: denied write /tmp/sbx-${uid}(/${name})? \\(built-in: sbx sockets`));
    } finally {
      rmSync(fallback, { force: true });
      rmSync(dirname(twin), { recursive: true, force: true });
    }
  });

  it('histories, fish history and the sandbox\'s own cache stay writable; the project too; dotfiles stay readable', async () => {
    const allowed = ['.bash_history', '.local/share/fish/fish_history.Ab12', '.cache/sbx-sandbox/pip/x'].map(h);
    const { verdicts } = await writeInside([...allowed, join(project, 'out.txt')]);
    for (const p of [...allowed, join(project, 'out.txt')]) expect(verdicts[p], p).toBe('ok');
    const r = await sbxExec(['--', 'cat', h('.cargo/env')], { env, cwd: project });
    expect(r.stdout).toContain('cargo/bin');
  });

  it('programs inside cache in the sandbox\'s own cache, which no tool outside reads (npm, yarn, pnpm, bun, cargo, go, XDG)', async () => {
    const r = await sbxExec(['--', 'sh', '-c', 'echo "$XDG_CACHE_HOME|$npm_config_cache|$YARN_CACHE_FOLDER|$npm_config_store_dir|$BUN_INSTALL_CACHE_DIR|$CARGO_HOME|$GOMODCACHE"'], { env, cwd: project });
    const c = h('.cache/sbx-sandbox');
    expect(r.stdout.trim()).toBe(`${c}|${c}/npm|${c}/yarn|${c}/pnpm-store|${c}/bun|${c}/cargo|${c}/go-mod`);
    // Twin: outside, the user's own caches stay where they were.
    expect(env.XDG_CACHE_HOME).toBeUndefined();
  });

  it('a symlink a tool outside would write through to a place the sandbox may not write is refused (twin: one to a writable file, one to a system file)', async () => {
    writeFileSync(h('.bashrc'), '# rc\n');
    const script = [
      'rm -f "$HOME/.bash_history"',
      // readline saves the history through the link: ~/.bashrc would get the commands.
      'if ln -s "$HOME/.bashrc" "$HOME/.bash_history"; then echo hist-ok; else echo hist-refused; fi',
      // one that does not exist yet: a tool would create it.
      'if ln -s "$HOME/.config/autostart/x.desktop" "$1/autostart-link"; then echo new-ok; else echo new-refused; fi',
      'if ln -s "$1/out.txt" "$1/twin-link"; then echo twin-ok; fi',
      'if ln -s /usr/bin/env "$1/system-link"; then echo system-ok; else echo system-refused; fi',
    ].join('\n');
    const r = await sbxExec(['--', 'sh', '-c', script, 'sh', project], { env, cwd: project });
    expect(r.stdout).toContain('hist-refused');
    expect(r.stdout).toContain('new-refused');
    expect(r.stdout).toContain('twin-ok');
    // A system program: one you cannot write (twin), else (root) one in a floor, which a
    // writer through the link would replace (a venv's python link stays allowed: below).
    expect(r.stdout).toContain(process.getuid?.() === 0 ? 'system-refused' : 'system-ok');
    expect(r.stderr).toContain(`sbx: denied write ${h('.bash_history')} -> ${h('.bashrc')} (`);
    expect(readFileSync(h('.bashrc'), 'utf8')).toBe('# rc\n');
  });

  it('an excepted directory cannot be replaced by a prepared one, nor by a symlink, to bring in what is denied below it (twin: a plain directory moves)', async () => {
    rmSync(h('.local/share/fish'), { recursive: true, force: true }); // the earlier tests' files, outside
    mkdirSync(h('.local/share/fish'), { recursive: true });
    const script = [
      'mkdir -p "$HOME/notes/f/vendor_conf.d" && echo "echo PWNED" > "$HOME/notes/f/vendor_conf.d/x.fish"',
      'rm -rf "$HOME/.local/share/fish" && echo rmdir-ok',
      'if mv "$HOME/notes/f" "$HOME/.local/share/fish"; then echo mv-ok; else echo mv-refused; fi',
      'if ln -s "$HOME/notes/f" "$HOME/.local/share/fish"; then echo ln-ok; else echo ln-refused; fi',
      'mkdir -p "$HOME/notes/g/sub" && if mv "$HOME/notes/g" "$HOME/notes/h"; then echo twin-mv-ok; fi',
    ].join('\n');
    const r = await sbxExec(['--', 'sh', '-c', script], { env, cwd: project });
    expect(r.stdout).toContain('rmdir-ok');
    expect(r.stdout).toContain('mv-refused');
    expect(r.stdout).toContain('ln-refused');
    expect(r.stdout).toContain('twin-mv-ok');
    expect(existsSync(h('.local/share/fish/vendor_conf.d/x.fish'))).toBe(false);
    expect(r.stderr).toContain(`sbx: denied write ${h('.local/share/fish')} (built-in: home configuration`);
  });

  it('an exception is never a grant: under --deny-write the caches are refused too; --allow-write lifts one place', async () => {
    const denied = await writeInside([h('.cache/sbx-sandbox/pip/y'), h('.bash_history')], ['--deny-write']);
    expect(denied.verdicts[h('.cache/sbx-sandbox/pip/y')]).toBe('refused');
    expect(denied.verdicts[h('.bash_history')]).toBe('refused');
    const lifted = await writeInside([h('.config/tool/settings'), h('.config/other/x')], [`--allow-write=${h('.config/tool')}`]);
    expect(lifted.verdicts[h('.config/tool/settings')]).toBe('ok');
    expect(lifted.verdicts[h('.config/other/x')]).toBe('refused');
  });
});

// A symlink is decided when it is made, but followed later by tools outside: git appends its
// reflog to `.git/logs/HEAD`, writes COMMIT_EDITMSG and FETCH_HEAD, each through the name. A
// link that leads one place for the sandbox and another for them (/proc/self is the follower,
// a moved directory re-aims its relative links, `ww/../..` climbs from wherever ww is
// re-pointed), or a link to a program file git then appends to, made git outside write a
// floor and the next terminal ran the payload outside (atk1 findings 01-03).
/** A shell line that prints "<tag> ok" or "<tag> refused" for `cmd`; verdicts() reads them back. */
const attempt = (tag: string, cmd: string) => `if ${cmd}; then echo "${tag} ok"; else echo "${tag} refused"; fi`;
const verdicts = (stdout: string) => Object.fromEntries([...stdout.matchAll(/^(\S+) (ok|refused)$/gm)].map((m) => [m[1], m[2]]));

describe('a symlink leads every later follower where it was decided (no /proc, no re-aiming, no program file written through)', () => {
  const repo = h('gproj');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Alice Doe', '-c', 'user.email=alice@example.com', ...args], { cwd: repo, env: { ...env, GIT_CONFIG_GLOBAL: '/dev/null' }, encoding: 'utf8' });
  /** Runs `script` inside from the project (the repo is $1, the project $2); lines "<tag> ok|refused". */
  const inside = (script: string, cwd = project) => sbxExec(['--', 'sh', '-c', script, 'sh', repo, project], { env, cwd });
  const elf = h('.pyenv/versions/3.12/bin/python3.12'); // a venv's python: an ELF outside the floors
  const shim = h('.pyenv/shims/python'); // a script outside the floors
  const hello = h('bin/hello'); // the user's tool: a script in a floor (~/bin)
  // renameat2(RENAME_EXCHANGE) of two paths ("$1" "$2"), as a command that fails when refused.
  const exchange = `python3 -c 'import ctypes,os,sys; l=ctypes.CDLL(None,use_errno=True); sys.exit(l.renameat2(-100,os.fsencode(sys.argv[1]),-100,os.fsencode(sys.argv[2]),2)!=0)'`;

  beforeAll(() => {
    rmSync(repo, { recursive: true, force: true });
    mkdirSync(repo, { recursive: true });
    git('init', '-q', '-b', 'master');
    writeFileSync(join(repo, 'a'), 'a\n');
    git('add', 'a');
    git('commit', '-qm', 'init');
    for (const f of [elf, shim, hello]) mkdirSync(dirname(f), { recursive: true });
    copyFileSync('/usr/bin/env', elf);
    writeFileSync(shim, '#!/bin/sh\nexec python3 "$@"\n');
    writeFileSync(hello, '#!/bin/sh\necho hello from my tool\n');
    for (const f of [elf, shim, hello]) chmodSync(f, 0o755);
    writeFileSync(h('.bashrc'), '# rc\n');
  });

  it('a target through /proc (/proc/self/cwd, /proc/thread-self, /dev/fd, /dev/stdout, /proc/<pid>/root) is refused (twin: a plain link to a writable file)', async () => {
    const script = [
      'mkdir -p "$2/d/x" && cd "$2/d/x"', // harmless from here: $2/d/.bash_aliases
      attempt('self-cwd', 'ln -s /proc/self/cwd/../.bash_aliases "$2/l-self"'),
      attempt('thread-self', 'ln -s /proc/thread-self/cwd/x "$2/l-thread"'),
      attempt('dev-fd', 'ln -s /dev/fd/3/x "$2/l-fd" 3<.'),
      attempt('dev-stdout', 'ln -s /dev/stdout/../x "$2/l-stdout"'),
      attempt('pid-root', `ln -s "/proc/$$/root$HOME/.bash_aliases" "$2/l-root"`),
      'echo x > "$2/out.txt"',
      attempt('twin', 'ln -s "$2/out.txt" "$2/l-twin"'),
    ].join('\n');
    const r = await inside(script);
    const v = verdicts(r.stdout);
    for (const tag of ['self-cwd', 'thread-self', 'dev-fd', 'dev-stdout', 'pid-root']) expect(v[tag], `${tag}\n${r.stderr}`).toBe('refused');
    expect(v.twin, r.stderr).toBe('ok');
    expect(r.stderr).toContain(`sbx: denied write ${join(project, 'l-self')} -> /proc/self/cwd/../.bash_aliases (goes through /proc: every process that follows it reaches its own files there)`);
  });

  it('a directory moved where its climbing relative links would reach a protected file: the rename is refused (twin: the same move of a directory whose links stay inside it)', async () => {
    const script = [
      'mkdir -p "$HOME/notes/m/a/b" "$HOME/notes/m/c/b/sub" "$HOME/mv1" "$HOME/mv2"',
      // ../../.bash_aliases from notes/m/a/b is notes/m/.bash_aliases: writable, made.
      attempt('made', 'ln -s ../../.bash_aliases "$HOME/notes/m/a/b/L"'),
      // from mv1/b it is ~/.bash_aliases.
      attempt('moved', 'mv "$HOME/notes/m/a/b" "$HOME/mv1/b"'),
      attempt('in-place', 'mv "$HOME/notes/m/a/b" "$HOME/notes/m/a/b2" && mv "$HOME/notes/m/a/b2" "$HOME/notes/m/a/b"'),
      'echo x > "$HOME/notes/m/c/b/file"',
      attempt('inside-made', 'ln -s ../file "$HOME/notes/m/c/b/sub/L" && ln -s file "$HOME/notes/m/c/b/L2"'),
      attempt('twin', 'mv "$HOME/notes/m/c/b" "$HOME/mv2/b"'),
      // RENAME_EXCHANGE: the link goes to the other side; refused whichever operand holds it.
      'mkdir -p "$HOME/mv3/b" "$HOME/mv4/b"',
      attempt('exchange', `${exchange} "$HOME/notes/m/a/b" "$HOME/mv3/b"`),
      attempt('exchange-back', `${exchange} "$HOME/mv3/b" "$HOME/notes/m/a/b"`),
      attempt('exchange-twin', `${exchange} "$HOME/mv2/b" "$HOME/mv4/b"`),
    ].join('\n');
    const r = await inside(script);
    const v = verdicts(r.stdout);
    expect(v.made, r.stderr).toBe('ok');
    expect(v.moved, r.stderr).toBe('refused');
    expect(v['in-place'], r.stderr).toBe('ok'); // a rename in the same directory keeps the climb's target
    expect(v['inside-made'], r.stderr).toBe('ok');
    expect(v.twin, r.stderr).toBe('ok');
    expect(v.exchange, r.stderr).toBe('refused');
    expect(v['exchange-back'], r.stderr).toBe('refused');
    expect(v['exchange-twin'], r.stderr).toBe('ok');
    expect(existsSync(h('mv1/b'))).toBe(false);
    expect(existsSync(h('mv3/b/L'))).toBe(false);
    expect(readFileSync(h('mv4/b/sub/L'), 'utf8')).toBe('x\n');
    expect(r.stderr).toContain(`sbx: denied write ${h('mv1/b/L')} -> ${h('.bash_aliases')} (`);
  });

  it('a `..` after a name in a link\'s text is refused (ww/../..: it climbs from wherever ww is re-pointed); twin: leading climbs (npm\'s ../pkg/bin/x) are made', async () => {
    const script = [
      'mkdir -p /tmp/sbx-ww-$$/y "$2/ww-twin/pkg/bin" && ln -sfn /tmp/sbx-ww-$$/y "$2/ww"',
      attempt('after-name', 'ln -s "$2/ww/../../.bash_aliases" "$2/X"'),
      attempt('relative', 'ln -s ww/../x "$2/X2"'),
      attempt('leading', 'mkdir -p "$2/ww-twin/.bin" && ln -s ../pkg/bin/x "$2/ww-twin/.bin/x"'),
      'rm -rf /tmp/sbx-ww-$$',
    ].join('\n');
    const r = await inside(script);
    const v = verdicts(r.stdout);
    expect(v['after-name'], r.stderr).toBe('refused');
    expect(v.relative, r.stderr).toBe('refused');
    expect(v.leading, r.stderr).toBe('ok');
    expect(r.stderr).toContain(`sbx: denied write ${join(project, 'X')} -> ${project}/ww/../../.bash_aliases (a \`..\` after a name: it climbs from wherever that name is re-pointed)`);
  });

  it('a link to a script in a protected place, or any link in .git, is refused; twin: a venv\'s bin/python to an ELF outside the floors is made', async () => {
    const script = [
      'mkdir -p "$2/venv/bin"',
      attempt('floor-script', `ln -s ${hello} "$2/hello-link"`),
      attempt('script', `ln -s ${shim} "$2/venv/bin/python3"`),
      attempt('git-dir', `rm -f "$1/.git/logs/HEAD" && ln -s ${elf} "$1/.git/logs/HEAD"`),
      attempt('git-dir-twin-file', 'echo x > "$1/.git/logs/HEAD"'),
      // In a git directory no symlink at all, even to a writable file (twin: the same link in the project).
      attempt('git-dir-any', 'echo x > "$2/fetched" && ln -s "$2/fetched" "$1/.git/FETCH_HEAD"'),
      attempt('git-dir-any-twin', 'ln -s "$2/fetched" "$2/FETCH_HEAD"'),
      // Nor in a directory moved in (twin: a directory without links moves in).
      attempt('git-dir-moved', 'mkdir -p "$2/g1" && ln -s fetched "$2/g1/l" && mv "$2/g1" "$1/.git/g1"'),
      attempt('git-dir-moved-twin', 'mkdir -p "$2/g2" && echo x > "$2/g2/f" && mv "$2/g2" "$1/.git/g2"'),
      attempt('venv', `ln -s ${elf} "$2/venv/bin/python"`),
      // git takes a directory with a HEAD for a repository (objects/ and refs/ can come later):
      // no HEAD over a tree holding a symlink, no symlink below a HEAD (twins: without the other).
      attempt('head-over-link', 'mkdir -p "$2/b1/logs" && ln -s "$2/fetched" "$2/b1/logs/L" && echo "ref: refs/heads/m" > "$2/b1/HEAD"'),
      attempt('head-twin', 'mkdir -p "$2/b2/logs" "$2/b2/objects" "$2/b2/refs" && echo x > "$2/b2/logs/L" && echo "ref: refs/heads/m" > "$2/b2/HEAD"'),
      attempt('link-under-head', 'mkdir -p "$2/b3/logs" && echo "ref: refs/heads/m" > "$2/b3/HEAD" && ln -s "$2/fetched" "$2/b3/logs/L"'),
      // A tree moved elsewhere with a repository inside it, made outside with a link in it.
      attempt('nested-moved', 'mkdir -p "$2/dest" && mv "$2/w" "$2/dest/w"'),
      attempt('nested-moved-twin', 'mv "$2/w2" "$2/dest/w2"'),
      attempt('git-init', 'git init -q "$2/gi" && git init -q --bare "$2/gb.git"'),
    ].join('\n');
    for (const w of ['w', 'w2']) {
      const bare = join(project, w, 'r.git');
      rmSync(join(project, w), { recursive: true, force: true });
      for (const d of ['objects', 'refs', 'logs']) mkdirSync(join(bare, d), { recursive: true });
      writeFileSync(join(bare, 'HEAD'), 'ref: refs/heads/m\n');
      if (w === 'w') symlinkSync(join(project, 'fetched'), join(bare, 'logs', 'L'));
    }
    const r = await inside(script);
    const v = verdicts(r.stdout);
    expect(v['floor-script'], r.stderr).toBe('refused');
    expect(v.script, r.stderr).toBe('refused');
    expect(v['git-dir'], r.stderr).toBe('refused');
    expect(v['git-dir-twin-file'], r.stderr).toBe('ok');
    expect(v['git-dir-any'], r.stderr).toBe('refused');
    expect(v['git-dir-any-twin'], r.stderr).toBe('ok');
    expect(v['git-dir-moved'], r.stderr).toBe('refused');
    expect(v['git-dir-moved-twin'], r.stderr).toBe('ok');
    expect(v.venv, r.stderr).toBe('ok');
    expect(v['head-over-link'], r.stderr).toBe('refused');
    expect(v['head-twin'], r.stderr).toBe('ok');
    expect(v['link-under-head'], r.stderr).toBe('refused');
    expect(v['nested-moved'], r.stderr).toBe('refused');
    expect(v['nested-moved-twin'], r.stderr).toBe('ok');
    expect(v['git-init'], r.stderr).toBe('ok');
    expect(r.stderr).toContain(`sbx: denied write ${join(project, 'b1/HEAD')} (a HEAD over a directory holding a symlink: git outside writes through names there)`);
    expect(r.stderr).toContain(`sbx: denied write ${join(project, 'b3/logs/L')} (a symlink in a git directory`);
    expect(r.stderr).toContain(`sbx: denied write ${join(project, 'dest/w/r.git/logs/L')} (a symlink in a git directory`);
    expect(r.stderr).toContain(`sbx: denied write ${join(project, 'hello-link')} -> ${hello} (`);
    expect(r.stderr).toContain(`sbx: denied write ${join(repo, '.git/logs/HEAD')} -> ${elf} (`);
    expect(r.stderr).toContain(`sbx: denied write ${join(repo, '.git/FETCH_HEAD')} (a symlink in a git directory: git outside writes through names there)`);
    expect(r.stderr).toContain(`sbx: denied write ${join(repo, '.git/g1/l')} (a symlink in a git directory`);
    const ran = await sbxExec(['--', join(project, 'venv/bin/python'), 'echo', 'venv-runs'], { env, cwd: project });
    expect(ran.stdout).toContain('venv-runs');
    // The real tool: python3 -m venv links bin/python to the python it ran (a floor's, /usr/bin).
    const venv = await sbxExec(['--', 'sh', '-c', `/usr/bin/python3 -m venv --without-pip "${project}/venv-real" && "${project}/venv-real/bin/python" -c 'print("venv-real-runs")'`], { env, cwd: project });
    expect(venv.stdout, venv.stderr).toContain('venv-real-runs');
  });

  it('end to end: after every refused attempt on .git/logs/HEAD, git outside (checkout -b) leaves the protected files unchanged', async () => {
    rmSync(h('.bash_aliases'), { force: true });
    const script = [
      'cd "$1" && rm -rf .git/logs && mkdir -p .git/logs',
      attempt('proc', 'mkdir -p "$2/d/x" && cd "$2/d/x" && ln -s /proc/self/cwd/../.bash_aliases "$1/.git/logs/HEAD"'),
      'cd "$1"',
      attempt('moved-dir', 'mkdir -p w/q/logs && ln -s ../../../.bash_aliases w/q/logs/HEAD && rm -rf .git/logs && mv w/q/logs .git/logs'),
      attempt('program', `rm -rf .git/logs && mkdir -p .git/logs && ln -s ${hello} .git/logs/HEAD`),
      attempt('editmsg', 'ln -sf /proc/self/cwd/../.bashrc .git/COMMIT_EDITMSG'),
      'mkdir -p .git/logs',
    ].join('\n');
    const r = await inside(script);
    const v = verdicts(r.stdout);
    for (const tag of ['proc', 'moved-dir', 'program', 'editmsg']) expect(v[tag], `${tag}\n${r.stderr}`).toBe('refused');
    git('checkout', '-q', '-b', 'x');
    git('checkout', '-q', 'master');
    expect(existsSync(h('.bash_aliases'))).toBe(false);
    expect(readFileSync(hello, 'utf8')).toBe('#!/bin/sh\necho hello from my tool\n');
    expect(readFileSync(h('.bashrc'), 'utf8')).toBe('# rc\n');
    expect(readFileSync(join(repo, '.git/logs/HEAD'), 'utf8')).toContain('checkout: moving from x to master'); // git's own reflog, a plain file
  });
});

// Found as root: the default `sbx exec` policy lets writes through wherever no floor is, and
// a write rule on /dev/null let `mv /tmp/x /dev/null` (and onto /dev/stdout) replace the entry
// for every process on the machine.
describe('names in /dev', () => {
  it('are never made (a new file included), removed, moved or replaced from inside (twins: writing through /dev/null, and names in /dev/shm, work)', async () => {
    const inside = (script: string) => sbxExec(['--', 'sh', '-c', script], { env, cwd: project });
    const script = [
      `echo x > "${project}/q"`,
      attempt('onto-null', `mv "${project}/q" /dev/null`),
      attempt('onto-stdout', `cp "${project}/q" "${project}/q2" && mv "${project}/q2" /dev/stdout`),
      attempt('remove-null', 'rm -f /dev/null'),
      attempt('move-null', `mv /dev/null "${project}/n"`),
      attempt('new-link', `ln -s "${project}/q" /dev/sbx-test-link`),
      attempt('new-dir', 'mkdir /dev/sbx-test-dir'),
      attempt('new-file', 'echo x > /dev/sbx-test-file'),
      attempt('new-socket', `python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("/dev/sbx-test-sock")'`),
      attempt('shm-socket', `python3 -c 'import socket,os; p="/dev/shm/sbx-test-sock-%d" % os.getpid(); socket.socket(socket.AF_UNIX).bind(p); os.unlink(p)'`),
      attempt('write-through', 'echo hi > /dev/null'),
      attempt('shm', 'echo x > /dev/shm/sbx-test-$$ && mv /dev/shm/sbx-test-$$ /dev/shm/sbx-test2-$$ && rm /dev/shm/sbx-test2-$$'),
    ].join('\n');
    const r = await inside(script);
    // A regression must not leave the machine without /dev/null for the rest of the run.
    const nullOk = statSync('/dev/null').isCharacterDevice();
    const stdoutOk = lstatSync('/dev/stdout').isSymbolicLink();
    if (!nullOk) execFileSync('sh', ['-c', 'rm -f /dev/null && mknod -m 666 /dev/null c 1 3']);
    if (!stdoutOk) execFileSync('sh', ['-c', 'rm -f /dev/stdout && ln -s /proc/self/fd/1 /dev/stdout']);
    rmSync('/dev/sbx-test-dir', { recursive: true, force: true });
    rmSync('/dev/sbx-test-link', { force: true });
    rmSync('/dev/sbx-test-file', { force: true });
    rmSync('/dev/sbx-test-sock', { force: true });
    const v = verdicts(r.stdout);
    for (const tag of ['onto-null', 'onto-stdout', 'remove-null', 'move-null', 'new-link', 'new-dir', 'new-file', 'new-socket']) expect(v[tag], `${tag}\n${r.stderr}`).toBe('refused');
    expect(v['write-through'], r.stderr).toBe('ok');
    expect(v.shm, r.stderr).toBe('ok');
    expect(v['shm-socket'], r.stderr).toBe('ok');
    expect(nullOk).toBe(true);
    expect(stdoutOk).toBe(true);
    expect(r.stderr).toContain('sbx: denied write /dev/null (a name in /dev or a device node: written through, never made, removed, moved or replaced)');
  });
});

describe("sbx's records of every session", () => {
  it('the violation log, the supervisor log and the trust db are unreadable inside (twin: readable outside; the hook cache in the same dir is read inside)', async () => {
    const state = h('.local/state/sbx'); // env keeps XDG_STATE_HOME at its default
    mkdirSync(join(state, 'hook-cache'), { recursive: true });
    const records = ['violations.jsonl', 'violations.jsonl.1', 'supervisor.log', 'trust.json'].map((f) => join(state, f));
    for (const f of records) writeFileSync(f, `another session's record ${f}\n`, { flag: 'a' });
    writeFileSync(join(state, 'hook-cache', 'bash'), '# cached hook\n');
    const script = [...records, join(state, 'hook-cache', 'bash')].map((f) => `cat ${f} >/dev/null 2>&1 && echo "read ${f}" || echo "refused ${f}"`).join('\n');
    const r = await sbxExec(['--', 'sh', '-c', script], { env, cwd: project });
    for (const f of records) {
      expect(readFileSync(f, 'utf8')).toContain('record'); // outside
      expect(r.stdout, r.stderr).toContain(`refused ${f}`);
    }
    expect(r.stdout).toContain(`read ${join(state, 'hook-cache', 'bash')}`);
    expect(r.stderr).toContain(`sbx: denied read ${join(state, 'violations.jsonl')} (built-in: sbx's records of every session`);
  });
});

describe('what tools outside walk up to or find on PATH, wherever the sandbox starts (default policy)', () => {
  // npm run puts every ancestor's node_modules/.bin first on PATH; pytest, cargo, mise and
  // the rest read their walk-up files from each directory above. The home is above every
  // project, and a new terminal starts in it.
  const HOME_WALK_UP = ['node_modules/.bin/node', 'package.json', 'conftest.py', 'pyproject.toml', 'rust-toolchain.toml', 'mise.toml'];
  const notes = h('notes/ok.txt');

  it('the home\'s walk-up files are refused with the home as the working directory, and from outside the home (twins: writable outside; a plain file of the home is written inside)', async () => {
    for (const p of HOME_WALK_UP) {
      mkdirSync(dirname(h(`${p}.outside-twin`)), { recursive: true });
      appendFileSync(h(`${p}.outside-twin`), 'outside\n');
    }
    const elsewhere = join(world.dir, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    for (const cwd of [home, elsewhere]) {
      const { verdicts, stderr } = await writeInside([...HOME_WALK_UP.map(h), notes], [], { cwd });
      for (const p of HOME_WALK_UP) expect(verdicts[h(p)], `${p} from ${cwd}\n${stderr}`).toBe('refused');
      expect(verdicts[notes], stderr).toBe('ok');
    }
    for (const p of HOME_WALK_UP) expect(existsSync(h(p)), p).toBe(false);
  });

  it('/dev/shm (writable under every policy) has the walk-up floors of the temp dirs\' tops (twin: another name there is written inside)', async () => {
    const tag = `sbx-test-${process.pid}`;
    const { verdicts, stderr } = await writeInside(['/dev/shm/package.json', `/dev/shm/${tag}.txt`]);
    expect(verdicts['/dev/shm/package.json'], stderr).toBe('refused');
    expect(verdicts[`/dev/shm/${tag}.txt`], stderr).toBe('ok');
    expect(stderr).toContain('sbx: denied write /dev/shm/package.json (default protect (protect: preset persistence)');
  });

  it('a marker in the home (a pyproject.toml, a package.json made outside) does not lift the home\'s floors (twin: it does lift them in a monorepo root above the project)', async () => {
    writeFileSync(h('pyproject.toml'), '[project]\nname = "home"\n');
    writeFileSync(h('package.json'), '{}\n');
    const root = join(world.dir, 'mono');
    mkdirSync(join(root, 'pkg'), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{"workspaces":["pkg"]}\n');
    try {
      const { verdicts, stderr } = await writeInside([h('conftest.py'), h('node_modules/.bin/node'), join(root, 'node_modules/.bin/tool')], [], { cwd: join(root, 'pkg') });
      expect(verdicts[h('conftest.py')], stderr).toBe('refused');
      expect(verdicts[h('node_modules/.bin/node')], stderr).toBe('refused');
      expect(verdicts[join(root, 'node_modules/.bin/tool')], stderr).toBe('ok');
    } finally {
      rmSync(h('pyproject.toml'));
      rmSync(h('package.json'));
    }
  });

  it('a PATH directory outside the home, and the whole virtualenv a PATH entry is the bin/ of, are refused (twins: writable outside; their siblings are written inside)', async () => {
    const brew = join(world.dir, 'brew');
    const venv = h('venvs/tools');
    mkdirSync(join(brew, 'bin'), { recursive: true });
    mkdirSync(join(venv, 'bin'), { recursive: true });
    writeFileSync(join(venv, 'pyvenv.cfg'), 'home = /usr/bin\n');
    const pth = join(venv, 'lib/python3.11/site-packages/zz.pth');
    const places = [join(brew, 'bin/git'), join(venv, 'bin/pip'), pth];
    for (const p of places) {
      mkdirSync(dirname(p), { recursive: true });
      appendFileSync(`${p}.outside-twin`, 'outside\n');
    }
    const pathEnv = { ...env, PATH: `${join(brew, 'bin')}:${join(venv, 'bin')}:${env.PATH}` };
    const siblings = [join(brew, 'notes.txt'), h('venvs/notes.txt')];
    const { verdicts, stderr } = await writeInside([...places, ...siblings], [], { env: pathEnv });
    for (const p of places) expect(verdicts[p], `${p}\n${stderr}`).toBe('refused');
    for (const p of siblings) expect(verdicts[p], `${p}\n${stderr}`).toBe('ok');
    expect(existsSync(pth)).toBe(false);
  });

  it('a PATH entry whose environment is not made yet is floored whole: a virtualenv the user makes while the sandbox runs has its site-packages refused (twin: a sibling environment not on PATH is written)', async () => {
    const later = h('venvs/later');
    const other = h('venvs/other');
    const pathEnv = { ...env, PATH: `${join(later, 'bin')}:${env.PATH}` };
    const pth = join(later, 'lib/python3.11/site-packages/zz.pth');
    mkdirSync(h('venvs'), { recursive: true }); // where the user keeps environments
    // The sandbox starts first; the user makes the environment outside meanwhile; then the write.
    const script = `while [ ! -e ${later}/pyvenv.cfg ]; do sleep 0.05; done; if echo x >> ${pth}; then echo "ok later"; else echo "refused later"; fi; if mkdir -p ${other} && echo x >> ${other}/x.pth; then echo "ok other"; else echo "refused other"; fi`;
    const run = sbxExec(['--', 'sh', '-c', script], { env: pathEnv, cwd: project });
    await new Promise((r) => setTimeout(r, 500));
    mkdirSync(dirname(pth), { recursive: true });
    writeFileSync(join(later, 'pyvenv.cfg'), 'home = /usr/bin\n');
    const r = await run;
    expect(r.stdout, r.stderr).toContain('refused later');
    expect(r.stdout, r.stderr).toContain('ok other');
    expect(existsSync(pth)).toBe(false);
  });
});

describe("cargo's registry and go's module cache under the rust and go presets (builds outside run what they hold)", () => {
  // A crate's build.rs in ~/.cargo/registry/src runs in the next `cargo build` outside of any
  // project using that crate; a module in ~/go/pkg/mod is compiled into the next go build.
  const FOOTHOLDS = [
    '.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde-1.0.0/build.rs',
    '.cargo/git/checkouts/dep-0123/abcdef0/build.rs',
    '.cargo/registry/cache/index.crates.io-1949cf8c6b5b557f/serde-1.0.0.crate',
    'go/pkg/mod/github.com/x/y@v1.0.0/y.go',
    'go/pkg/mod/cache/download/github.com/x/y/@v/v1.0.0.zip',
    '.rustup/tmp/k3j2_dir/rustc/bin/rustc', // what the next rustup install outside moves into toolchains/
  ];
  const policyFile = join(world.dir, 'presets.sbx.yaml');
  const withPresets = ['--policy', policyFile];

  it('are refused inside, each writable outside (twin); the sandbox\'s own cargo home and module cache are written instead', async () => {
    writeFileSync(policyFile, 'version: 1\nextends: [rust, go]\n');
    for (const p of FOOTHOLDS) {
      mkdirSync(dirname(h(p)), { recursive: true });
      appendFileSync(h(`${p}.outside-twin`), 'outside\n');
      expect(readFileSync(h(`${p}.outside-twin`), 'utf8')).toBe('outside\n');
    }
    const { verdicts, stderr } = await writeInside(FOOTHOLDS.map(h), withPresets);
    for (const p of FOOTHOLDS) expect(verdicts[h(p)], `${p}\n${stderr}`).toBe('refused');
    for (const p of FOOTHOLDS) expect(existsSync(h(p)), p).toBe(false);
    // Twin inside: where cargo and go are pointed, the same writes go through.
    const c = h('.cache/sbx-sandbox');
    const own = [join(c, 'cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde-1.0.0/build.rs'), join(c, 'go-mod/github.com/x/y@v1.0.0/y.go')];
    const inside = await writeInside(own, withPresets);
    for (const p of own) expect(inside.verdicts[p], `${p}\n${inside.stderr}`).toBe('ok');
  });

  it("go reads what was downloaded outside through GOPROXY's file form; without a cache outside GOPROXY is left alone", async () => {
    const download = h('go/pkg/mod/cache/download');
    const show = () => sbxExec([...withPresets, '--', 'sh', '-c', 'echo "GOPROXY=${GOPROXY-unset}"'], { env: { ...env, GOPROXY: 'https://goproxy.example' }, cwd: project });
    rmSync(h('go'), { recursive: true, force: true });
    expect((await show()).stdout.trim()).toBe('GOPROXY=https://goproxy.example');
    mkdirSync(download, { recursive: true });
    expect((await show()).stdout.trim()).toBe(`GOPROXY=file://${download},https://goproxy.example`);
  });

  // The real tool, where this machine has one (root's rustup here; .ci/run installs none).
  const rustupHome = '/root/.rustup';
  const cargo = '/root/.cargo/bin/cargo';
  const hasCargo = existsSync(cargo) && existsSync(rustupHome);
  it.skipIf(!hasCargo)('cargo builds inside with its home moved, and writes nothing under ~/.cargo (not applicable without root\'s rustup)', async () => {
    writeFileSync(policyFile, 'version: 1\nextends: [rust, go]\n');
    const crate = join(project, 'hello');
    rmSync(crate, { recursive: true, force: true });
    const cargoEnv = { ...env, RUSTUP_HOME: rustupHome, PATH: `/root/.cargo/bin:${env.PATH}` };
    const listing = () => (readdirSync(h('.cargo'), { recursive: true }) as string[]).sort();
    const before = listing();
    const r = await sbxExec([...withPresets, '--allow-write', project, '--', 'sh', '-c', `cargo new -q --vcs none ${crate} && cd ${crate} && cargo build -q --offline && ./target/debug/hello`], { env: cargoEnv, cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Hello, world!');
    expect(listing()).toEqual(before);
  });
});
