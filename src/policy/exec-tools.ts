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
    flag: [
      '-g', '--global', '-ws', '--workspaces', '--include-workspace-root', '--dry-run', '-f', '--force', '-s', '--silent',
      '-q', '--quiet', '-d', '--verbose', '-dd', '-ddd', '--json', '-y', '--yes', '--no', '-l', '--long', '-p', '--parseable',
      '--offline', '--prefer-offline', '--prefer-online', '--ignore-scripts', '--no-audit', '--no-fund', '--color', '--no-color',
      '--provenance', '-h', '--help', '-v', '--version', '--usage',
    ],
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
