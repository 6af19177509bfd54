/**
 * The global options of the tools whose argument rules sbx understands: one table, the
 * only one. An argument rule (`exec.deny: ["git status"]`) matches the subcommand after
 * the tool's global options, so `git -c k=v -C dir --no-pager status` is `git status`.
 *
 * `value` options take the next argument (or an attached one: `--name=value`, `-nVALUE`);
 * `flag` options take none. An option in neither list may take a value or not: both
 * readings are decided, and any reading that denies, denies (npm accepts any
 * `--key value` pair of its configuration).
 *
 * Best-effort by nature: a program can always implement a subcommand itself (an alias,
 * a plugin, a config file, a copy that was modified). Name a program, not a subcommand,
 * when it matters.
 *
 * The engine applies the table the finished policy carries (ProgramRule.tool); the same
 * reading is in `subcommandStarts` below (TS, for `sbx check`) and in native
 * `subcommand_starts` (exec_rules.cc), tested against each other.
 */
import { basename } from 'node:path';

export interface ToolOptions {
  /** The tool the table is for (git, kubectl …). */
  name: string;
  value: string[];
  flag: string[];
}

const TABLE: Record<string, { value: string[]; flag: string[] }> = {
  git: {
    value: ['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--config-env', '--attr-source'],
    flag: [
      '-p', '--paginate', '-P', '--exec-path', '--no-pager', '--bare', '--no-replace-objects', '--no-lazy-fetch', '--literal-pathspecs',
      '--glob-pathspecs', '--noglob-pathspecs', '--icase-pathspecs', '--no-optional-locks', '--no-advice', '--html-path',
      '--man-path', '--info-path', '-v', '--version', '-h', '--help',
    ],
  },
  kubectl: {
    value: [
      '--as', '--as-group', '--as-uid', '--cache-dir', '--certificate-authority', '--client-certificate', '--client-key',
      '--cluster', '--context', '--kubeconfig', '-n', '--namespace', '--password', '--profile', '--profile-output',
      '--request-timeout', '-s', '--server', '--tls-server-name', '--token', '--user', '--username', '-v', '--v',
      '--vmodule', '--log-dir', '--log-file', '--log-file-max-size', '--log-flush-frequency', '--stderrthreshold',
      '--log-backtrace-at',
    ],
    flag: [
      '--insecure-skip-tls-verify', '--match-server-version', '--warnings-as-errors', '--disable-compression',
      '--alsologtostderr', '--logtostderr', '--one-output', '--skip-headers', '--skip-log-headers', '-h', '--help',
    ],
  },
  docker: {
    value: ['--config', '-c', '--context', '-H', '--host', '-l', '--log-level', '--tlscacert', '--tlscert', '--tlskey'],
    flag: ['-D', '--debug', '--tls', '--tlsverify', '-v', '--version', '-h', '--help'],
  },
  npm: {
    value: [
      '-C', '--prefix', '-w', '--workspace', '--registry', '--userconfig', '--globalconfig', '--cache', '--loglevel',
      '--tag', '--otp', '--access', '--scope', '--location', '--auth-type', '--cafile', '--cert', '--key', '--proxy',
      '--https-proxy', '--before', '--omit', '--include', '--script-shell', '--node-options',
    ],
    // None: npm reads a word after any boolean option as its value when it looks like one
    // (`--dry-run true publish`, `--color always publish`), so every option is read both ways.
    flag: [],
  },
};

/**
 * git's dashed form: `git-push ARGS` (git-core's programs, hard links to git) is `git push
 * ARGS`. Twin of native `dashed_form` (exec_rules.cc).
 */
export function dashedForm(argv: readonly string[]): readonly string[] {
  const m = argv.length > 0 ? /^git-([a-z][a-z0-9-]*)$/.exec(basename(argv[0]!)) : null;
  return m ? ['git', m[1]!, ...argv.slice(1)] : argv;
}

/** Tools with a table (for docs and tests). */
export const KNOWN_TOOLS = Object.keys(TABLE);

/**
 * The table for the first of `names` that is a known tool: the basename of the image a
 * rule's name resolved to, then the rule's own name (npm resolves to npm-cli.js).
 */
export function toolFor(names: string[]): ToolOptions | undefined {
  for (const n of names) {
    const b = basename(n);
    const t = TABLE[b] ?? TABLE[b.replace(/\.(exe|js|cjs|mjs)$/, '')];
    if (t) return { name: TABLE[b] ? b : b.replace(/\.(exe|js|cjs|mjs)$/, ''), value: [...t.value], flag: [...t.flag] };
  }
  return undefined;
}

/**
 * Where the subcommand may start in argv (argv[0] is the program): every index some
 * reading of the options yields, ascending. Twin of native `subcommand_starts`.
 */
export function subcommandStarts(argv: readonly string[], tool: Pick<ToolOptions, 'value' | 'flag'>): number[] {
  const out = new Set<number>();
  const seen = new Set<number>([1]);
  const todo = [1];
  const push = (i: number) => {
    if (i <= argv.length + 2 && !seen.has(i)) {
      seen.add(i);
      todo.push(i);
    }
  };
  while (todo.length > 0) {
    const i = todo.pop()!;
    if (i >= argv.length) continue;
    const a = argv[i]!;
    if (a === '--') {
      push(i + 1);
      if (i + 1 < argv.length) out.add(i + 1);
      continue;
    }
    if (a.length < 2 || !a.startsWith('-')) {
      out.add(i);
      continue;
    }
    if (tool.value.includes(a)) push(i + 2);
    else if (tool.flag.includes(a) || (a.startsWith('--') && a.includes('='))) push(i + 1);
    else if (a[1] !== '-' && a.length > 2 && tool.value.includes(a.slice(0, 2))) push(i + 1);
    else {
      push(i + 1);
      push(i + 2);
    }
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * Other ways to write a subcommand, for deny rules: a rule on `npm publish` denies `npm pub`
 * too, a rule on `docker run` denies `docker container run`. Deny rules only: a form that a
 * later version of the tool reads as another command is then denied, never allowed.
 *
 * npm takes any unique prefix of a command or alias, its aliases, and camelCase for a dashed
 * name (lib/utils/cmd-list.js `deref`; npm 10–11's lists). docker's classic commands are
 * shortcuts of its management commands (`docker rm` is `docker container rm`).
 */
const NPM_COMMANDS = [
  'access', 'adduser', 'approve-scripts', 'audit', 'bugs', 'cache', 'ci', 'completion', 'config', 'dedupe', 'deny-scripts',
  'deprecate', 'diff', 'dist-tag', 'docs', 'doctor', 'edit', 'exec', 'explain', 'explore', 'find-dupes', 'fund', 'get', 'help',
  'help-search', 'hook', 'init', 'install', 'install-ci-test', 'install-scripts', 'install-test', 'link', 'll', 'login', 'logout',
  'ls', 'org', 'outdated', 'owner', 'pack', 'ping', 'pkg', 'prefix', 'profile', 'prune', 'publish', 'query', 'rebuild', 'repo',
  'restart', 'root', 'run', 'run-script', 'sbom', 'search', 'set', 'shrinkwrap', 'stage', 'star', 'stars', 'start', 'stop', 'team',
  'test', 'token', 'trust', 'undeprecate', 'uninstall', 'unpublish', 'unstar', 'update', 'version', 'view', 'whoami',
];
const NPM_ALIASES: Record<string, string> = {
  author: 'owner', home: 'docs', issues: 'bugs', info: 'view', show: 'view', find: 'search', add: 'install', unlink: 'uninstall',
  remove: 'uninstall', rm: 'uninstall', r: 'uninstall', un: 'uninstall', rb: 'rebuild', list: 'ls', ln: 'link', create: 'init',
  i: 'install', it: 'install-test', cit: 'install-ci-test', u: 'update', up: 'update', c: 'config', s: 'search', se: 'search',
  tst: 'test', t: 'test', ddp: 'dedupe', v: 'view', 'run-script': 'run', 'clean-install': 'ci', 'clean-install-test': 'install-ci-test',
  x: 'exec', why: 'explain', la: 'll', verison: 'version', ic: 'ci', innit: 'init', in: 'install', ins: 'install', inst: 'install',
  insta: 'install', instal: 'install', isnt: 'install', isnta: 'install', isntal: 'install', isntall: 'install', 'install-clean': 'ci',
  'isntall-clean': 'ci', hlep: 'help', 'dist-tags': 'dist-tag', upgrade: 'update', udpate: 'update', rum: 'run', sit: 'install-ci-test',
  urn: 'run', ogr: 'org', 'add-user': 'adduser',
};

/** What npm runs for `word` (its `deref`), as far as these lists know; undefined when none or ambiguous. */
function npmDeref(word: string): string | undefined {
  const w = /[A-Z]/.test(word) ? word.replace(/([A-Z])/g, (m) => `-${m.toLowerCase()}`) : word;
  if (NPM_COMMANDS.includes(w)) return w;
  if (NPM_ALIASES[w]) return NPM_ALIASES[w];
  const names = [...NPM_COMMANDS, ...Object.keys(NPM_ALIASES)];
  const starting = names.filter((n) => n.startsWith(w));
  if (w.length === 0 || starting.length !== 1) return undefined;
  let a = starting[0]!;
  while (NPM_ALIASES[a]) a = NPM_ALIASES[a]!;
  return a;
}

/** Every word npm reads as `command` (itself included). */
function npmForms(command: string): string[] {
  const target = npmDeref(command) ?? command;
  const words = new Set<string>([command]);
  for (const n of [...NPM_COMMANDS, ...Object.keys(NPM_ALIASES)]) {
    for (let k = 1; k <= n.length; k++) if (npmDeref(n.slice(0, k)) === target) words.add(n.slice(0, k));
  }
  for (const w of [...words]) if (w.includes('-')) words.add(w.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
  return [...words];
}

const DOCKER_MANAGED: Record<string, string[][]> = {
  container: [
    ['attach'], ['commit'], ['cp'], ['create'], ['diff'], ['exec'], ['export'], ['kill'], ['logs'], ['pause'], ['port'], ['rename'],
    ['restart'], ['rm', 'remove'], ['run'], ['start'], ['stats'], ['stop'], ['top'], ['unpause'], ['update'], ['wait'], ['ps', 'ls', 'list'],
  ],
  image: [['build'], ['history'], ['import'], ['images', 'ls', 'list'], ['load'], ['pull'], ['push'], ['rmi', 'rm', 'remove'], ['save'], ['tag']],
};

/** Every way to write docker's subcommand `args` starts with, as argument lists (itself included). */
function dockerForms(args: readonly string[]): string[][] {
  const out: string[][] = [[...args]];
  const rest = (n: number) => args.slice(n);
  for (const [group, commands] of Object.entries(DOCKER_MANAGED)) {
    for (const names of commands) {
      const [short, ...long] = names as [string, ...string[]];
      const alsoLong = [short, ...long];
      // `docker rm …` or `docker container rm …` / `docker container remove …`
      const matchesShort = args[0] === short;
      const matchesLong = args[0] === group && args[1] !== undefined && alsoLong.includes(args[1]);
      if (!matchesShort && !matchesLong) continue;
      const tail = matchesShort ? rest(1) : rest(2);
      out.push([short, ...tail]);
      for (const l of alsoLong) out.push([group, l, ...tail]);
      if (group === 'image' && short === 'build') for (const b of ['builder', 'buildx']) out.push([b, 'build', ...tail]);
    }
  }
  const seen = new Set<string>();
  return out.filter((a) => (seen.has(a.join('\0')) ? false : (seen.add(a.join('\0')), true)));
}

/** The argument lists a deny rule's `args` may be written as for `tool` (itself first). */
export function subcommandForms(tool: string, args: readonly string[]): string[][] {
  if (args.length === 0) return [[...args]];
  if (tool === 'npm') return npmForms(args[0]!).map((w) => [w, ...args.slice(1)]);
  if (tool === 'docker') return dockerForms(args);
  return [[...args]];
}
