/**
 * Built-in presets, written in the same shape as a policy file. `~` expands to $HOME;
 * project-only and persistence are generated from the environment (their paths are
 * literal, not expanded).
 */
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { ecosystemPreset } from './ecosystems.js';
import { envNamedCode } from './env-named-code.js';
import { pathExists } from './expand.js';
import { gitRunFloors, HOOK_NAMES } from './git-hooks-path.js';
import { linkTargets, type LinkTargets } from './link-targets.js';
import { rcSources, type RcSources } from './rc-sources.js';
import { homeDir, userRuntimeDirs, xdg } from './paths.js';
import type { PolicyBody, PresetName } from './schema.js';
import { escapeGlob } from './escape-glob.js';

/** Read by every program: mise's defaults for --deny-read, and the strict fallback's. */
export const SYSTEM_READ_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/proc', '/sys', '/dev', '/run', '/nix'];

/** Devices every program writes to; kept writable whenever writes default to deny. */
export const WRITABLE_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/pts', '/dev/ptmx', '/dev/shm'];

/**
 * Where tools keep keys, tokens and passwords: read- and write-denied. Whole directories where
 * a tool keeps its credentials beside caches that hold them too (kubectl's cache, azure's
 * token cache); single files where the directory is also ordinary configuration (gh's
 * config.yml, a gradle or maven setup). A tool that needs one inside is allowed it by name
 * (`read: { allow: [...] }` in a trusted policy file).
 */
const SECRET_PATHS = [
  '~/.ssh',
  '~/.gnupg',
  // clouds
  '~/.aws',
  '~/.azure',
  '~/.config/gcloud',
  '~/.oci',
  '~/.config/doctl',
  '~/.config/hcloud',
  '~/.aliyun',
  '~/.bluemix',
  '~/.s3cfg',
  '~/.boto',
  '~/.config/rclone',
  '~/.terraform.d/credentials.tfrc.json',
  '~/.terraformrc',
  '~/.vault-token',
  // containers and clusters
  '~/.kube',
  '~/.docker/config.json',
  // podman, buildah and skopeo logins (the runtime dir's file is added per user: secrets below).
  '~/.config/containers/auth.json',
  // git hosts and registries
  '~/.git-credentials',
  '~/.config/git/credentials',
  '~/.config/gh/hosts.yml',
  '~/.config/hub',
  '~/.config/glab-cli',
  '~/.netrc',
  '~/.npmrc',
  // other node package managers' and python's tokens (npmAuthToken, an index login)
  '~/.yarnrc.yml',
  '~/.config/pnpm/rc',
  '~/.bunfig.toml',
  '~/.config/pypoetry/auth.toml',
  '~/.pypirc',
  '~/.cargo/credentials',
  '~/.cargo/credentials.toml',
  '~/.gem/credentials',
  '~/.local/share/gem/credentials',
  '~/.m2/settings.xml',
  '~/.m2/settings-security.xml',
  '~/.gradle/gradle.properties',
  '~/.composer/auth.json',
  '~/.config/composer/auth.json',
  '~/.sbt/credentials',
  '~/.ivy2/.credentials',
  '~/.nuget/NuGet/NuGet.Config',
  // node CLIs' logins (firebase, vercel, netlify … keep tokens in configstore)
  '~/.config/configstore',
  // databases
  '~/.pgpass',
  '~/.my.cnf',
  '~/.mylogin.cnf',
  // keyrings, password stores, browser profiles (cookies, saved passwords)
  '~/.local/share/keyrings',
  '~/.password-store',
  '~/.config/op',
  '~/.mozilla',
  '~/snap/firefox',
  '~/.thunderbird',
  '~/.config/google-chrome',
  '~/.config/chromium',
  '~/.config/BraveSoftware',
  '~/.config/microsoft-edge',
  '~/.config/vivaldi',
  '~/.config/opera',
  // tokens of tools and agents (an agent run inside needs its own allowed by name)
  '~/.config/github-copilot',
  '~/.claude/.credentials.json',
  '~/.codex/auth.json',
  '~/.cache/huggingface/token',
  '~/.huggingface/token',
  '~/.config/sops/age/keys.txt',
  '~/.minikube',
  '~/.pulumi/credentials.json',
  // a project's environment files (not the templates: .env.example, .env.sample)
  '/**/.env',
  '/**/.env.local',
  '/**/.env.*.local',
  '/**/.env.production',
  '/**/.env.prod',
  '/**/.env.development',
  '/**/.env.dev',
  '/**/.env.staging',
  '/**/.env.test',
  // Credentials kept in /tmp: Kerberos ticket caches, ssh-agent sockets.
  '/tmp/krb5cc_*',
  '/tmp/ssh-*',
];

/** Variables that name a credential file kept elsewhere (the file, when absolute). */
const SECRET_FILE_VARS = ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'GOOGLE_APPLICATION_CREDENTIALS', 'AZURE_CONFIG_DIR', 'DOCKER_CONFIG', 'CLOUDSDK_CONFIG', 'VAULT_CONFIG_PATH', 'PGPASSFILE', 'NETRC', 'SOPS_AGE_KEY_FILE', 'GNUPGHOME', 'PASSWORD_STORE_DIR', 'MINIKUBE_HOME'];

/** Variables that move a tool's directory elsewhere: the credential file in it. */
const SECRET_DIR_VARS: [string, string][] = [
  ['GH_CONFIG_DIR', 'hosts.yml'],
  ['CARGO_HOME', 'credentials'],
  ['CARGO_HOME', 'credentials.toml'],
  ['HF_HOME', 'token'],
  ['PULUMI_HOME', 'credentials.json'],
  ['CLAUDE_CONFIG_DIR', '.credentials.json'],
  ['CODEX_HOME', 'auth.json'],
  ['GEM_HOME', 'credentials'],
];

/** Agent sockets: connecting is using the keys. */
const AGENT_SOCKETS = ['/tmp/ssh-*', '/tmp/krb5cc_*'];

const DOCKER_SOCKETS = ['/run/docker.sock', '/var/run/docker.sock', '/run/user/*/docker.sock', '~/.docker/run/docker.sock'];

const SHELL_RC = [
  '~/.bashrc',
  '~/.bash_profile',
  '~/.bash_login',
  '~/.profile',
  '~/.zshrc',
  '~/.zprofile',
  '~/.zshenv',
  '~/.zlogin',
  '~/.config/fish',
  '/**/.git/hooks',
  '/**/.vscode',
  '/**/.idea',
  // Zed's settings (a terminal's environment: SBX_DISABLE, ZDOTDIR) and tasks.
  '/**/.zed',
  // An editor runs these on the host when it opens the folder: a workspace file's tasks,
  // a dev container's initializeCommand.
  '/**/*.code-workspace',
  '/**/.devcontainer',
];

/** SECRET_PATHS under ~/.config and ~/.local/share, again under $XDG_CONFIG_HOME / $XDG_DATA_HOME set elsewhere (escaped). */
function xdgSecrets(env: Record<string, string | undefined>): string[] {
  const home = homeDir(env);
  const out: string[] = [];
  for (const [prefix, v, dflt] of [['~/.config/', 'XDG_CONFIG_HOME', '.config'], ['~/.local/share/', 'XDG_DATA_HOME', '.local/share']] as const) {
    const dir = xdg(env, v, join(home, dflt));
    if (dir === join(home, dflt)) continue;
    for (const p of SECRET_PATHS) if (p.startsWith(prefix)) out.push(...envPath(join(dir, p.slice(prefix.length))));
  }
  return out;
}

/** The secrets' literal places (absolute, unescaped): where link-targets.ts looks for links. */
function secretPlaces(ctx: PresetContext): string[] {
  const home = homeDir(ctx.env);
  const unescape = (p: string) => p.replace(/\\(.)/g, '$1');
  return [...SECRET_PATHS.filter((p) => p.startsWith('~/') && !/[*?]/.test(p)).map((p) => join(home, p.slice(2))), ...xdgSecrets(ctx.env).map(unescape)];
}


/** An absolute path from the environment, usable in a non-literal preset (no `$`, no leading `~`), escaped. */
function envPath(p: string | undefined): string[] {
  if (!p || !isAbsolute(p) || p.includes('$')) return [];
  return [escapeGlob(normalize(p).replace(/(.)\/+$/, '$1'))];
}

/** `FILE:/tmp/krb5cc_1000` or `/tmp/krb5cc_1000` → the path; other cache types have none. */
function krb5Cache(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const path = v.startsWith('FILE:') ? v.slice(5) : v.includes(':') ? undefined : v;
  return path;
}

/**
 * Everything that later runs code outside the sandbox (DESIGN: "the sandbox cannot loosen
 * itself"): shell start-up files, desktop autostart, systemd user units and environment,
 * programs in the home's PATH directories, git's config, hooks and info of every
 * repository, ssh's config, crontab spools, the runtime dir's unit, bus-service and tmpfiles
 * dirs; for root also /etc, /proc/sys, /usr, /lib*, /boot, /opt, /var/lib and every PATH
 * directory. Write-denied only: shells still read their rc files.
 */
export function persistencePaths(ctx: PresetContext): string[] {
  const f = floorPlaces(ctx);
  const links = protectedLinks(ctx, f);
  return [...new Set([...f.places, ...links.floors].filter((p) => !p.includes('$')).map(escapeGlob))].concat(GIT_FLOORS, SBX_PLACE_FLOORS, f.globs);
}

/**
 * sbx's own files, wherever a HOME or XDG dir may put them: a user config, trust db, last good
 * versions or hook cache a sandbox wrote under a directory the user later points HOME or
 * XDG_* at (`HOME=$(mktemp -d) sbx exec …`: a program inside can win that race) would be
 * trusted by sbx itself there. Its real places are floors besides (own-files.ts).
 */
const SBX_PLACE_FLOORS = ['/**/sbx/config.yaml', '/**/sbx/trust.json', '/**/sbx/last-good', '/**/sbx/hook-cache'];

/** The targets of links in the floors, the secrets and the PATH dirs (link-targets.ts). */
function protectedLinks(ctx: PresetContext, f?: ReturnType<typeof floorPlaces>): LinkTargets {
  // The walk does not depend on the project (the walk-up files above it are left out: links
  // there are the project tree's own), so one walk serves every directory a shell or nested
  // `sbx exec` goes to; what would cover the project is dropped here. The secrets preset walks
  // the secrets alone (f undefined), the persistence preset the floors alone.
  const walkUps = new Set(f?.walkUps ?? []);
  const r = f
    ? linkTargets({ home: homeDir(ctx.env), floors: f.places.filter((p) => !walkUps.has(p)), secrets: [], pathDirs: f.pathDirs })
    : linkTargets({ home: homeDir(ctx.env), floors: [], secrets: secretPlaces(ctx), pathDirs: [] });
  const keep = (p: string) => !(ctx.projectDir === p || ctx.projectDir.startsWith(`${p}/`));
  return { ...r, floors: r.floors.filter(keep), secrets: r.secrets.filter(keep) };
}

/** Variables naming directories interpreters load code from (colon-separated lists). */
const LIBRARY_PATH_VARS = ['PERL5LIB', 'PERLLIB', 'PERL_LOCAL_LIB_ROOT', 'PYTHONPATH', 'NODE_PATH', 'RUBYLIB', 'GEM_HOME', 'GEM_PATH', 'R_LIBS', 'R_LIBS_USER', 'R_LIBS_SITE', 'GUILE_LOAD_PATH', 'CLASSPATH'];
/** Under a bin/'s sibling share/: what shells load for its programs. */
const SHELL_SHARE_DIRS = ['bash-completion', 'fish', 'zsh'];
/** zsh's start-up files, in the home or in $ZDOTDIR. */
const ZSH_START_FILES = ['.zshrc', '.zprofile', '.zshenv', '.zlogin', '.zlogout'];
/** The home's shell start-up files: floors, and read for what they source (rc-sources.ts). */
const SHELL_START_FILES = ['.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.bash_aliases', '.profile', ...ZSH_START_FILES, '.xprofile', '.xsessionrc'];
/** Floors read at log-in that are not shell code (nothing to follow in them). */
const NOT_SHELL_START_FILES = ['.inputrc', '.pam_environment'];

/** The persistence floor's places (absolute, not escaped), the PATH dirs among them, and its globs. */
function floorPlaces(ctx: PresetContext): { places: string[]; pathDirs: string[]; globs: string[]; walkUps: string[] } {
  const env = ctx.env;
  const home = homeDir(env);
  const config = xdg(env, 'XDG_CONFIG_HOME', join(home, '.config'));
  const data = xdg(env, 'XDG_DATA_HOME', join(home, '.local', 'share'));
  const out = [...SHELL_START_FILES, ...NOT_SHELL_START_FILES].map((f) => join(home, f));
  const zdot = env.ZDOTDIR && isAbsolute(env.ZDOTDIR) ? env.ZDOTDIR : undefined;
  if (zdot && zdot !== home) for (const f of ZSH_START_FILES) out.push(join(zdot, f));
  // Code and configuration the terminal's variables point its tools at (env-named-code.ts).
  out.push(...envNamedCode(env, home, ctx.projectDir, tempDirs(env)));
  // What they source, and what ssh's config includes (rc-sources.ts).
  out.push(...loadedByStartupFiles(ctx).code);
  for (const c of new Set([config, join(home, '.config')])) {
    // fish: the code it runs (not fish_variables, which fish opens read-write at every
    // prompt to sync universal variables: denying it breaks every fish session).
    for (const f of ['config.fish', 'conf.d', 'functions', 'completions']) out.push(join(c, 'fish', f));
    out.push(join(c, 'systemd', 'user'), join(c, 'autostart'), join(c, 'environment.d'), join(c, 'git'));
  }
  out.push(join(data, 'systemd', 'user'));
  // The runtime dir: the user's systemd loads units from systemd/ there (user, user.control,
  // transient, generators), the session bus activates services from dbus-1/services (it
  // watches the dir: the next program asking for that name runs the planted one), and
  // `systemd-tmpfiles --user` applies user-tmpfiles.d (which writes any file of the user's).
  for (const run of userRuntimeDirs(env)) out.push(join(run, 'systemd'), join(run, 'dbus-1'), join(run, 'user-tmpfiles.d'));
  for (const d of (env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':')) if (isAbsolute(d)) out.push(join(d, 'autostart'));
  // ~/bin and ~/.local/bin: on PATH from the next login on (Debian's and Ubuntu's ~/.profile).
  out.push(join(home, 'bin'), join(home, '.local', 'bin'), join(home, '.gitconfig'), join(home, '.ssh'));
  // What tools look for in every directory above the one they run in: a file planted above a
  // project runs in every build below it — of projects cloned later too. Floored in each
  // ancestor of the project, at the top of the temp dirs (writable under any policy), and in
  // the home and above it whatever the project is: every project of the user's lies below
  // the home (a new terminal starts there: the home is the project then), and no home is a
  // monorepo root, so a marker there never lifts them.
  const above: string[] = [];
  for (let a = ctx.projectDir; a !== '/'; ) above.push((a = dirname(a)));
  const homeAndAbove = [home];
  for (let a = home; a !== '/' && a !== '.'; ) homeAndAbove.push((a = dirname(a)));
  // /dev/shm too: writable under every policy, and a project under it walks up through it.
  const walkUps: string[] = [];
  for (const a of new Set([...above, ...tempDirs(env), '/dev/shm'].filter((d) => d !== ctx.projectDir && !homeAndAbove.includes(d)))) walkUps.push(...walkUpFiles(a));
  for (const a of homeAndAbove) walkUps.push(...walkUpFiles(a, false));
  out.push(...walkUps);
  out.push('/var/spool/cron', '/var/spool/at');
  const root = (typeof process.getuid === 'function' ? process.getuid() : -1) === 0;
  // PATH directories, wherever they are (a Linuxbrew or single-user Nix prefix, a chowned
  // /usr/local/bin: any the user can write), except the project's own (node_modules/.bin and
  // the like: the project is writable anyway) and anything that would cover the home, /tmp
  // or the whole tree. A home in /tmp keeps its PATH dirs. A virtualenv's or conda env's bin/
  // stands for the whole environment: its site-packages (a .pth runs at every python start)
  // is as much the programs' code as bin/ is.
  const underHome = (p: string) => p.startsWith(`${home}/`);
  const pathDirs: string[] = [];
  // A directory with no project file is its own project; the home (where every new terminal
  // starts) or one holding it is no project here: its PATH dirs are the user's, not a project's.
  const ownProject = ctx.projectDir !== home && !home.startsWith(`${ctx.projectDir}/`);
  const inProject = (p: string) => ownProject && (p === ctx.projectDir || p.startsWith(`${ctx.projectDir}/`));
  for (const raw of (env.PATH ?? '').split(':')) {
    if (!isAbsolute(raw)) continue;
    const p = normalize(raw).replace(/(.)\/+$/, '$1');
    if (p === '/' || p === '/tmp' || (p.startsWith('/tmp/') && !underHome(p)) || inProject(p) || home.startsWith(`${p}/`) || p === home) continue;
    const env_ = environmentRoot(p);
    out.push(env_ && env_ !== home && !home.startsWith(`${env_}/`) && !inProject(env_) ? env_ : p);
    pathDirs.push(p);
    // What shells load for a bin/'s programs from beside it: bash-completion (2.12+) sources
    // <parent>/share/bash-completion/completions/<cmd> for every PATH bin/ at the first Tab;
    // fish and zsh read their vendor directories there.
    const top = dirname(p);
    if (/\/s?bin$/.test(p) && top !== '/' && !inProject(top) && !ctx.projectDir.startsWith(`${top}/share/`)) for (const sh of SHELL_SHARE_DIRS) out.push(join(top, 'share', sh));
  }
  // A directory that is the root or holds the home or the project: never floored whole.
  const wideDir = (d: string) => d === '/' || d === home || home.startsWith(`${d}/`) || ctx.projectDir === d || ctx.projectDir.startsWith(`${d}/`);
  // Where the interpreters outside load modules from, as your environment names it (perl's
  // local::lib in ~/perl5, PYTHONPATH, NODE_PATH, gems, R's library): a module planted there
  // runs in the next program outside. Not one that covers the home, the project or the root.
  for (const v of LIBRARY_PATH_VARS)
    for (const d of (env[v] ?? '').split(':')) {
      if (!isAbsolute(d)) continue;
      const p = normalize(d).replace(/(.)\/+$/, '$1');
      if (wideDir(p) || inProject(p) || p === '/tmp') continue;
      out.push(p);
    }
  // go's module cache (GOPATH's pkg/mod): go builds outside compile what it holds without
  // checking go.sum again. Inside, GOMODCACHE points at a cache of the sandbox's own.
  for (const g of (env.GOPATH ?? join(home, 'go')).split(':')) if (isAbsolute(g) && g !== home) out.push(join(g, 'pkg'));
  // Root writes the whole system: what later runs outside is everywhere programs and services
  // load code and configuration from (a .pth in dist-packages runs in every python, a library
  // in every program, a unit at the next boot). /sys: a built-in floor for everyone
  // (kernel-control.ts).
  if (root) out.push('/etc', '/proc/sys', '/usr', '/lib', '/lib32', '/lib64', '/libx32', '/boot', '/opt', '/var/lib');
  // And what cron, systemd, web servers and other users' shells run or read later: the
  // spools (crontabs), /run (transient units, sockets services connect to by name), /srv and
  // /var/www, a non-merged /bin and /sbin, and every user's dot-entries (root can write them).
  if (root) for (const d of ['/var/spool', '/var/www', '/var/opt', '/srv', '/run', '/bin', '/sbin']) if (!wideDir(d)) out.push(d);
  // Hooks git runs from elsewhere (core.hooksPath: husky's .husky/_, a .githooks dir) and the
  // config files a config includes.
  // The system config too (/etc/gitconfig unless GIT_CONFIG_SYSTEM names another): its
  // relative hooksPath names a directory in every repository.
  const system = env.GIT_CONFIG_SYSTEM && isAbsolute(env.GIT_CONFIG_SYSTEM) ? env.GIT_CONFIG_SYSTEM : '/etc/gitconfig';
  const git = gitRunFloors(ctx.projectDir, home, join(config, 'git'), [...(env.GIT_CONFIG_GLOBAL && isAbsolute(env.GIT_CONFIG_GLOBAL) ? [env.GIT_CONFIG_GLOBAL] : []), system]);
  out.push(...git.includes);
  // Templates git copies into every new repository (init.templateDir, $GIT_TEMPLATE_DIR).
  for (const t of [...git.templates, ...(env.GIT_TEMPLATE_DIR && isAbsolute(env.GIT_TEMPLATE_DIR) ? [normalize(env.GIT_TEMPLATE_DIR)] : [])])
    out.push(...(wideDir(t) ? HOOK_NAMES.map((n) => join(t, 'hooks', n)) : [t]));
  for (const d of git.hooks) {
    // A directory that holds the project or the home (hooksPath = .) is floored by hook names.
    const wide = wideDir(d);
    out.push(...(wide ? HOOK_NAMES.map((n) => join(d, n)) : [d]));
    // husky 9 (core.hooksPath = .husky/_): its hooks there run .husky/<hook>, the user's scripts.
    if (basename(d) === '_' && basename(dirname(d)) === '.husky') out.push(dirname(d));
  }
  return { places: [...new Set(out)], pathDirs, globs: root ? [...git.globs, '/home/*/.*'] : git.globs, walkUps };
}

/** The files the shell start-up files source and ssh's config includes (code), and the keys it names; never one covering the home or the project. */
function loadedByStartupFiles(ctx: PresetContext): RcSources {
  const env = ctx.env;
  const home = homeDir(env);
  const config = xdg(env, 'XDG_CONFIG_HOME', join(home, '.config'));
  const zdot = env.ZDOTDIR && isAbsolute(env.ZDOTDIR) ? env.ZDOTDIR : undefined;
  const files = [
    ...SHELL_START_FILES.map((f) => join(home, f)),
    ...(zdot && zdot !== home ? ZSH_START_FILES.map((f) => join(zdot, f)) : []),
    join(config, 'fish', 'config.fish'),
    // What every non-interactive bash (BASH_ENV) and interactive sh (ENV) sources.
    ...['BASH_ENV', 'ENV'].flatMap((n) => (env[n] && isAbsolute(env[n]) ? [normalize(env[n])] : [])),
  ];
  const r = rcSources(home, zdot, files, join(home, '.ssh', 'config'));
  const covers = (p: string) => p === '/' || [home, ctx.projectDir].some((d) => d === p || d.startsWith(`${p}/`));
  return { code: r.code.filter((p) => !covers(p)), keys: r.keys.filter((p) => !covers(p)) };
}

/** The environment a PATH dir is the bin/ of (a virtualenv, a conda env, or one not made yet), or undefined. */
function environmentRoot(dir: string): string | undefined {
  if (!/\/(bin|Scripts)$/.test(dir)) return undefined;
  const root = dirname(dir);
  // Not there yet: whatever is made there later (a virtualenv the user creates while a
  // sandbox runs, whose site-packages runs at every python start) is floored from the start.
  if (!pathExists(root)) return root;
  return pathExists(join(root, 'pyvenv.cfg')) || pathExists(join(root, 'conda-meta')) ? root : undefined;
}

/** The temp dirs every policy keeps writable: /tmp, /var/tmp and an absolute $TMPDIR. */
export function tempDirs(env: Record<string, string | undefined>): string[] {
  return [...new Set(['/tmp', '/var/tmp', ...(env.TMPDIR && isAbsolute(env.TMPDIR) ? [normalize(env.TMPDIR)] : [])])];
}

/**
 * What tools outside look for in every directory above the one they run in, and run code
 * from: each name is a floor in `dir` (an ancestor of the project, or the top of a temp dir)
 * — unless `dir` is that ecosystem's project itself (it has `unlessHas`: a monorepo or
 * workspace root owns these files), and then the marker cannot be made from inside first.
 */
const WALK_UP: { why: string; names: string[]; unlessHas?: string }[] = [
  // build.rustc-wrapper runs a program; a toolchain file can name a toolchain by path.
  { why: 'cargo, rustup', names: ['.cargo/config', '.cargo/config.toml', 'rust-toolchain', 'rust-toolchain.toml'] },
  { why: 'go', names: ['go.work', 'go.work.sum'] },
  // require() walks up to node_modules; `npm run` puts each one's .bin first on PATH; yarn
  // merges every .yarnrc.yml above (yarnPath runs a script); pnpm and deno find their
  // workspace root by walking up (.pnpmfile.cjs, deno tasks).
  {
    why: 'node, npm, yarn, pnpm, deno',
    names: ['node_modules', 'package.json', '.yarnrc.yml', '.yarnrc', 'pnpm-workspace.yaml', '.pnpmfile.cjs', 'deno.json', 'deno.jsonc'],
    unlessHas: 'package.json',
  },
  // pytest takes the nearest of these above as its rootdir (addopts, pythonpath load code)
  // and loads conftest.py files above the tests.
  { why: 'pytest', names: ['pytest.ini', 'pyproject.toml', 'tox.ini', 'setup.cfg', 'conftest.py'], unlessHas: 'pyproject.toml' },
  // bundler uses the nearest Gemfile above (Ruby code) and the .bundle config beside it.
  { why: 'bundler', names: ['Gemfile', 'gems.rb', '.bundle'], unlessHas: 'Gemfile' },
  // asdf and mise read every .tool-versions / mise config above (a `path:` version, tasks, hooks).
  { why: 'asdf, mise', names: ['.tool-versions', 'mise.toml', '.mise.toml', 'mise.local.toml', '.mise.local.toml', '.mise', '.config/mise', '.config/mise.toml', 'mise/config.toml'] },
];

function walkUpFiles(dir: string, markersLift = true): string[] {
  return WALK_UP.filter((w) => !markersLift || !w.unlessHas || !pathExists(join(dir, w.unlessHas))).flatMap((w) => w.names.map((n) => join(dir, n)));
}

/** git's config, hooks, info, commondir and legacy remote files of every repository (and of its submodules and worktrees). */
const GIT_FLOORS = [
  '/**/.git/config',
  // git reads config and hooks from the directory this file names (worktrees use it): a
  // one-line file would point git run outside at a config the sandbox wrote elsewhere.
  '/**/.git/commondir',
  '/**/.git/worktrees/*/commondir',
  '/**/.git/modules/**/commondir',
  '/**/.git/config.worktree',
  '/**/.git/hooks',
  '/**/.git/info',
  // git's legacy remote files: `git fetch NAME` outside fetches from the URL they name.
  '/**/.git/remotes',
  '/**/.git/branches',
  '/**/.git/worktrees/*/config.worktree',
  '/**/.git/modules/**/config',
  '/**/.git/modules/**/config.worktree',
  '/**/.git/modules/**/hooks',
  '/**/.git/modules/**/info',
  '/**/.git/modules/**/remotes',
  '/**/.git/modules/**/branches',
];

export interface PresetContext {
  /** The project directory (dir of the project file, else the directory asked about). */
  projectDir: string;
  env: Record<string, string | undefined>;
}

export interface Preset {
  body: PolicyBody;
  /** Entries are literal paths (no `~`/`$VAR` expansion). */
  literal: boolean;
}

export function preset(name: PresetName, ctx: PresetContext): Preset {
  switch (name) {
    case 'secrets': {
      const krb = envPath(krb5Cache(ctx.env.KRB5CCNAME));
      const podman = userRuntimeDirs(ctx.env).flatMap((d) => envPath(join(d, 'containers', 'auth.json')));
      // KUBECONFIG is a list of files. Never one that would hide the home or the project.
      const home = homeDir(ctx.env);
      const covers = (p: string) => [home, ctx.projectDir].some((d) => d === p || d.startsWith(`${p}/`));
      const inDirs = SECRET_DIR_VARS.map(([v, f]) => (ctx.env[v] && isAbsolute(ctx.env[v]!) ? join(ctx.env[v]!, f) : undefined));
      const named = [...SECRET_FILE_VARS.map((v) => ctx.env[v]), ...inDirs, ...(ctx.env.KUBECONFIG ?? '').split(':')]
        .flatMap((f) => envPath(f))
        .filter((p) => !covers(p));
      const links = protectedLinks(ctx);
      const linked = links.secrets.filter((p) => !p.includes('$')).map(escapeGlob);
      // Links on the way to a secret: not to be pointed elsewhere.
      const onTheWay = links.floors.filter((p) => !p.includes('$')).map(escapeGlob);
      const sshKeys = loadedByStartupFiles(ctx).keys.filter((p) => !p.includes('$')).map(escapeGlob);
      const paths = [...SECRET_PATHS, ...xdgSecrets(ctx.env), ...krb, ...podman, ...named, ...linked, ...sshKeys];
      const sockets = [...DOCKER_SOCKETS, ...AGENT_SOCKETS, ...envPath(ctx.env.SSH_AUTH_SOCK)];
      return { literal: false, body: { read: { deny: paths }, write: { deny: [...paths, ...onTheWay] }, net: { unix: { deny: sockets } } } };
    }
    case 'persistence':
      return { literal: true, body: { write: { deny: persistencePaths(ctx) } } };
    case 'shell-rc':
      return { literal: false, body: { write: { deny: SHELL_RC } } };
    case 'offline':
      return { literal: false, body: { net: { allow: [] } } };
    case 'node':
    case 'python':
    case 'rust':
    case 'go':
    case 'shell-tools':
      return { literal: true, body: ecosystemPreset(name, ctx.env) };
    case 'project-only': {
      const temps = new Set(['/tmp', '/var/tmp', ctx.env.TMPDIR ?? tmpdir()]);
      return {
        literal: true,
        body: { write: { allow: [ctx.projectDir, ...temps, ...WRITABLE_DEVICES].map(escapeGlob) } },
      };
    }
  }
}
