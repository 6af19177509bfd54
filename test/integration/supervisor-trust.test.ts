/**
 * Trust that cannot be talked around, in real sessions (real launcher, keeper, engine,
 * supervisor). Each denial has its allowed twin in the same run.
 *   - a broken policy file keeps its last good version when the shell re-enters, and after
 *     the supervisor restarts; with no good version, the strict fallback (not the defaults);
 *     the error names file:line:col every time;
 *   - the default floor denies writing every persistence target, the project stays writable;
 *   - a missing `~/.config` cannot be created (as a symlink, a directory or by a rename),
 *     and a symlinked one is not read by sbx;
 *   - `sbx check` says what the session does (the policy file in force; an untrusted host
 *     name re-allowing a user-denied address);
 *   - `use sandbox FILE` with `extends:` and `commands:` behaves like the same text in
 *     `.sbx.yaml`, and `sbx trust FILE` trusts it.
 * The sandboxes live OUTSIDE /tmp (the strict fallback keeps /tmp writable, so a home under
 * it could not show a denial): under test/.work/ in the repository (see outsideTmp).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fixture, tcpServers, writeHostsFile, type Servers } from './net-helpers.js';
import { makeProject, makeSandbox, PUSH_FN, root, sbxBin, until, type Sandbox } from './supervisor-helpers.js';
import { execaSync } from 'execa';

/**
 * A sandbox whose home is not under a temp dir: test/.work in the repository, or in the
 * runner's home when the repository itself is in one (a checkout in /tmp).
 */
function outsideTmp(name: string): Sandbox {
  const underTemp = ['/tmp', '/var/tmp', '/dev/shm'].some((t) => root === t || root.startsWith(`${t}/`));
  const base = underTemp ? join(homedir(), '.cache', 'sbx-test-work') : join(root, 'test', '.work');
  mkdirSync(base, { recursive: true });
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = base;
  try {
    return makeSandbox(name);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

/** `name ok|fail` for a command's success. */
const t = (name: string, cmd: string) => `if ${cmd} >/dev/null 2>&1; then echo "${name} ok"; else echo "${name} fail"; fi`;
const isRoot = process.getuid?.() === 0;

let sb: Sandbox;
let servers: Servers;
beforeAll(async () => {
  sb = outsideTmp('trust');
  servers = await tcpServers({ '127.0.0.2': 'hello from svc', '127.0.0.7': 'hello from ok' });
  const hosts = writeHostsFile(sb.dir, { '127.0.0.2': ['svc.test'], '127.0.0.7': ['ok.test'] });
  sb.env.SBX_DAEMON_HOSTS_FILE = hosts; // the supervisor's resolver
  sb.env.SBX_HOSTS_FILE = hosts; // sbx check's
  // A PATH directory under the home: part of the default floor.
  sb.env.PATH = `${join(sb.home, 'tools', 'bin')}:${sb.env.PATH}`;
});
afterAll(async () => {
  sb?.cleanup();
  await servers?.close();
});

const userConfig = (text: string | undefined) => {
  const f = join(sb.config, 'config.yaml');
  if (text === undefined) rmSync(f, { force: true });
  else {
    mkdirSync(sb.config, { recursive: true });
    writeFileSync(f, text);
  }
};

describe('a broken policy file', () => {
  it('keeps its last good version on re-entry and after a supervisor restart, saying file:line:col each time; with no good version: the strict fallback', { timeout: 120_000 }, () => {
    userConfig(undefined);
    const p = makeProject(join(sb.home, 'lg'), 'version: 1\nread:\n  deny: ["secret.txt"]\nwrite:\n  deny: ["locked"]\n');
    const file = join(p, '.sbx.yaml');
    const probe = [t('read-secret', 'cat secret.txt'), t('read-public', 'cat public.txt'), t('write-locked', 'touch locked'), t('write-notes', 'touch notes')].join('\n');
    // First visit: the file is good (and becomes its last good version).
    let r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD" >/dev/null\n${probe}`], { cwd: p });
    expect(r.stdout).toContain('read-secret fail');
    expect(r.stdout).toContain('read-public ok');

    // Broken (by an editor outside the sandbox): leaving and entering again keeps the last good.
    writeFileSync(file, 'version: 1\nread:\n  deny: [secret.txt\nwrite: {}\n');
    const enter = `push "cd${sb.home}" >/dev/null; cd ${p}; push "cd$PWD"`;
    r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\ncd ${sb.home}\n${enter}\n${probe}\ncd ${sb.home}\n${enter}`], { cwd: sb.home });
    const where = new RegExp(`reply: notice sbx: ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: .*last good policy kept`, 'g');
    expect(r.stdout.match(where)?.length).toBe(2); // every time the shell enters
    expect(r.stdout).toMatch(/reply: prompt sbx:lg!/);
    expect(r.stdout).toContain('read-secret fail');
    expect(r.stdout).toContain('write-locked fail');
    expect(r.stdout).toContain('read-public ok');
    expect(r.stdout).toContain('write-notes ok');
    // sbx check explains the same thing.
    const check = sb.sbx(['check', '--dir', p, 'read', join(p, 'secret.txt')]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('its last good version is in force');

    // A new supervisor reads the last good version from sbx's state.
    const old = sb.supervisorPid();
    expect(sb.sbx(['daemon', 'stop']).code).toBe(0);
    r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD"\n${probe}`], { cwd: p });
    expect(sb.supervisorPid()).not.toBe(old);
    expect(r.stdout).toMatch(where);
    expect(r.stdout).toContain('read-secret fail');
    expect(r.stdout).toContain('read-public ok');

    // Fixed: the new version applies, and the warning is gone.
    writeFileSync(file, 'version: 1\nread:\n  deny: ["public.txt"]\n');
    r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD"\n${probe}`], { cwd: p });
    expect(r.stdout).not.toContain('last good');
    expect(r.stdout).toContain('read-secret ok');
    expect(r.stdout).toContain('read-public fail');
  });

  it('with no good version known: the strict fallback, never the defaults', { timeout: 120_000 }, async () => {
    userConfig(undefined);
    const q = makeProject(join(sb.home, 'fb'), 'version: 1\nraed:\n  deny: ["secret.txt"]\n');
    writeFileSync(join(sb.home, 'elsewhere.txt'), 'ELSEWHERE\n');
    const probe = [
      t('read-secret', 'cat secret.txt'),
      t('write-project', 'touch new-file'),
      t('write-tmp', `touch /tmp/sbx-fallback-${process.pid}`),
      t('read-elsewhere', `cat ${join(sb.home, 'elsewhere.txt')}`),
      t('write-elsewhere', `touch ${join(sb.home, 'elsewhere-new')}`),
      t('net', `${fixture('net_client')} tcp 127.0.0.7 ${servers.port}`),
    ].join('\n');
    // The defaults (no file at all) allow all of it: the twin.
    const plain = join(sb.home, 'plain');
    mkdirSync(plain, { recursive: true });
    writeFileSync(join(plain, 'secret.txt'), 'S\n');
    let r = await sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD" >/dev/null\n${probe}`], { cwd: plain }).done;
    for (const n of ['read-secret', 'write-project', 'write-tmp', 'read-elsewhere', 'write-elsewhere', 'net']) expect(r.stdout).toContain(`${n} ok`);
    r = await sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD"\n${probe}`], { cwd: q }).done;
    expect(r.stdout).toMatch(new RegExp(`reply: notice sbx: ${join(q, '.sbx.yaml').replace(/[.]/g, '\\.')}:2:1: raed: unknown key.*strict fallback`));
    expect(r.stdout).toContain('read-secret ok'); // the project is readable…
    expect(r.stdout).toContain('write-project ok'); // …and writable
    expect(r.stdout).toContain('write-tmp ok');
    expect(r.stdout).toContain('read-elsewhere fail');
    expect(r.stdout).toContain('write-elsewhere fail');
    expect(r.stdout).toContain('net fail');
    rmSync(`/tmp/sbx-fallback-${process.pid}`, { force: true });
  });
});

describe('the default floor: nothing that later runs code outside the sandbox is writable', () => {
  it('rc files, autostart, systemd user units (in the runtime dir too), session-bus services, user tmpfiles, PATH dirs in the home, git config/hooks/info of every repository, ~/.ssh, cron spools, /sys (and /etc, /proc/sys for root); the project stays writable', { timeout: 120_000 }, () => {
    userConfig(undefined);
    const h = sb.home;
    const runtime = sb.env.XDG_RUNTIME_DIR!;
    const p = join(h, 'floorp');
    const other = join(h, 'other-repo');
    const dirs = [
      join(h, '.config/fish/conf.d'),
      join(h, '.config/systemd/user'),
      join(h, '.local/share/systemd/user'),
      join(h, '.config/autostart'),
      join(h, '.config/environment.d'),
      join(h, '.local/bin'),
      join(h, 'tools/bin'),
      join(h, '.config/git'),
      join(h, '.ssh'),
      join(p, '.git/hooks'),
      join(p, '.git/info'),
      join(p, '.git/objects'),
      join(other, '.git'),
      join(h, '.config/other'),
      join(h, '.local/share/app'),
      join(h, 'node_modules/.bin'),
      join(p, 'node_modules/.bin'),
      join(runtime, 'systemd/user'),
      join(runtime, 'dbus-1/services'),
      join(runtime, 'user-tmpfiles.d'),
      join(runtime, 'some-tool'),
    ];
    for (const d of dirs) mkdirSync(d, { recursive: true });
    for (const f of ['.bashrc', '.bash_profile', '.profile', '.zshrc', '.zprofile', '.zshenv', '.zlogin', '.inputrc', '.gitconfig', '.config/fish/config.fish', '.config/git/config'])
      writeFileSync(join(h, f), '# rc\n');
    writeFileSync(join(p, '.git/config'), '[core]\n');
    writeFileSync(join(other, '.git/config'), '[core]\n');
    const targets: Record<string, string> = {
      bashrc: join(h, '.bashrc'),
      bash_profile: join(h, '.bash_profile'),
      profile: join(h, '.profile'),
      zshrc: join(h, '.zshrc'),
      zprofile: join(h, '.zprofile'),
      zshenv: join(h, '.zshenv'),
      zlogin: join(h, '.zlogin'),
      inputrc: join(h, '.inputrc'),
      fish: join(h, '.config/fish/config.fish'),
      'fish-conf.d': join(h, '.config/fish/conf.d/evil.fish'),
      'systemd-user': join(h, '.config/systemd/user/evil.service'),
      'systemd-data': join(h, '.local/share/systemd/user/evil.service'),
      autostart: join(h, '.config/autostart/evil.desktop'),
      'environment.d': join(h, '.config/environment.d/evil.conf'),
      'local-bin': join(h, '.local/bin/git'),
      'path-dir': join(h, 'tools/bin/git'),
      // npm run outside puts every ancestor's node_modules/.bin first on PATH, and require()
      // walks up to ~/node_modules: a home-wide plant for every project below.
      'home-node-modules': join(h, 'node_modules/.bin/tsc'),
      // bundler, pytest and rustup also take the nearest of theirs above (presets.ts WALK_UP).
      'home-gemfile': join(h, 'Gemfile'),
      'home-conftest': join(h, 'conftest.py'),
      'home-rust-toolchain': join(h, 'rust-toolchain.toml'),
      gitconfig: join(h, '.gitconfig'),
      'config-git': join(h, '.config/git/config'),
      'git-config': join(p, '.git/config'),
      // mise trusts a project's config by path and runs its [hooks] and [env] _.source outside.
      'mise-toml': join(p, 'mise.toml'),
      'git-hook': join(p, '.git/hooks/pre-commit'),
      'git-info': join(p, '.git/info/exclude'),
      'other-repo-config': join(other, '.git/config'),
      'ssh-keys': join(h, '.ssh/authorized_keys'),
      // The crontab spool (created as a directory when this machine has none).
      cron: existsSync('/var/spool/cron/crontabs') ? '/var/spool/cron/crontabs/sbx-floor-test' : existsSync('/var/spool/cron') ? '/var/spool/cron/sbx-floor-test' : '/var/spool/cron',
      ...(isRoot
        ? {
            etc: '/etc/sbx-floor-test',
            'proc-sys': '/proc/sys/kernel/sbx-floor-test',
            // A .pth runs in every python, a library in every program, a unit at the next boot.
            'usr-lib': '/usr/lib/python3/dist-packages/sbx-floor-test.pth',
            'var-lib': '/var/lib/sbx-floor-test',
            opt: '/opt/sbx-floor-test',
            // What cron, systemd and services run or connect to later, and other users' shells.
            'var-spool': '/var/spool/sbx-floor-test',
            run: '/run/sbx-floor-test',
            srv: '/srv/sbx-floor-test',
            'other-user-rc': '/home/sbx-floor-other/.bashrc',
          }
        : {}),
      // The kernel's process controls, for every user (built-in: kernel-control.ts).
      sys: '/sys/sbx-floor-test',
      // Read from $XDG_RUNTIME_DIR by programs outside: the user's systemd loads units from
      // systemd/user (and its other runtime unit dirs), the session bus activates services
      // from dbus-1/services (watched: the next program that asks for that name runs it), and
      // `systemd-tmpfiles --user` applies user-tmpfiles.d (which can write any file of yours).
      'runtime-systemd': join(runtime, 'systemd/user/evil.service'),
      'runtime-dbus': join(runtime, 'dbus-1/services/org.example.Evil.service'),
      'runtime-tmpfiles': join(runtime, 'user-tmpfiles.d/evil.conf'),
    };
    const homeConfig: Record<string, string> = {
      'config-other': join(h, '.config/other/settings'),
      'data-other': join(h, '.local/share/app/db'),
      'tmux-conf': join(h, '.tmux.conf'),
      'cache-other': join(h, '.cache/app/db'),
      // SETUVAR --export reaches every program an outside fish starts (here $XDG_CONFIG_HOME is
      // outside the home: the same rule covers it).
      'fish-variables': join(sb.env.XDG_CONFIG_HOME ?? join(h, '.config'), 'fish/fish_variables'),
      // The runtime dir as a class: an agent's env file a login rc sources, another tool's state.
      'runtime-agent-env': join(runtime, 'ssh-agent.env'),
      'runtime-other': join(runtime, 'some-tool/state'),
    };
    const twins: Record<string, string> = {
      'project-file': join(p, 'notes.txt'),
      'git-object': join(p, '.git/objects/ab'),
      'home-notes': join(h, 'notes/todo.txt'),
      'project-node-modules': join(p, 'node_modules/.bin/tsc'),
      'project-gemfile': join(p, 'Gemfile'),
      'project-conftest': join(p, 'conftest.py'),
    };
    const script = [
      ...Object.entries(targets).map(([n, f]) => t(n, f === '/var/spool/cron' ? `mkdir ${f}` : `sh -c 'echo evil >> ${f}'`)),
      // A new repository's .git may be made (git init works inside), but nothing that runs
      // code can be put in it: its config and hooks stay floors (escape-git.test.ts).
      t('new-repo', `mkdir ${join(p, 'sub')} && mkdir ${join(p, 'sub/.git')}`),
      t('new-repo-config', `sh -c 'printf "[core]\\n\\tfsmonitor = evil\\n" > ${join(p, 'sub/.git/config')}'`),
      t('new-repo-hook', `mkdir ${join(p, 'sub/.git/hooks')}`),
      t('read-bashrc', `cat ${join(h, '.bashrc')}`),
      ...Object.entries(twins).map(([n, f]) => t(n, `sh -c 'echo ok >> ${f}'`)),
      // Not in the floor's list, refused as home configuration (the class: src/policy/home-config.ts).
      ...Object.entries(homeConfig).map(([n, f]) => t(n, `sh -c 'echo evil >> ${f}'`)),
    ].join('\n');
    mkdirSync(p, { recursive: true });
    mkdirSync(join(h, 'notes'), { recursive: true });
    for (const f of Object.values(homeConfig)) mkdirSync(dirname(f), { recursive: true });
    if (isRoot) mkdirSync('/home/sbx-floor-other', { recursive: true });
    const r = sb.sbx(['shell', '--', 'sh', '-c', script], { cwd: p });
    if (isRoot) rmSync('/home/sbx-floor-other', { recursive: true, force: true });
    for (const n of [...Object.keys(targets), ...Object.keys(homeConfig), 'new-repo-config', 'new-repo-hook']) expect(r.stdout, n).toContain(`${n} fail`);
    for (const n of [...Object.keys(twins), 'read-bashrc', 'new-repo']) expect(r.stdout, n).toContain(`${n} ok`);
    // Refused by the floor (not by a missing directory): each target is in the log.
    const log = sb.log();
    for (const [n, f] of Object.entries({ ...targets, ...homeConfig })) expect(log.some((v) => v.kind === 'deny' && v.op === 'write' && v.target === f), n).toBe(true);
    expect(readFileSync(join(h, '.bashrc'), 'utf8')).toBe('# rc\n');
    expect(existsSync('/etc/sbx-floor-test')).toBe(false);
    expect(existsSync(targets.cron!) && targets.cron === '/var/spool/cron').toBe(false);
  });
});

describe('~/.config cannot be planted', () => {
  let sc: Sandbox;
  beforeAll(() => {
    sc = outsideTmp('cfg');
    // sbx's config lives in ~/.config/sbx here (no XDG_CONFIG_HOME), and ~/.config is missing.
    delete sc.env.XDG_CONFIG_HOME;
  });
  afterAll(() => sc?.cleanup());

  it('a missing ~/.config cannot be created as a symlink, a directory or by a rename; a sibling can', { timeout: 60_000 }, () => {
    const evil = join(sc.dir, 'evil');
    mkdirSync(join(evil, 'sbx'), { recursive: true });
    writeFileSync(join(evil, 'sbx', 'config.yaml'), 'version: 1\nprotect: []\nextends: []\n');
    const cfg = join(sc.home, '.config');
    const script = [
      t('symlink', `ln -s ${evil} ${cfg}`),
      t('mkdir', `mkdir ${cfg}`),
      t('rename', `mkdir ${sc.home}/staged && mv ${sc.home}/staged ${cfg}`),
      t('symlink-twin', `ln -s ${evil} ${sc.home}/configx`),
      t('mkdir-twin', `mkdir ${sc.home}/cache2`),
    ].join('\n');
    const r = sc.sbx(['shell', '--', 'sh', '-c', script]);
    for (const n of ['symlink', 'mkdir', 'rename']) expect(r.stdout, n).toContain(`${n} fail`);
    for (const n of ['symlink-twin', 'mkdir-twin']) expect(r.stdout, n).toContain(`${n} ok`);
    expect(existsSync(cfg)).toBe(false);
  });

  it('a symlinked ~/.config (planted before) is not read: strict fallback and a clear error; a real one is read', { timeout: 60_000 }, () => {
    const evil = join(sc.dir, 'evil2');
    mkdirSync(join(evil, 'sbx'), { recursive: true });
    const lax = 'version: 1\nprotect: []\nextends: []\n';
    writeFileSync(join(evil, 'sbx', 'config.yaml'), lax);
    mkdirSync(join(sc.home, '.ssh'), { recursive: true });
    writeFileSync(join(sc.home, '.ssh', 'id_rsa'), 'KEY\n');
    const cfg = join(sc.home, '.config');
    symlinkSync(evil, cfg);
    sc.sbx(['daemon', 'stop']);
    let check = sc.sbx(['check', 'read', join(sc.home, '.ssh', 'id_rsa')]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`${cfg} is a symbolic link`);
    let r = sc.sbx(['shell', '--', 'sh', '-c', t('read-key', `cat ${join(sc.home, '.ssh', 'id_rsa')}`)]);
    expect(r.stdout).toContain('read-key fail');
    // The twin: the same file in a real directory is the user's policy (it lifts the secrets floor).
    rmSync(cfg);
    mkdirSync(join(cfg, 'sbx'), { recursive: true });
    writeFileSync(join(cfg, 'sbx', 'config.yaml'), lax);
    check = sc.sbx(['check', 'read', join(sc.home, '.ssh', 'id_rsa')]);
    expect(check.code).toBe(0);
    r = sc.sbx(['shell', '--', 'sh', '-c', t('read-key', `cat ${join(sc.home, '.ssh', 'id_rsa')}`)]);
    expect(r.stdout).toContain('read-key ok');
  });
});

describe('sbx check says what the session does', () => {
  it('the policy file in force is not writable (check: denied; session: refused); another file is', { timeout: 60_000 }, () => {
    userConfig(undefined);
    const p = makeProject(join(sb.home, 'chk'));
    const denied = sb.sbx(['check', 'write', '.sbx.yaml'], { cwd: p });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain('built-in: policy files');
    expect(sb.sbx(['check', 'write', 'notes.txt'], { cwd: p }).code).toBe(0);
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD" >/dev/null\n${t('write-policy', 'sh -c "echo x >> .sbx.yaml"')}\n${t('write-notes', 'sh -c "echo x >> notes.txt"')}`], { cwd: p });
    expect(r.stdout).toContain('write-policy fail');
    expect(r.stdout).toContain('write-notes ok');
  });

  // helper-77 #10: a `--policy FILE` was protected only in the session it was in force in;
  // another sandbox rewrote it (`mode: audit`) and the user's next run took that.
  it("a file the user named with sbx exec --policy is not writable from another sandbox afterwards (served, and in its own process); twin: a file beside it is", { timeout: 60_000 }, () => {
    userConfig(undefined);
    const dir = join(sb.home, 'named-policies');
    mkdirSync(dir, { recursive: true });
    const agent = join(dir, 'agent.yaml');
    writeFileSync(agent, 'version: 1\nread: { deny: ["secret.txt"] }\n');
    const p = makeProject(join(sb.home, 'named-proj'));
    for (const [how, env] of [['served', {}], ['own process', { SBX_NO_FAST: '1' }]] as const) {
      expect(sb.sbx(['exec', '--policy', agent, '--', 'true'], { cwd: p, env }).code, how).toBe(0);
      const r = sb.sbx(['exec', '--', 'sh', '-c', `${t('write-named', `sh -c "echo 'mode: audit' >> ${agent}"`)}\n${t('write-beside', `sh -c "echo x >> ${join(dir, 'notes.txt')}"`)}`], { cwd: p, env });
      expect(r.stdout, `${how}: ${r.stderr}`).toContain('write-named fail');
      expect(r.stdout, how).toContain('write-beside ok');
    }
    expect(readFileSync(agent, 'utf8')).not.toContain('audit');
    // `sbx untrust` ends it: the file is the user's again.
    expect(sb.sbx(['untrust', agent]).code).toBe(0);
  });

  // helper-79 #10, #03: a sandbox already running when the file was named (its policy was
  // built before), or a hard link made before, still wrote it: the content named is pinned.
  it('a --policy file changed after it was named (by a sandbox that ran before) can only narrow until sbx trust; twin: once trusted, the change applies', { timeout: 60_000 }, async () => {
    userConfig(undefined);
    const p = makeProject(join(sb.home, 'pinned-proj'));
    writeFileSync(join(p, 'secret.txt'), 'PINNED-SECRET\n');
    const agent = join(sb.home, 'pinned-agent.yaml');
    writeFileSync(agent, 'version: 1\nread: { deny: ["secret.txt"] }\n');
    const go = join(sb.home, 'pinned-go');
    const ready = join(sb.home, 'pinned-ready');
    const early = sb.spawnSbxEnv(['exec', '--', 'sh', '-c', `echo x > ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done; printf 'version: 1\\nmode: audit\\n' > ${agent}`], {}, p);
    await until('the early sandbox', () => existsSync(ready) || undefined, 30_000);
    const read = () => sb.sbx(['exec', '--policy', agent, '--', 'cat', 'secret.txt'], { cwd: p });
    expect(read().stdout).not.toContain('PINNED-SECRET'); // named now, with its deny
    writeFileSync(go, '');
    expect((await early.done).code).toBe(0);
    expect(readFileSync(agent, 'utf8')).toContain('mode: audit'); // written by the early sandbox
    const after = read();
    expect(after.stdout).not.toContain('PINNED-SECRET');
    expect(after.stderr).toContain(`${agent} changed since you first ran with it`);
    expect(sb.sbx(['trust', agent]).code).toBe(0);
    expect(read().stdout).toContain('PINNED-SECRET'); // the user took it: audit mode
    expect(sb.sbx(['untrust', agent]).code).toBe(0);
  });

  it('an untrusted host name cannot re-allow an address the user denies (check and the engine agree); the twin name connects', { timeout: 60_000 }, async () => {
    userConfig('version: 1\nnet:\n  deny: ["127.0.0.2/31"]\n');
    try {
      const p = makeProject(join(sb.home, 'names'), 'version: 1\nnet:\n  allow: ["svc.test", "ok.test"]\n');
      const port = servers.port;
      const svc = sb.sbx(['check', 'net', `svc.test:${port}`], { cwd: p });
      expect(svc.code).toBe(1);
      expect(sb.sbx(['check', 'net', `ok.test:${port}`], { cwd: p }).code).toBe(0);
      const policy = sb.sbx(['policy'], { cwd: p });
      expect(policy.stdout).toContain('net.allow "svc.test" → 127.0.0.2/32 (untrusted)');
      const script = `${PUSH_FN}\npush "cd$PWD" >/dev/null\n${fixture('net_client')} tcp 127.0.0.2 ${port}\n${fixture('net_client')} tcp 127.0.0.7 ${port}`;
      const r = await sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: p }).done;
      expect(r.stdout).toMatch(/^error connect.*\nok hello from ok\n$/);
      expect(servers.count('127.0.0.2')).toBe(0);
    } finally {
      userConfig(undefined);
    }
  });
});

describe('use sandbox FILE', () => {
  const text = 'version: 1\nextends: [offline]\nread:\n  deny: ["secret.txt"]\ncommands:\n  head: { read: { deny: ["public.txt"] } }\n';
  const probe = () =>
    [
      t('cat-secret', 'cat secret.txt'),
      t('cat-public', 'cat public.txt'),
      t('head-public', 'head -n1 public.txt'),
      t('net', `${fixture('net_client')} tcp 127.0.0.7 ${servers.port}`),
    ].join('\n');

  it('with extends: and commands: behaves like the same text in .sbx.yaml; sbx trust FILE trusts it', { timeout: 120_000 }, async () => {
    userConfig(undefined);
    const s = makeProject(join(sb.home, 'as-sbx-yaml'), text);
    const u = makeProject(join(sb.home, 'as-use'), 'version: 1\n');
    rmSync(join(u, '.sbx.yaml'));
    writeFileSync(join(u, 'policy.yaml'), text);
    const before = await sb.spawnSbx(['shell', '--', 'sh', '-c', probe()], { cwd: u }).done;
    const viaFile = await sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD" >/dev/null\n${probe()}`], { cwd: s }).done;
    const viaUse = await sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD" >/dev/null\npush "use${u}/policy.yaml"\n${probe()}`], { cwd: u }).done;
    const verdicts = (out: string) => out.split('\n').filter((l) => / (ok|fail)$/.test(l));
    // The twin: before any policy, all of it works.
    expect(verdicts(before.stdout)).toEqual(['cat-secret ok', 'cat-public ok', 'head-public ok', 'net ok']);
    expect(verdicts(viaFile.stdout)).toEqual(['cat-secret fail', 'cat-public ok', 'head-public fail', 'net fail']);
    expect(verdicts(viaUse.stdout)).toEqual(verdicts(viaFile.stdout));
    expect(viaUse.stdout).toContain(`reply: policy use ${u}/policy.yaml (untrusted`);
    // sbx policy --use explains the same; sbx trust FILE trusts it by content hash.
    expect(sb.sbx(['policy', '--dir', u, '--use', join(u, 'policy.yaml')]).stdout).toContain('commands: head');
    const trusted = sb.sbx(['trust', join(u, 'policy.yaml')]);
    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toContain(`trusted: ${u}/policy.yaml`);
    const again = await sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', `${PUSH_FN}\npush "cd$PWD" >/dev/null\npush "use${u}/policy.yaml"`], { cwd: u }).done;
    expect(again.stdout).toContain(`reply: policy use ${u}/policy.yaml (trusted)`);
    expect(again.stdout).toContain('reply: prompt sbx:as-use\n');
  });

  it("holds while the shell stays in its directory: a `leave` or `cd` pushed there is refused (direnv's variable can be unset by files a sandbox writes, .envrc.local); leaving the directory drops it", { timeout: 120_000 }, async () => {
    userConfig(undefined);
    const u = makeProject(join(sb.home, 'use-held'), 'version: 1\n');
    rmSync(join(u, '.sbx.yaml'));
    writeFileSync(join(u, 'policy.yaml'), 'version: 1\nextends: [offline]\n');
    const net = (name: string) => t(name, `${fixture('net_client')} tcp 127.0.0.7 ${servers.port}`);
    const script = [
      PUSH_FN,
      `push "use${u}/policy.yaml" >/dev/null`,
      net('net-use'),
      'push "leave$PWD"',
      net('net-after-leave'),
      'push "cd$PWD"',
      net('net-after-cd-here'),
      `cd ${sb.home}`,
      'push "cd$PWD" >/dev/null',
      net('net-outside'),
    ].join('\n');
    const r = await sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: u }).done;
    expect(r.stdout.split('\n').filter((l) => / (ok|fail)$/.test(l))).toEqual(['net-use fail', 'net-after-leave fail', 'net-after-cd-here fail', 'net-outside ok']);
    expect(r.stdout.match(/push-rc=[1-9]/g)).toHaveLength(2);
    expect(sb.log().some((v) => v.kind === 'refused' && v.rule.includes('use sandbox') && v.rule.includes('only leaving that directory drops it'))).toBe(true);
  });
});

describe("a program inside cannot hold the supervisor's thread", () => {
  const widen = (file: string) => `cat "/proc/self/sbx/widen/trust?file=${file}"; echo`;

  it('`sbx trust` of a 100 MB file from inside is answered at once (it held the supervisor for minutes); twin: a small file goes on to the question at the terminal', { timeout: 60_000 }, () => {
    userConfig(undefined);
    const d = makeProject(join(sb.home, 'widen-big'), 'version: 1\n');
    const huge = join(d, 'huge.yaml');
    writeFileSync(huge, `version: 1\n#${'a'.repeat(100 * 1024 * 1024)}\n`);
    const small = join(d, 'small.yaml');
    writeFileSync(small, 'version: 1\nread:\n  allow: ["/srv"]\n');
    const started = Date.now();
    const r = sb.sbx(['shell', '--', 'sh', '-c', `${widen(huge)}\n${widen(small)}`], { cwd: d, timeout: 30_000 });
    expect(Date.now() - started, r.stderr).toBeLessThan(15_000);
    expect(r.stdout).toContain(`{"error":"${huge}:1:1: not a valid sbx policy file"}`);
    expect(r.stdout).toContain('{"error":"not trusted: it has no terminal');
    rmSync(huge);
  });

  // A one-shot sbx exec (a package's install script) has no shell whose prompt a person is
  // looking at: nothing inside it may put a question on the terminal (sbx exec in its own
  // process never could). The twin, a command typed at a session shell's prompt, asks:
  // test/e2e/shell-inside.test.ts.
  it('a served sbx exec, on a terminal, cannot ask to trust: refused before anything is shown', { timeout: 60_000 }, () => {
    userConfig(undefined);
    const d = makeProject(join(sb.home, 'widen-exec'), 'version: 1\nread:\n  deny: ["/etc/hostname"]\n');
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const r = execaSync('script', ['-qec', `${sbxBin} exec -- ${sbxBin} trust`, '/dev/null'], { cwd: d, env: sb.env, extendEnv: false, input: 'n\n', reject: false, timeout: 30_000 });
    const out = `${r.stdout}${r.stderr}`;
    expect(out).toContain("only a command typed at the prompt of the session's shell can ask");
    expect(out).not.toMatch(/press Enter/);
  });
});
