/**
 * Representative compiled policies for the Seatbelt golden and ordering tests. Built by
 * hand in the compiled.ts format (what the policy compiler hands every enforcer).
 */
import type { CompiledPolicy, NetRule, PathRule, ProgramRule, RuleOrigin } from '../../../src/policy/compiled.js';

type Section = RuleOrigin['section'];

export class PolicyBuilder {
  readonly origins: RuleOrigin[] = [];
  private readonly p: CompiledPolicy;

  constructor(defaults: Partial<Record<'read' | 'write' | 'exec' | 'net' | 'unix', 'allow' | 'deny'>> = {}) {
    this.p = {
      id: 1,
      mode: 'enforce',
      read: { default: defaults.read ?? 'allow', rules: [] },
      write: { default: defaults.write ?? 'allow', rules: [] },
      exec: { default: defaults.exec ?? 'allow', paths: [], programs: [] },
      net: { default: defaults.net ?? 'allow', rules: [] },
      unix: { default: defaults.unix ?? 'allow', rules: [] },
      commands: [],
      origins: this.origins,
      env: { deny: [], allow: [] },
    };
  }

  private origin(section: Section, text: string, source = 'test.sbx.yaml'): number {
    this.origins.push({ source, text, section });
    return this.origins.length - 1;
  }

  path(section: 'read' | 'write' | 'exec' | 'unix', effect: 'allow' | 'deny', pattern: string, opts: { glob?: boolean; floor?: boolean; builtin?: boolean; text?: string } = {}): this {
    const rule: PathRule = {
      rule: this.origin(opts.floor ? 'protect' : section, opts.text ?? pattern, opts.builtin ? 'built-in: home configuration' : undefined),
      effect,
      match: opts.glob ? 'glob' : 'subtree',
      pattern,
      floor: opts.floor ?? false,
      ...(opts.builtin ? { builtin: true } : {}),
    };
    if (section === 'exec') this.p.exec.paths.push(rule);
    else this.p[section].rules.push(rule);
    return this;
  }

  program(effect: 'allow' | 'deny', name: string, args: string[] = []): this {
    const r: ProgramRule = { rule: this.origin('exec', [name, ...args].join(' ')), effect, name, args };
    this.p.exec.programs.push(r);
    return this;
  }

  net(effect: 'allow' | 'deny', family: 4 | 6, address: string, prefix: number, portLo = 0, portHi = 65535, text?: string): this {
    const r: NetRule = { rule: this.origin('net', text ?? `${address}/${prefix}`), effect, family, address, prefix, portLo, portHi };
    this.p.net.rules.push(r);
    return this;
  }

  mode(m: 'enforce' | 'audit'): this {
    this.p.mode = m;
    return this;
  }

  build(): CompiledPolicy {
    return structuredClone(this.p);
  }
}

const HOME = '/Users/dev';
const PROJ = `${HOME}/src/app`;

/** Golden set: name → policy. */
export const goldenPolicies: Record<string, () => CompiledPolicy> = {
  // Like the `secrets` preset: everything readable except credentials; `**/.env` anywhere in the project.
  secrets: () =>
    new PolicyBuilder()
      .path('read', 'deny', `${HOME}/.ssh`, { text: '~/.ssh' })
      .path('read', 'allow', `${HOME}/.ssh/known_hosts`, { text: '~/.ssh/known_hosts' })
      .path('read', 'deny', `${HOME}/.aws`, { text: '~/.aws' })
      .path('read', 'deny', `${HOME}/.config/gcloud`, { text: '~/.config/gcloud' })
      .path('read', 'deny', `${HOME}/.kube/config`, { text: '~/.kube/config' })
      .path('read', 'deny', `${PROJ}/**/.env`, { glob: true, text: '**/.env' })
      .path('unix', 'deny', '/var/run/docker.sock', { text: 'docker.sock' })
      .build(),
  // mise's --deny-all --allow-write=.: system paths readable, project + /tmp + /dev writable, no network.
  'deny-all-allow-write': () =>
    new PolicyBuilder({ read: 'deny', write: 'deny', net: 'deny', unix: 'deny' })
      .path('read', 'allow', '/usr')
      .path('read', 'allow', '/bin')
      .path('read', 'allow', '/System')
      .path('read', 'allow', '/Library')
      .path('read', 'allow', '/private/etc', { text: '/etc' })
      .path('read', 'allow', '/dev')
      .path('read', 'allow', PROJ, { text: '.' })
      .path('write', 'allow', PROJ, { text: '.' })
      .path('write', 'allow', '/tmp')
      .path('write', 'allow', '/dev')
      .path('write', 'deny', `${PROJ}/.git/hooks`, { text: '.git/hooks' })
      .path('write', 'deny', `${PROJ}/.sbx.yaml`, { text: '.sbx.yaml' })
      .build(),
  // Globs of every kind: *, ?, escaped metacharacters, leading/interior/trailing **.
  globs: () =>
    new PolicyBuilder({ write: 'deny' })
      .path('read', 'deny', `${HOME}/*.pem`, { glob: true, text: '~/*.pem' })
      .path('read', 'deny', `${HOME}/.config/??-secret`, { glob: true })
      .path('read', 'deny', `${PROJ}/\\*literal-star\\?.txt`, { glob: true, text: '\\*literal-star\\?.txt' })
      .path('read', 'deny', `${PROJ}/build/**`, { glob: true, text: 'build/**' })
      .path('read', 'allow', `${PROJ}/build/public`)
      .path('write', 'allow', `${PROJ}/**/dist`, { glob: true, text: '**/dist' })
      .path('write', 'deny', `${PROJ}/src`)
      .path('write', 'allow', `${PROJ}/a.b+c(d)[e]{f}^$|.log`, { glob: true })
      .build(),
  // exec: a denied directory, a re-allowed binary, program names with and without args.
  'exec-denies': () =>
    new PolicyBuilder()
      .path('read', 'deny', `${HOME}/.ssh`)
      .path('exec', 'deny', '/usr/local/bin')
      .path('exec', 'allow', '/usr/local/bin/node')
      .program('deny', 'curl')
      .program('deny', 'kubectl', ['delete'])
      .program('deny', '/opt/homebrew/bin/wget')
      .program('allow', 'git', ['status'])
      .build(),
  // Network allow-list: Seatbelt can only name localhost and ports.
  'net-allow-list': () =>
    new PolicyBuilder({ net: 'deny' })
      .net('allow', 4, '140.82.112.3', 32, 443, 443, 'github.com')
      .net('allow', 4, '127.0.0.1', 32, 0, 65535, 'localhost')
      .net('allow', 6, '::1', 128, 0, 65535, 'localhost')
      .net('deny', 4, '127.0.0.1', 32, 5432, 5432, 'localhost:5432')
      .net('deny', 6, '::1', 128, 5432, 5432, 'localhost:5432')
      .build(),
  // Net default allow with ports: all hosts but SMTP; any host on 443 explicitly.
  'net-ports': () =>
    new PolicyBuilder()
      .net('deny', 4, '0.0.0.0', 0, 25, 25, '*:25')
      .net('deny', 6, '::', 0, 25, 25, '*:25')
      .net('deny', 4, '10.0.0.0', 8, 0, 65535, '10.0.0.0/8')
      .build(),
  // Unix sockets: default deny, one directory and one glob allowed, an abstract name ignored.
  'unix-sockets': () =>
    new PolicyBuilder({ unix: 'deny' })
      .path('unix', 'allow', `${HOME}/.ssh/agent`, { text: '$SSH_AUTH_SOCK dir' })
      .path('unix', 'allow', '/tmp/*.sock', { glob: true })
      .path('unix', 'deny', `${HOME}/.ssh/agent/locked`)
      .path('unix', 'allow', '@*', { glob: true })
      .build(),
  // Floors: protect entries that later allows cannot lift, even more specific ones.
  floors: () =>
    new PolicyBuilder()
      .path('read', 'deny', `${HOME}/.config/sbx`, { floor: true, text: 'sbx config' })
      .path('write', 'deny', `${HOME}/.config/sbx`, { floor: true, text: 'sbx config' })
      .path('write', 'deny', `${HOME}/.zshrc`, { floor: true, text: '~/.zshrc' })
      .path('read', 'deny', `${HOME}/**/id_*`, { glob: true, floor: true, text: '~/**/id_*' })
      .path('read', 'allow', `${HOME}/.config/sbx/public`)
      .path('write', 'allow', HOME)
      .build(),
  // Audit: the policy's own denials become reports; a floor stays a denial.
  audit: () =>
    new PolicyBuilder({ net: 'deny' })
      .mode('audit')
      .path('read', 'deny', `${HOME}/.ssh`)
      .path('write', 'deny', `${HOME}/.zshrc`, { floor: true, text: '~/.zshrc' })
      .path('write', 'deny', `${HOME}/.tmux.conf`, { builtin: true, text: 'dot-entries of the home' })
      .build(),
};
