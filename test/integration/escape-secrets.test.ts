/**
 * Secrets and floors under the default policy (no policy file anywhere), by every name
 * (helper-61's round):
 *   - credential stores beyond the first list (git's credential store, gh's token, kubectl's
 *     cache, azure, cargo, maven, gradle, databases, keyrings, browser profiles, pass) and
 *     files that variables name (AWS_SHARED_CREDENTIALS_FILE, KUBECONFIG) were readable;
 *   - a floor or a secret stopped at a link: with dotfiles linked in (stow), `~/.ssh/config`,
 *     `~/.tmux.conf` and a key in `~/.ssh` were written or read through either name;
 *   - a PATH directory's program links lead to code that was writable (npm's
 *     `bin/x -> ../lib/node_modules/x/cli.js`).
 * Every refusal has its twin: the same kind of file beside it that is no secret (read), or
 * that nothing links to (write).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, sbxBin, sbxExec, servedBySupervisor, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-secrets-');
servedBySupervisor(world);
const home = world.env.HOME!;
const h = (p: string) => join(home, p);
const project = join(home, 'work', 'proj');
const awsElsewhere = join(world.dir, 'vault', 'aws-credentials');
const kubeElsewhere = join(world.dir, 'vault', 'kubeconfig');
const env = {
  ...world.env,
  PATH: `${h('npm-global/bin')}:${world.env.PATH}`,
  AWS_SHARED_CREDENTIALS_FILE: awsElsewhere,
  KUBECONFIG: `${kubeElsewhere}:${h('.kube/config')}`,
  GH_CONFIG_DIR: join(world.dir, 'ghdir'),
  PERL5LIB: h('perl5/lib/perl5'), // what perl's local::lib sets
  PYTHONPATH: h('pylib'),
};

function put(path: string, text = 'SECRET\n'): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/**
 * Reads (`r`) or appends to (`w`) each path inside, with `sbx exec` or in a session (`sbx
 * shell`, the hook's way in); the verdict per path.
 */
async function inside(op: 'r' | 'w', paths: string[], how: 'exec' | 'session' = 'exec'): Promise<{ verdicts: Record<string, string>; stderr: string }> {
  const act = op === 'r' ? 'cat "$p" >/dev/null' : 'echo planted >> "$p"';
  const script = `for p in "$@"; do if ${act} 2>/dev/null; then echo "ok $p"; else echo "refused $p"; fi; done`;
  const argv = ['--', 'sh', '-c', script, 'sh', ...paths];
  const r = how === 'exec' ? await sbxExec(argv, { env, cwd: project }) : await run(sbxBin, ['shell', ...argv], { env, cwd: project });
  const verdicts: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|refused) (.*)$/.exec(line);
    if (m) verdicts[m[2]!] = m[1]!;
  }
  return { verdicts, stderr: r.stderr };
}
const all = (paths: string[], v: string) => Object.fromEntries(paths.map((p) => [p, v]));

const CREDENTIALS = [
  '.git-credentials',
  '.yarnrc.yml', // npmAuthToken
  '.config/pnpm/rc',
  '.bunfig.toml',
  '.config/pypoetry/auth.toml',
  '.config/gh/hosts.yml',
  '.kube/cache/discovery/token',
  '.azure/msal_token_cache.json',
  '.cargo/credentials.toml',
  '.m2/settings.xml',
  '.gradle/gradle.properties',
  '.pgpass',
  '.local/share/keyrings/login.keyring',
  '.mozilla/firefox/abc.default/logins.json',
  '.password-store/github.gpg',
  '.config/configstore/firebase-tools.json',
  '.config/github-copilot/hosts.json',
  '.claude/.credentials.json',
  '.cache/huggingface/token',
  '.config/sops/age/keys.txt',
  'work/proj/.env.local',
  'work/proj/.env.production',
  'work/proj/web/.env.development.local',
].map(h);
// Beside them, nothing secret: readable inside.
const NOT_SECRET = ['.config/gh/config.yml', '.gradle/init.d/README', '.cargo/config.toml', '.m2/repository/x.pom', 'work/proj/.env.example', '.claude/settings.json'].map(h);

beforeAll(() => {
  mkdirSync(project, { recursive: true });
  for (const f of [...CREDENTIALS, awsElsewhere, kubeElsewhere, h('.kube/config')]) put(f);
  for (const f of NOT_SECRET) put(f, 'plain\n');
  // gh under $XDG_CONFIG_HOME (the test world sets it outside the home).
  put(join(world.env.XDG_CONFIG_HOME!, 'gh', 'hosts.yml'));
  // Dotfiles linked in from a repository (GNU stow's layout).
  put(h('dotfiles/ssh/config'), 'Host *\n  IdentityFile ~/keys/work_ed25519\n  ProxyCommand ~/tools/sshproxy %h %p\nInclude ~/dotfiles/ssh/conf.d/*.conf\n');
  put(h('keys/work_ed25519'), 'PRIVATE KEY\n');
  put(h('dotfiles/ssh/conf.d/hosts.conf'), 'Host box\n');
  // Start-up files that source others (helper-61 F2b).
  put(h('.bashrc'), '. ~/dotfiles/shellrc.sh\n[ -f "$HOME/tools/env.sh" ] && source "$HOME/tools/env.sh"\ncase $- in *i*) builtin source ~/dotfiles/interactive.sh ;; esac\n');
  put(h('dotfiles/interactive.sh'), 'bind "set bell-style none"\n');
  put(h('tools/sshproxy'), '#!/bin/sh\nexec nc "$@"\n');
  put(h('dotfiles/shellrc.sh'), 'alias ll="ls -l"\n');
  put(h('tools/env.sh'), 'export TOOLS=1\n');
  put(h('tools/README'), 'tools\n');
  put(h('dotfiles/tmux.conf'), 'set -g mouse on\n');
  put(h('dotfiles/nvim/init.lua'), '-- init\n');
  put(h('dotfiles/README'), 'my dotfiles\n');
  put(h('keys/id_work'), 'PRIVATE KEY\n');
  put(h('keys/notes.txt'), 'not a key\n');
  put(h('sync/aws/credentials'), '[default]\naws_secret_access_key=SECRET\n');
  mkdirSync(h('.ssh'), { recursive: true });
  mkdirSync(h('.aws'), { recursive: true });
  mkdirSync(h('.config'), { recursive: true });
  symlinkSync(h('dotfiles/ssh/config'), h('.ssh/config'));
  symlinkSync(h('keys/id_work'), h('.ssh/id_work'));
  symlinkSync('../sync/aws/credentials', h('.aws/credentials'));
  symlinkSync(h('dotfiles/tmux.conf'), h('.tmux.conf'));
  symlinkSync(h('dotfiles/nvim'), h('.config/nvim'));
  // A link reached through another link (helper-62 F1): ~/.gitmessage -> cfg/gitmessage, ~/cfg -> ~/repo.
  put(h('repo/gitmessage'), 'template\n');
  put(h('evil/gitmessage'), 'planted\n');
  symlinkSync(h('repo'), h('cfg'));
  symlinkSync('cfg/gitmessage', h('.gitmessage'));
  // npm with a prefix outside the dot-entries: its bin/ on PATH, the program a link into lib/.
  put(h('npm-global/lib/node_modules/mytool/package.json'), '{"name":"mytool","bin":"cli.js"}\n');
  put(h('npm-global/lib/node_modules/mytool/cli.js'), '#!/usr/bin/env node\n');
  put(h('npm-global/lib/node_modules/mytool/lib/index.js'), 'module.exports = 1;\n');
  put(h('npm-global/lib/node_modules/unlinked/index.js'), 'module.exports = 2;\n');
  mkdirSync(h('npm-global/bin'), { recursive: true });
  symlinkSync('../lib/node_modules/mytool/cli.js', h('npm-global/bin/mytool'));
});
afterAll(() => world.cleanup());

describe('credential stores', () => {
  it('are not readable inside (git credential store, gh, kubectl cache, azure, cargo, maven, gradle, pgpass, keyrings, firefox, pass, configstore); twin: files beside them are', async () => {
    const r = await inside('r', [...CREDENTIALS, ...NOT_SECRET]);
    expect(r.verdicts).toEqual({ ...all(CREDENTIALS, 'refused'), ...all(NOT_SECRET, 'ok') });
    expect(r.stderr).toContain(`sbx: denied read ${h('.git-credentials')}`);
  });

  it('files that variables name (AWS_SHARED_CREDENTIALS_FILE, KUBECONFIG, GH_CONFIG_DIR) and gh under $XDG_CONFIG_HOME are not readable inside; twin: a sibling is', async () => {
    const sibling = join(world.dir, 'vault', 'README');
    put(sibling, 'plain\n');
    const xdgGh = join(world.env.XDG_CONFIG_HOME!, 'gh', 'hosts.yml');
    const ghDir = join(world.dir, 'ghdir', 'hosts.yml');
    const ghConfig = join(world.dir, 'ghdir', 'config.yml');
    put(ghDir);
    put(ghConfig, 'plain\n');
    const r = await inside('r', [awsElsewhere, kubeElsewhere, xdgGh, ghDir, sibling, ghConfig]);
    expect(r.verdicts).toEqual({ [awsElsewhere]: 'refused', [kubeElsewhere]: 'refused', [xdgGh]: 'refused', [ghDir]: 'refused', [sibling]: 'ok', [ghConfig]: 'ok' });
  });
});

describe('links in protected places', () => {
  it('a key or credentials linked into ~/.ssh or ~/.aws is not readable by either name; twin: a file beside the key is', async () => {
    const paths = [h('.ssh/id_work'), h('keys/id_work'), h('.aws/credentials'), h('sync/aws/credentials'), h('keys/notes.txt')];
    const r = await inside('r', paths);
    expect(r.verdicts).toEqual({ ...all(paths.slice(0, 4), 'refused'), [h('keys/notes.txt')]: 'ok' });
  });

  it("stow-linked dotfiles (~/.ssh/config, ~/.tmux.conf, ~/.config/nvim/) are not writable by either name; twin: the dotfiles repository's other files are", async () => {
    const refused = [h('.ssh/config'), h('dotfiles/ssh/config'), h('.tmux.conf'), h('dotfiles/tmux.conf'), h('.config/nvim/init.lua'), h('dotfiles/nvim/init.lua')];
    const r = await inside('w', [...refused, h('dotfiles/README')]);
    expect(r.verdicts).toEqual({ ...all(refused, 'refused'), [h('dotfiles/README')]: 'ok' });
    expect(readFileSync(h('dotfiles/ssh/config'), 'utf8')).not.toContain('planted');
    expect(readFileSync(h('dotfiles/README'), 'utf8')).toBe('my dotfiles\nplanted\n');
  });

  it('a link on the way to a protected place cannot be pointed elsewhere (~/cfg in ~/.gitmessage -> cfg/gitmessage); twin: a link the sandbox makes beside it', async () => {
    const script = `if ln -sfn ${h('evil')} ${h('cfg')} 2>/dev/null; then echo "ok cfg"; else echo "refused cfg"; fi; if ln -sfn ${h('evil')} ${h('mine')}; then echo "ok mine"; else echo "refused mine"; fi`;
    const r = await sbxExec(['--', 'sh', '-c', script], { env, cwd: project });
    expect(r.stdout, r.stderr).toContain('refused cfg');
    expect(r.stdout).toContain('ok mine');
    expect(readFileSync(h('.gitmessage'), 'utf8')).toBe('template\n');
  });

  it("a PATH program's link target and its package (npm's bin/x -> ../lib/node_modules/x/cli.js) are not writable; twin: a package nothing on PATH links to is", async () => {
    const refused = [h('npm-global/lib/node_modules/mytool/cli.js'), h('npm-global/lib/node_modules/mytool/lib/index.js')];
    const twin = h('npm-global/lib/node_modules/unlinked/index.js');
    const r = await inside('w', [...refused, twin]);
    expect(r.verdicts).toEqual({ ...all(refused, 'refused'), [twin]: 'ok' });
  });

  it('directories the environment names for modules (PERL5LIB, PYTHONPATH) are not writable; twin: a sibling directory is', async () => {
    const refused = [h('perl5/lib/perl5/strict.pm'), h('pylib/sitecustomize.py')];
    const twin = h('perl5-notes/todo.txt');
    for (const f of [...refused, twin]) put(f, '# written outside\n');
    const r = await inside('w', [...refused, twin]);
    expect(r.verdicts).toEqual({ ...all(refused, 'refused'), [twin]: 'ok' });
  });

  it("what shells load from beside a PATH bin/ (bash-completion's share/bash-completion/completions/<cmd>, fish's and zsh's vendor dirs) is not writable; twin: another share/ dir is", async () => {
    const refused = [h('npm-global/share/bash-completion/completions/mytool'), h('npm-global/share/fish/vendor_completions.d/mytool.fish'), h('npm-global/share/zsh/site-functions/_mytool')];
    const twin = h('npm-global/share/doc/mytool.txt');
    for (const f of [...refused, twin]) put(f, '# written outside\n'); // the twin outside: the places are writable
    const r = await inside('w', [...refused, twin]);
    expect(r.verdicts).toEqual({ ...all(refused, 'refused'), [twin]: 'ok' });
  });
});

// The supervisor serving a session was started by another terminal, whose variables may not
// name these places (here: the world's, without the PATH entry and the module variables): the
// session's policy is built from the session's variables, as `sbx exec` builds its own.
describe('in a session whose supervisor another terminal started', () => {
  it('the PATH directory, the module directories and the shells\' vendor dirs of the session are not writable; twin: a sibling directory is', async () => {
    expect((await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir })).code).toBe(0); // (one runs already when served)
    const refused = [h('npm-global/bin/newtool'), h('perl5/lib/perl5/strict.pm'), h('pylib/sitecustomize.py'), h('npm-global/share/bash-completion/completions/mytool')];
    const twin = h('perl5-notes/todo.txt');
    for (const f of [...refused, twin]) put(f, '# written outside\n');
    const r = await inside('w', [...refused, twin], 'session');
    expect(r.verdicts, r.stderr).toEqual({ ...all(refused, 'refused'), [twin]: 'ok' });
  });
});

// The other way round: what the supervisor's own variables make floors (the node a restarted
// supervisor runs from its PATH, the real home's start files) stays a floor for a caller whose
// variables lack them (another PATH, another HOME).
describe("a supervisor's own floors, for callers whose variables differ", () => {
  const sup = tempWorld('sbx-supfloors-');
  const supBin = join(sup.env.HOME!, 'node-v20', 'bin');
  const fakeHome = join(sup.dir, 'fake-home');
  beforeAll(async () => {
    mkdirSync(supBin, { recursive: true });
    mkdirSync(fakeHome);
    writeFileSync(join(sup.env.HOME!, '.bashrc'), '# the real one\n');
    const started = await run(sbxBin, ['daemon', 'start'], { env: { ...sup.env, PATH: `${supBin}:${sup.env.PATH}` }, cwd: sup.dir });
    expect(started.code, started.stderr).toBe(0);
  });
  afterAll(() => sup.cleanup());
  const attempt = async (how: 'exec' | 'shell', env: Record<string, string>) => {
    const script = `for p in ${join(supBin, 'node')} ${join(sup.env.HOME!, '.bashrc')} ${join(sup.env.HOME!, 'notes.txt')}; do if echo planted >> "$p" 2>/dev/null; then echo "ok $p"; else echo "refused $p"; fi; done`;
    return (await run(sbxBin, [how, '--', 'sh', '-c', script], { env, cwd: sup.dir })).stdout;
  };
  const expected = `refused ${join(supBin, 'node')}\nrefused ${join(sup.env.HOME!, '.bashrc')}\nok ${join(sup.env.HOME!, 'notes.txt')}\n`;

  it('sbx exec served by it, from a terminal without its PATH entry or with another HOME: refused; twin: a file beside them is written', async () => {
    expect(await attempt('exec', sup.env)).toBe(expected);
    expect(await attempt('exec', { ...sup.env, HOME: fakeHome })).toBe(expected);
  });

  // sbx's own places (its user config, trust db) are the supervisor's for a served exec too:
  // a HOME the caller points elsewhere (`HOME=$(mktemp -d) sbx exec …`) is where a program
  // already inside could have planted a user config that lifts the home configuration deny.
  it("sbx exec served by it with another HOME reads the supervisor's user config, not one planted in that HOME; twin: the supervisor's applies", async () => {
    const planted = join(sup.dir, 'h3');
    mkdirSync(join(planted, '.config', 'sbx'), { recursive: true });
    const tmuxConf = join(sup.env.HOME!, '.tmux.conf');
    writeFileSync(tmuxConf, '# the real one\n');
    writeFileSync(join(planted, '.config', 'sbx', 'config.yaml'), `version: 1\nwrite: { allow: [${JSON.stringify(tmuxConf)}] }\n`);
    const note = join(sup.dir, 'sup-private.txt');
    writeFileSync(note, 'PRIVATE\n');
    const supConfig = join(sup.env.XDG_CONFIG_HOME!, 'sbx', 'config.yaml');
    mkdirSync(dirname(supConfig), { recursive: true });
    writeFileSync(supConfig, `version: 1\nread: { deny: [${JSON.stringify(note)}] }\n`);
    try {
      const env = { ...sup.env, HOME: planted, XDG_CONFIG_HOME: join(planted, '.config') };
      const r = await run(sbxBin, ['exec', '--', 'sh', '-c', `echo x >> ${tmuxConf} 2>/dev/null && echo tmux-written || echo tmux-refused; cat ${note} 2>/dev/null || echo note-refused`], { env, cwd: sup.dir });
      expect(r.stdout, r.stderr).toBe('tmux-refused\nnote-refused\n');
    } finally {
      rmSync(supConfig, { force: true });
    }
  });

  it('a session it serves, from a terminal without its PATH entry: refused; twin: a file beside them is written', async () => {
    expect(await attempt('shell', sup.env)).toBe(expected);
  });

  // The terminal runs its own start files, git config and sbx hook cache later, outside: they
  // are floors too, though sbx's own places (trust db, user config) stay the supervisor's.
  it("a terminal whose HOME and XDG_* differ from its supervisor's: its start files, git, fish and direnv config, hook cache and the rest of its home configuration are not writable in its sessions or served execs, nor the supervisor's; twins: a file beside them and a history are", async () => {
    const other = join(sup.dir, 'other-terminal');
    const places = { HOME: join(other, 'home'), XDG_CONFIG_HOME: join(other, 'config'), XDG_STATE_HOME: join(other, 'state'), XDG_DATA_HOME: join(other, 'data') };
    const refused = [
      join(places.HOME, '.bashrc'),
      join(places.XDG_CONFIG_HOME, 'git', 'config'),
      join(places.XDG_CONFIG_HOME, 'fish', 'config.fish'),
      join(places.XDG_STATE_HOME, 'sbx', 'hook-cache', 'bash'),
      // Not floors, the home configuration deny: code tools load later.
      join(places.HOME, '.tmux.conf'),
      join(places.XDG_CONFIG_HOME, 'direnv', 'direnvrc'),
      join(places.XDG_DATA_HOME, 'fish', 'vendor_conf.d', 'evil.fish'),
      join(places.XDG_STATE_HOME, 'mise', 'trusted-configs', 'x'),
    ];
    // Beside them; a history is the home configuration deny's own exception.
    const twins = [join(places.HOME, 'notes.txt'), join(places.HOME, '.bash_history')];
    for (const f of [...refused, ...twins]) {
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, '# written outside\n');
    }
    const script = `for p in "$@"; do if echo planted >> "$p" 2>/dev/null; then echo "ok $p"; else echo "refused $p"; fi; done`;
    // The supervisor's own home: its start files and its home configuration.
    const supRefused = [join(sup.env.HOME!, '.bashrc'), join(sup.env.HOME!, '.tmux.conf')];
    for (const f of supRefused) writeFileSync(f, '# written outside\n');
    const want = [...refused.map((f) => `refused ${f}`), ...twins.map((f) => `ok ${f}`), ...supRefused.map((f) => `refused ${f}`), ''].join('\n');
    for (const how of ['shell', 'exec']) {
      const r = await run(sbxBin, [how, '--', 'sh', '-c', script, 'sh', ...refused, ...twins, ...supRefused], { env: { ...sup.env, ...places }, cwd: sup.dir });
      expect(r.stdout, `${how}: ${r.stderr}`).toBe(want);
    }
  });
});

describe('files the start-up files load', () => {
  it("what ~/.bashrc sources and ~/.ssh/config includes is not writable; the key it names is not readable; twins: a file beside them is written, a note beside the key read", async () => {
    const refused = [h('dotfiles/shellrc.sh'), h('tools/env.sh'), h('dotfiles/interactive.sh'), h('tools/sshproxy'), h('dotfiles/ssh/conf.d/hosts.conf'), h('dotfiles/ssh/conf.d/new.conf')];
    const w = await inside('w', [...refused, h('tools/README')]);
    expect(w.verdicts).toEqual({ ...all(refused, 'refused'), [h('tools/README')]: 'ok' });
    const r = await inside('r', [h('keys/work_ed25519'), h('keys/notes.txt')]);
    expect(r.verdicts).toEqual({ [h('keys/work_ed25519')]: 'refused', [h('keys/notes.txt')]: 'ok' });
  });
});
