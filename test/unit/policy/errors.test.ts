/** Every policy-file error message, verbatim: file:line:col: key.path: message (got value). */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../src/errors.js';
import { resolvePolicyForDir } from '../../../src/policy/index.js';
import { parsePolicyText } from '../../../src/policy/load.js';
import { tempWorld } from './helpers.js';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as PolicyError).issues;
  }
  throw new Error('expected a PolicyError');
}

async function issuesOfAsync(fn: () => Promise<unknown>): Promise<{ message: string; issues: string[] }> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return { message: (err as PolicyError).message, issues: (err as PolicyError).issues };
  }
  throw new Error('expected a PolicyError');
}

const F = '/p/.sbx.yaml';

describe('schema and YAML errors (project file)', () => {
  const cases: [string, string, string[]][] = [
    ['wrong type in a list', 'version: 1\nread:\n  deny: ["~/.ssh", 42]\n', [`${F}:3:20: read.deny[1]: expected a string (got 42)`]],
    ['typo in a top-level key', 'version: 1\nraed:\n  deny: []\n', [`${F}:2:1: raed: unknown key (did you mean 'read'?)`]],
    ['typo in a nested key', 'version: 1\nread: { deny: [a], alow: [b] }\n', [`${F}:2:20: read.alow: unknown key (did you mean 'allow'?)`]],
    ['missing version', 'read: {}\n', [`${F}:1:1: version: missing (expected 1)`]],
    ['unsupported version', 'version: 2\n', [`${F}:1:10: version: expected 1 (got 2)`]],
    ['bad mode', 'version: 1\nmode: enforcing\n', [`${F}:2:7: mode: expected one of enforce, audit (got "enforcing")`]],
    ['unknown preset', 'version: 1\nextends: [secret]\n', [`${F}:2:11: extends[0]: expected one of secrets, persistence, shell-rc, offline, project-only, node, python, rust, go, shell-tools (got "secret")`]],
    ['duplicate key', 'version: 1\nread: {}\nread: {}\n', [`${F}:3:1: yaml: Map keys must be unique`]],
    ['tab indentation', 'version: 1\n\tread: {}\n', [`${F}:2:1: yaml: Tabs are not allowed as indentation`]],
    ['empty file', '', [`${F}:1:1: (top level): empty file (expected a mapping starting with 'version: 1')`]],
    ['a list instead of a mapping', '- a\n- b\n', [`${F}:1:1: (top level): expected a mapping (got a list)`]],
    ['a string instead of a list', 'version: 1\nnet:\n  allow: github.com\n', [`${F}:3:10: net.allow: expected a list (got "github.com")`]],
    ['protect in a project file', 'version: 1\nprotect: [secrets]\n', [`${F}:2:1: protect: unknown key (protect is only allowed in the user config)`]],
    [
      'presets inside a command override',
      'version: 1\ncommands:\n  npm:\n    extends: [offline]\n',
      [`${F}:4:5: commands.npm.extends: unknown key (expected one of: read, write, exec, net, env, mode)`],
    ],
    ['empty path', 'version: 1\nwrite:\n  allow: [""]\n', [`${F}:3:11: write.allow[0]: expected a non-empty string (got "")`]],
    ['env as a list', 'version: 1\nenv: [AWS_*]\n', [`${F}:2:6: env: expected a mapping (got a list)`]],
    [
      'several problems, in file order',
      'version: "1"\nnet: { unix: { deny: [~, {a: 1}] } }\n',
      [
        `${F}:1:10: version: expected 1 (got "1")`,
        `${F}:2:23: net.unix.deny[0]: expected a string (got null)`,
        `${F}:2:26: net.unix.deny[1]: expected a string (got a mapping)`,
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    expect(issuesOf(() => parsePolicyText(text, F, 'project'))).toEqual(want);
  });

  it('a valid file has no issues (the allowed twin)', () => {
    const text = 'version: 1\nextends: [secrets]\nread: { deny: ["~/.ssh"], allow: ["~/.ssh/known_hosts"] }\nmode: audit\n';
    expect(parsePolicyText(text, F, 'project').data.mode).toBe('audit');
  });

  it('the error message names the file and counts problems', () => {
    try {
      parsePolicyText('version: 1\nraed: 1\nwrte: 2\n', F, 'project');
    } catch (err) {
      expect((err as PolicyError).message).toBe(`${F}: invalid policy file (2 problems)`);
      expect((err as PolicyError).exitCode).toBe(2);
      return;
    }
    throw new Error('expected a PolicyError');
  });
});

describe('value errors found while compiling (real files)', () => {
  const w = tempWorld();
  const proj = join(w.root, 'p');
  const file = join(proj, '.sbx.yaml');
  mkdirSync(proj, { recursive: true });
  const cases: [string, string, string[]][] = [
    [
      'unknown variables',
      'version: 1\nread:\n  deny: ["$NOPE/x", "~/ok"]\nwrite:\n  allow: ["${ALSO_NOPE}"]\n',
      [`${file}:3:10: read.deny[0]: unknown variable $NOPE (got "$NOPE/x")`, `${file}:5:11: write.allow[0]: unknown variable $ALSO_NOPE (got "\${ALSO_NOPE}")`],
    ],
    [
      'bad network entries',
      'version: 1\nnet:\n  allow: ["https://github.com", "10.0.0.0/40", "*.com"]\n  deny: ["db:99999"]\n',
      [
        `${file}:3:11: net.allow[0]: not a host, IP, CIDR or host:port (leave out the scheme) (got "https://github.com")`,
        `${file}:3:33: net.allow[1]: bad prefix length '/40' (IPv4 allows 0-32) (got "10.0.0.0/40")`,
        `${file}:3:48: net.allow[2]: wildcard '*.com' is too broad (use '*' for every host) (got "*.com")`,
        `${file}:4:10: net.deny[0]: bad port range '99999' (ports are 1-65535, low-high) (got "db:99999")`,
      ],
    ],
    [
      'wildcard program name',
      'version: 1\nexec:\n  deny: ["cu*rl", "kubectl delete"]\n',
      [`${file}:3:10: exec.deny[0]: a program is a name, a path, or a name/path followed by arguments; wildcards only in paths without arguments (got "cu*rl")`],
    ],
    ['bad env pattern', 'version: 1\nenv:\n  deny: ["AWS-KEY", "OK_*"]\n', [`${file}:3:10: env.deny[0]: expected a variable name or pattern of letters, digits, _ and * (got "AWS-KEY")`]],
    [
      'bad port inside a command override',
      'version: 1\ncommands:\n  npm:\n    net: { allow: ["registry.npmjs.org:http"] }\n',
      [`${file}:4:20: commands.npm.net.allow[0]: bad port 'http' (expected a number or a range like 8000-8999) (got "registry.npmjs.org:http")`],
    ],
    ['~user', 'version: 1\nread: { deny: ["~bob/.ssh"] }\n', [`${file}:2:16: read.deny[0]: '~user' is not supported, write the path (got "~bob/.ssh")`]],
  ];
  it.each(cases)('%s', async (_name, text, want) => {
    writeFileSync(file, text);
    const { message, issues } = await issuesOfAsync(() => resolvePolicyForDir(proj, { env: w.env }));
    expect(issues).toEqual(want);
    expect(message).toBe(`${file}: invalid policy file (${want.length} problem${want.length === 1 ? '' : 's'})`);
  });

  it('user config: protect errors are all reported together', async () => {
    rmSync(file, { force: true });
    const user = w.write('home/.config/sbx/config.yaml', 'version: 1\nprotect: [offline, "~/.kube", "$NOPE"]\n');
    const { issues } = await issuesOfAsync(() => resolvePolicyForDir(proj, { env: w.env }));
    expect(issues).toEqual([
      `${user}:2:11: protect[0]: only deny-list presets can be protected (secrets, persistence, shell-rc); put 'offline' in extends (got "offline")`,
      `${user}:2:31: protect[2]: unknown variable $NOPE (got "$NOPE")`,
    ]);
    w.write('home/.config/sbx/config.yaml', 'version: 1\nprotect: [secrets, "~/.kube"]\n');
    await expect(resolvePolicyForDir(proj, { env: w.env })).resolves.toBeTruthy();
    rmSync(user);
  });

  it('a directory named .sbx.yaml is not a policy file', async () => {
    const dirAsFile = join(w.root, 'q');
    mkdirSync(join(dirAsFile, '.sbx.yaml'), { recursive: true });
    // A directory named .sbx.yaml is not a policy file: discovery skips it (allowed twin: no error).
    await expect(resolvePolicyForDir(dirAsFile, { env: w.env })).resolves.toMatchObject({ projectFile: undefined });
  });
});
