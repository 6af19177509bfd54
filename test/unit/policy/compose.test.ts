/**
 * Composition: presets + user + project (+ trust) → one policy, checked through explain().
 * The temp world lives under /tmp, which some presets keep writable: "denied elsewhere"
 * checks therefore use paths outside it (/etc).
 */
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explain, type CheckOp } from '../../../src/policy/explain.js';
import { resolvePolicy, resolvePolicyForDir } from '../../../src/policy/index.js';
import { loadPolicyFile } from '../../../src/policy/load.js';
import { decidePath } from '../../../src/policy/match.js';
import { trust } from '../../../src/policy/trust.js';
import { check, tempWorld, tmpSample } from './helpers.js';

type Check = [CheckOp, string, boolean, string?];
interface Case {
  name: string;
  user?: string;
  project?: string;
  /** Project directory relative to HOME (default "p"). */
  at?: string;
  trusted?: boolean;
  /** Symlinks to create first: [link, target] (placeholders allowed). */
  links?: [string, string][];
  /** Substrings every one of which some warning must contain. */
  warnings?: string[];
  checks: Check[];
}

const cases: Case[] = [
  {
    name: 'no file anywhere: secrets applies as a floor',
    checks: [
      ['read', '~/.ssh/id_rsa', false, 'default protect (protect: preset secrets)'],
      ['read', '~/.aws/credentials', false],
      ['read', '~/.kube/config', false],
      ['read', '~/.docker/config.json', false],
      ['read', '<P>/.env', false],
      ['read', '<P>/.envrc', true],
      ['read', '<P>/src/main.ts', true, 'no rule matches'],
      ['write', tmpSample(), true],
      ['net', 'github.com', true],
      ['net', '/var/run/docker.sock', false],
      ['net', '/run/other.sock', true],
      ['env', 'AWS_SECRET_ACCESS_KEY', true],
    ],
  },
  {
    name: "sbx's own config, state and sockets are always protected",
    user: 'version: 1\nextends: []\nprotect: []\n',
    checks: [
      ['read', '~/.ssh/id_rsa', true],
      ['write', '~/.local/state/sbx/trust.json', false, 'built-in: sbx state'],
      ['read', '~/.local/state/sbx/trust.json', false, "built-in: sbx's records of every session"],
      ['read', '~/.local/state/sbx/violations.jsonl', false, "built-in: sbx's records of every session"],
      ['read', '~/.local/state/sbx/hook-cache/bash', true],
      ['write', '~/.config/sbx/config.yaml', false, 'built-in: sbx config'],
      ['read', '~/.config/sbx/config.yaml', true],
      ['write', '<R>/run/sbx/control.sock', false, 'built-in: sbx sockets'],
      ['net', '<R>/run/sbx/control.sock', false, 'built-in: sbx sockets'],
      ['net', '<R>/run/other.sock', true],
      ['write', '~/.config/other/x', false, 'built-in: home configuration'],
      ['write', '~/src/other/x', true],
    ],
  },
  {
    name: 'user extends [] keeps the default protect floor',
    user: 'version: 1\nextends: []\n',
    checks: [
      ['read', '~/.ssh/id_rsa', false],
      ['read', '~/src/x', true],
    ],
  },
  {
    name: 'trusted project: write.allow is a whitelist, and readable',
    project: 'version: 1\nwrite: { allow: [".", "/tmp"] }\n',
    trusted: true,
    checks: [
      ['write', '<P>/src/new-dir/a.ts', true, '<P>/.sbx.yaml:2:18'],
      ['write', '/mnt/elsewhere', false, 'no rule matches: write defaults to deny'],
      ['write', '/tmp/build.o', true],
      ['write', '/dev/null', true, 'built-in: devices'],
      ['write', '/dev/sda', false],
      ['read', '<P>/src/a.ts', true],
    ],
  },
  {
    name: 'untrusted project: a whitelist still narrows (intersection with allow-all)',
    project: 'version: 1\nwrite: { allow: [".", "/tmp"] }\n',
    checks: [
      ['write', '<P>/dist/out.js', true],
      ['write', '/etc/elsewhere', false],
    ],
  },
  {
    name: 'untrusted project cannot widen a user whitelist',
    user: 'version: 1\nwrite: { allow: ["~/work"] }\n',
    project: 'version: 1\nwrite: { allow: ["."] }\n',
    at: 'other',
    checks: [
      ['write', '<P>/x', false],
      ['write', '~/work/x', true],
    ],
  },
  {
    name: 'trusted project can widen a user whitelist',
    user: 'version: 1\nwrite: { allow: ["~/work"] }\n',
    project: 'version: 1\nwrite: { allow: ["."] }\n',
    at: 'other',
    trusted: true,
    checks: [
      ['write', '<P>/x', true],
      ['write', '~/work/x', true],
      ['write', '~/third/x', false],
    ],
  },
  {
    name: 'the protect floor is not lifted by a trusted project',
    project: 'version: 1\nread: { allow: ["~/.ssh/known_hosts", ".env"] }\n',
    trusted: true,
    checks: [
      ['read', '~/.ssh/known_hosts', false, 'protect'],
      ['read', '<P>/.env', false],
      ['read', '<P>/README.md', true],
    ],
  },
  {
    name: 'without protect, a trusted project may lift a preset (more specific wins)',
    user: 'version: 1\nprotect: []\n',
    project: 'version: 1\nread: { allow: ["~/.ssh/known_hosts", ".env"] }\n',
    trusted: true,
    checks: [
      ['read', '~/.ssh/known_hosts', true],
      ['read', '~/.ssh/id_rsa', false, 'preset secrets (default)'],
      ['read', '<P>/.env', true],
      ['read', '<P>/sub/.env', false],
    ],
  },
  {
    name: '...but an untrusted one may not',
    user: 'version: 1\nprotect: []\n',
    project: 'version: 1\nread: { allow: ["~/.ssh/known_hosts", ".env"] }\n',
    checks: [
      ['read', '~/.ssh/known_hosts', false],
      ['read', '<P>/.env', false],
      ['read', '<P>/main.c', true],
    ],
  },
  {
    name: 'untrusted denies are kept',
    project: 'version: 1\nread: { deny: ["secret.txt", "**/*.pem"] }\nexec: { deny: ["curl"] }\n',
    checks: [
      ['read', '<P>/secret.txt', false],
      ['read', '<P>/keys/a.pem', false],
      ['read', '<P>/ok.txt', true],
      ['exec', '<R>/bin/curl', false],
      ['exec', '<R>/bin/kubectl', true],
    ],
  },
  {
    name: 'most specific wins across layers',
    user: 'version: 1\nread: { deny: ["~/data"] }\n',
    project: 'version: 1\nread: { allow: ["~/data/public"] }\n',
    trusted: true,
    checks: [
      ['read', '~/data/public/a', true],
      ['read', '~/data/private/a', false],
      ['read', '~/data', false],
    ],
  },
  {
    name: 'net: allow-list of names, resolved; DNS kept; everything else denied',
    project: 'version: 1\nnet: { allow: ["github.com", "*.npmjs.org", "localhost:3000"] }\n',
    checks: [
      ['net', 'github.com', true],
      ['net', '140.82.121.4:443', true],
      ['net', 'registry.npmjs.org', true],
      ['net', 'npmjs.org', false, 'no rule matches: net defaults to deny'],
      ['net', 'example.org', false],
      ['net', '8.8.8.8:53', false],
      ['net', '127.0.0.53:53', true, 'built-in: DNS'],
      ['net', '127.0.0.1:3000', true],
      ['net', '127.0.0.1:5432', false],
      ['net', '[::1]:3000', true],
    ],
  },
  {
    name: 'net: a user deny is not lifted by an untrusted allow',
    user: 'version: 1\nnet: { deny: ["github.com", "10.0.0.0/8"] }\n',
    project: 'version: 1\nnet: { allow: ["github.com", "10.1.2.3", "example.org"] }\n',
    checks: [
      ['net', 'github.com', false],
      ['net', '140.82.121.4:443', false],
      ['net', '10.1.2.3:443', false],
      ['net', 'example.org', true],
    ],
  },
  {
    name: 'built-in DNS and device allows never override an explicit user deny',
    user: 'version: 1\nnet: { deny: ["localhost"] }\nwrite: { deny: ["/dev"] }\n',
    project: 'version: 1\nnet: { allow: ["github.com"] }\nwrite: { allow: ["."] }\n',
    checks: [
      ['net', '127.0.0.53:53', false, 'net rule "localhost"'],
      ['write', '/dev/null', false],
      ['net', 'github.com', true],
      ['write', '<P>/x', true],
    ],
  },
  {
    name: '...while they fill in for the default',
    project: 'version: 1\nnet: { allow: ["github.com"] }\nwrite: { allow: ["."] }\n',
    checks: [
      ['net', '127.0.0.53:53', true, 'built-in: DNS'],
      ['write', '/dev/null', true, 'built-in: devices'],
    ],
  },
  {
    name: 'net: a trusted narrower port beats a user host deny',
    user: 'version: 1\nnet: { deny: ["github.com"] }\n',
    project: 'version: 1\nnet: { allow: ["github.com:443"] }\n',
    trusted: true,
    checks: [
      ['net', 'github.com:443', true],
      ['net', 'github.com:22', false],
    ],
  },
  {
    name: 'offline preset: no network at all, loopback included',
    project: 'version: 1\nextends: [offline]\n',
    checks: [
      ['net', 'github.com', false],
      ['net', '127.0.0.1:8080', false],
      ['net', '/run/x.sock', true],
    ],
  },
  {
    name: 'project-only preset: writes only in the project and temp dirs',
    project: 'version: 1\nextends: [project-only]\n',
    checks: [
      ['write', '<P>/out/x', true],
      ['write', tmpSample(), true],
      ['write', tmpSample('/var/tmp'), true],
      ['write', '/etc/x', false],
      ['read', '/etc/x', true],
    ],
  },
  {
    name: 'shell-rc preset',
    user: 'version: 1\nextends: [secrets, shell-rc]\n',
    checks: [
      ['write', '~/.bashrc', false],
      ['write', '~/.config/fish/config.fish', false],
      ['read', '~/.bashrc', true],
      ['write', '<P>/.git/hooks/pre-commit', false],
      ['write', '<P>/.git/config', false, 'preset persistence'], // the default floor (protect: [secrets, persistence])
      ['write', '<P>/.git/objects/ab', true],
      ['write', '<P>/.vscode/settings.json', false],
      ['write', '<P>/.devcontainer/devcontainer.json', false],
      ['write', '<P>/app.code-workspace', false],
      ['write', '<P>/app.code-workspace.md', true],
      ['write', '<P>/.zed/settings.json', false],
      ['write', '<P>/.zedrc', true],
    ],
  },
  {
    name: 'exec: names, argv prefixes and paths',
    project: 'version: 1\nexec: { deny: ["kubectl delete", "<R>/bin/curl"] }\n',
    checks: [
      ['exec', '<R>/bin/kubectl delete pod x', false],
      ['exec', '<R>/bin/kubectl get pods', true],
      ['exec', '<R>/bin/curl', false],
    ],
  },
  {
    name: 'exec: an untrusted program allow cannot lift a user program deny',
    user: 'version: 1\nexec: { deny: ["<R>/bin/kubectl delete"] }\n',
    project: 'version: 1\nexec: { allow: ["kubectl delete pod"] }\n',
    checks: [
      ['exec', '<R>/bin/kubectl delete pod x', false],
      ['exec', '<R>/bin/kubectl get pods', true],
    ],
  },
  {
    name: 'exec: a trusted one can (more arguments win)',
    user: 'version: 1\nexec: { deny: ["<R>/bin/kubectl delete"] }\n',
    project: 'version: 1\nexec: { allow: ["kubectl delete pod"] }\n',
    trusted: true,
    checks: [
      ['exec', '<R>/bin/kubectl delete pod x', true],
      ['exec', '<R>/bin/kubectl delete svc x', false],
    ],
  },
  {
    name: 'exec: a path without arguments is a path rule that program allows do not lift',
    user: 'version: 1\nexec: { deny: ["<R>/bin/kubectl"] }\n',
    project: 'version: 1\nexec: { allow: ["kubectl get"] }\n',
    trusted: true,
    checks: [
      ['exec', '<R>/bin/kubectl get pods', false],
      ['exec', '<R>/bin/curl', true],
    ],
  },
  {
    name: 'env: deny patterns, trusted allow exceptions',
    user: 'version: 1\nenv: { deny: ["AWS_*"] }\n',
    project: 'version: 1\nenv: { deny: ["*_TOKEN"], allow: ["AWS_REGION"] }\n',
    trusted: true,
    checks: [
      ['env', 'AWS_SECRET_ACCESS_KEY', false],
      ['env', 'AWS_REGION', true],
      ['env', 'NPM_TOKEN', false],
      ['env', 'PATH', true],
    ],
  },
  {
    name: 'env: untrusted allow is dropped',
    user: 'version: 1\nenv: { deny: ["AWS_*"] }\n',
    project: 'version: 1\nenv: { allow: ["AWS_REGION"] }\n',
    checks: [
      ['env', 'AWS_REGION', false],
      ['env', 'HOME', true],
    ],
  },
  {
    name: 'symlinked project dir: rules and targets meet on the canonical path',
    project: 'version: 1\nwrite: { allow: ["."] }\n',
    at: 'real-proj',
    trusted: true,
    checks: [
      ['write', '~/linked-proj/new/file', true],
      ['write', '~/real-proj/new/file', true],
      ['write', '~/linked-proj/../x', false],
    ],
  },
  {
    name: 'an allow does not follow a symlink in the project that leads outside it',
    project: 'version: 1\nwrite: { allow: ["out", "build-link"] }\n',
    trusted: true,
    links: [
      ['<P>/out', '<R>/outside'],
      ['<P>/build-link', '<P>/build'],
    ],
    warnings: ['"out" leads through a symlink to <R>/outside, outside <P>: the allow covers <P>/out only'],
    checks: [
      ['write', '<R>/outside/x', false],
      ['write', '<P>/out/x', false],
      ['write', '<P>/build/x', true],
      ['write', '<P>/build-link/x', true],
    ],
  },
  {
    name: 'a deny redirected by a symlink covers both places',
    project: 'version: 1\nread: { deny: ["secret-link"] }\n',
    links: [['<P>/secret-link', '<R>/vault']],
    checks: [
      ['read', '<R>/vault/key', false],
      ['read', '<P>/other', true],
    ],
  },
  {
    name: 'the default persistence floor: write-denied, still readable; the project stays writable',
    checks: [
      ['write', '~/.bashrc', false, 'preset persistence'],
      ['read', '~/.bashrc', true],
      ['write', '~/.zshenv', false],
      ['write', '~/.config/fish/conf.d/x.fish', false],
      ['write', '~/.config/fish/fish_variables', false, 'built-in: home configuration'], // SETUVAR --export reaches every program an outside fish starts
      ['write', '~/.config/systemd/user/x.service', false],
      ['write', '~/.config/autostart/x.desktop', false],
      ['write', '~/.local/bin/git', false],
      ['write', '~/.gitconfig', false],
      ['write', '~/.config/git/config', false],
      ['write', '<P>/.git/config', false],
      ['write', '<P>/.git/hooks/post-checkout', false],
      ['write', '<P>/.git/info/attributes', false],
      ['write', '<R>/elsewhere/repo/.git/config', false],
      ['write', '<P>/vendor/lib/.git/modules/m/hooks/x', false],
      ['write', '<P>/.git/objects/ab/cdef', true],
      ['write', '<P>/src/a.ts', true],
      ['write', '~/.ssh/authorized_keys', false],
    ],
  },
  {
    name: 'ancestors of floors cannot be replaced (exact), what is below them stays as it was',
    checks: [
      ['write', '~/.config', false, 'ancestor of a floor'],
      ['write', '~/.config/other-app/settings', false, 'built-in: home configuration'],
      ['write', '~/.cache/sbx-sandbox/other-app/x', true],
      ['write', '~', false, 'ancestor of a floor'],
      ['write', '~/notes', true],
      ['write', '<P>/sub/.git', false, 'ancestor of a floor'],
      ['write', '<P>/.gitignore', true],
      ['write', '~/.m2', false],
      ['write', '~/.m2/repository/x', false, 'built-in: home configuration'],
    ],
  },
  {
    name: 'home configuration: dot-entries write-denied; histories, XDG state and the sandbox\'s own cache excepted where writes are allowed anyway',
    checks: [
      ['write', '~/.tmux.conf', false, 'built-in: home configuration'],
      ['write', '~/.local/lib/python3.11/site-packages/usercustomize.py', false, 'built-in: home configuration'],
      ['write', '~/.local/share/direnv/allow/abc', false, 'built-in: home configuration'],
      ['write', '~/.local/share/fish/fish_history.Ab12Cd', true, 'built-in: home configuration'],
      ['write', '~/.local/share/fish/vendor_conf.d/x.fish', false, 'built-in: home configuration'],
      ['write', '~/.cache/sbx-sandbox/pip/http/x', true, 'built-in: home configuration'],
      ['write', '~/.cache/p10k-instant-prompt-u.zsh', false, 'built-in: home configuration'],
      ['write', '~/.npm/_npx/abc/node_modules/cowsay/cli.js', false, 'built-in: home configuration'],
      ['write', '~/.config/fish/fish_variables', false, 'built-in: home configuration'],
      ['write', '~/.bash_history', true],
      ['read', '~/.tmux.conf', true],
      ['write', '~/projects/x', true],
    ],
  },
  {
    name: 'home configuration: an exception is never a grant (a write.allow list that does not name it)',
    project: 'version: 1\nwrite: { allow: ["."] }\n',
    trusted: true,
    checks: [
      ['write', '~/.cache/sbx-sandbox/pip/x', false],
      ['write', '~/.bash_history', false],
      ['write', '<P>/x', true],
    ],
  },
  {
    name: 'home configuration: a trusted policy naming a place lifts it; an untrusted one cannot',
    user: 'version: 1\nwrite: { deny: [] }\n',
    project: 'version: 1\nwrite: { allow: ["~/.nvm"] }\n',
    trusted: false,
    checks: [['write', '~/.nvm/x', false, 'built-in: home configuration']],
  },
  {
    name: 'home configuration: a trusted user policy naming a place lifts it',
    user: 'version: 1\nwrite: { allow: ["~/.nvm", "~"] }\n',
    checks: [
      ['write', '~/.nvm/x', true, 'config.yaml'],
      ['write', '~/.nvmrc', false, 'built-in: home configuration'],
      ['write', '~/notes/x', true, 'config.yaml'],
    ],
  },
  {
    name: 'docker sockets: denied by default; a trusted file may allow one by name',
    user: 'version: 1\nextends: []\nprotect: []\nnet: { unix: { allow: ["/run/docker.sock"] } }\n',
    checks: [
      ['net', '/run/docker.sock', true, 'config.yaml'],
      ['net', '~/.docker/run/docker.sock', false, 'built-in: docker sockets'],
    ],
  },
  {
    name: 'docker sockets: an untrusted project cannot allow one (its override neither)',
    user: 'version: 1\nextends: []\nprotect: []\n',
    project: 'version: 1\nnet: { unix: { allow: ["/run/docker.sock", "/tmp"] } }\ncommands:\n  curl: { net: { unix: { allow: ["/var/run/docker.sock"] } } }\n',
    checks: [
      ['net', '/run/docker.sock', false, 'built-in: docker sockets'],
      ['net', `${tmpSample()}.sock`, true],
    ],
  },
  {
    name: 'paths with spaces and unicode',
    project: 'version: 1\nread: { deny: ["My Secrets/ünï"] }\n',
    at: 'prøject x',
    checks: [
      ['read', '<P>/My Secrets/ünï/a b.txt', false],
      ['read', '<P>/My Secrets/other', true],
    ],
  },
];

describe('composition table', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const w = tempWorld();
    const sub = (s: string) => s.replaceAll('<P>', join(w.home, c.at ?? 'p')).replaceAll('<R>', w.root).replace(/^~/, w.home);
    const proj = join(w.home, c.at ?? 'p');
    mkdirSync(proj, { recursive: true });
    if (c.at === 'real-proj') symlinkSync(proj, join(w.home, 'linked-proj'));
    mkdirSync(join(w.root, 'bin'), { recursive: true });
    for (const b of ['curl', 'kubectl']) {
      writeFileSync(join(w.root, 'bin', b), '#!/bin/sh\n');
      chmodSync(join(w.root, 'bin', b), 0o755);
    }
    if (c.user) w.write('home/.config/sbx/config.yaml', c.user.replaceAll('<R>', w.root));
    if (c.project) {
      const f = join(proj, '.sbx.yaml');
      writeFileSync(f, c.project.replaceAll('<R>', w.root));
      if (c.trusted) trust(f, loadPolicyFile(f, 'project').sha256, w.env);
    }
    for (const [link, target] of c.links ?? []) {
      mkdirSync(sub(target), { recursive: true });
      symlinkSync(sub(target), sub(link));
    }
    const r = await resolvePolicyForDir(proj, { env: w.env });
    expect(r.trusted).toBe(c.project ? !!c.trusted : true);
    for (const want of c.warnings ?? []) expect(r.warnings.some((x) => x.includes(sub(want)))).toBe(true);
    for (const [op, target, allowed, because] of c.checks) {
      const words = op === 'exec' ? sub(target).split(' ') : [sub(target)];
      const e = await check(r.policy, op, words, { cwd: proj, env: w.env });
      expect({ op, target, allowed: e.allowed }).toEqual({ op, target, allowed });
      if (because) expect(`${e.because} ${e.origin?.source ?? ''}`).toContain(sub(because));
    }
    rmSync(w.root, { recursive: true, force: true });
  });
});

describe('mode and commands', () => {
  it('untrusted audit is ignored; trusted audit applies; enforce always tightens', async () => {
    const w = tempWorld();
    const proj = join(w.home, 'p');
    mkdirSync(proj, { recursive: true });
    const f = join(proj, '.sbx.yaml');
    writeFileSync(f, 'version: 1\nmode: audit\n');
    let r = await resolvePolicyForDir(proj, { env: w.env });
    expect(r.policy.mode).toBe('enforce');
    expect(r.dropped.join('\n')).toContain('mode audit (untrusted');
    trust(f, loadPolicyFile(f, 'project').sha256, w.env);
    r = await resolvePolicyForDir(proj, { env: w.env });
    expect(r.policy.mode).toBe('audit');
    w.write('home/.config/sbx/config.yaml', 'version: 1\nmode: audit\n');
    writeFileSync(f, 'version: 1\nmode: enforce\n'); // edited → untrusted again
    r = await resolvePolicyForDir(proj, { env: w.env });
    expect(r.trusted).toBe(false);
    expect(r.policy.mode).toBe('enforce');
  });

  it('trust is for the file at its own place: a project whose .sbx.yaml is a link to a trusted file is untrusted (twin: the trusted project itself)', async () => {
    const w = tempWorld();
    const trusted = join(w.home, 'work', 'mine');
    const hostile = join(w.home, 'work', 'cloned');
    mkdirSync(trusted, { recursive: true });
    mkdirSync(hostile, { recursive: true });
    const f = join(trusted, '.sbx.yaml');
    writeFileSync(f, 'version: 1\nmode: audit\nread:\n  allow: ["~/.aws"]\n');
    trust(f, loadPolicyFile(f, 'project').sha256, w.env);
    // The twin: the project the user trusted gets its trusted file.
    let r = await resolvePolicyForDir(trusted, { env: w.env });
    expect(r.trusted).toBe(true);
    expect(r.policy.mode).toBe('audit');
    // A cloned repository shipping `.sbx.yaml -> ../mine/.sbx.yaml` (relative, or absolute).
    for (const target of ['../mine/.sbx.yaml', f]) {
      rmSync(join(hostile, '.sbx.yaml'), { force: true });
      symlinkSync(target, join(hostile, '.sbx.yaml'));
      r = await resolvePolicyForDir(hostile, { env: w.env });
      expect(r.trusted, target).toBe(false);
      expect(r.policy.mode, target).toBe('enforce');
      expect(r.dropped.join('\n'), target).toContain('mode audit (untrusted');
    }
    // Trusting the link itself trusts that place (and the twin stays trusted).
    trust(join(hostile, '.sbx.yaml'), loadPolicyFile(join(hostile, '.sbx.yaml'), 'project').sha256, w.env);
    expect((await resolvePolicyForDir(hostile, { env: w.env })).trusted).toBe(true);
    expect((await resolvePolicyForDir(trusted, { env: w.env })).trusted).toBe(true);
  });

  it('an untrusted file below a trusted project (a submodule\'s) narrows that project\'s policy, not the user\'s (twin: without the nested file the same directory has the same policy)', async () => {
    const w = tempWorld();
    const locked = join(w.home, 'work', 'locked');
    const vendored = join(locked, 'vendor', 'lib');
    mkdirSync(vendored, { recursive: true });
    const f = join(locked, '.sbx.yaml');
    writeFileSync(f, 'version: 1\nread:\n  deny: ["~/private"]\nnet:\n  allow: []\n');
    trust(f, loadPolicyFile(f, 'project').sha256, w.env);
    const token = join(w.home, 'private', 'token');
    // The twin: the vendored directory without a file of its own is under the trusted project's policy.
    let r = await resolvePolicyForDir(vendored, { env: w.env });
    expect(decidePath(r.policy.read, token).effect).toBe('deny');
    expect(r.policy.net.default).toBe('deny');
    // A clone brings an untrusted file there that says nothing: still the project's denies.
    writeFileSync(join(vendored, '.sbx.yaml'), 'version: 1\n');
    r = await resolvePolicyForDir(vendored, { env: w.env });
    expect(r.trusted).toBe(false);
    expect(decidePath(r.policy.read, token).effect).toBe('deny');
    expect(r.policy.net.default).toBe('deny');
    // And what it narrows, it narrows.
    writeFileSync(join(vendored, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\n');
    r = await resolvePolicyForDir(vendored, { env: w.env });
    expect(decidePath(r.policy.read, join(vendored, 'secret.txt')).effect).toBe('deny');
    expect(decidePath(r.policy.read, join(vendored, 'other.txt')).effect).toBe('allow');
  });

  it('a broken or untrusted file below a trusted project, or between a nested file and it, never drops what applies above (twins: the trusted project itself, and a file that narrows)', async () => {
    const w = tempWorld();
    const top = join(w.home, 'work', 'top');
    const mid = join(top, 'mid');
    const nested = join(mid, 'nested');
    mkdirSync(nested, { recursive: true });
    const f = join(top, '.sbx.yaml');
    writeFileSync(f, 'version: 1\nread:\n  deny: ["/tmp/t4-secret"]\nexec:\n  deny: [curl]\n');
    trust(f, loadPolicyFile(f, 'project').sha256, w.env);
    const secret = '/tmp/t4-secret';
    let r = await resolvePolicyForDir(top, { env: w.env });
    expect(decidePath(r.policy.read, secret).effect).toBe('deny'); // the twin: the project itself
    // A broken nested file: the project's denies still apply (and its own strict fallback).
    writeFileSync(join(nested, '.sbx.yaml'), 'version: 1\nread: { deny: [oops\n');
    r = await resolvePolicyForDir(nested, { env: w.env, onBroken: 'keep' });
    expect(r.broken[0]).toMatchObject({ kept: 'strict fallback' });
    expect(decidePath(r.policy.read, secret).effect).toBe('deny');
    expect(r.policy.exec.programs.some((p) => p.name === 'curl' && p.effect === 'deny')).toBe(true);
    // An untrusted file in between that denies more, and a valid nested one: both narrow.
    writeFileSync(join(mid, '.sbx.yaml'), 'version: 1\nnet:\n  allow: []\n');
    writeFileSync(join(nested, '.sbx.yaml'), 'version: 1\n');
    r = await resolvePolicyForDir(nested, { env: w.env, onBroken: 'keep' });
    expect(r.policy.net.default).toBe('deny'); // the middle file's, not skipped
    expect(decidePath(r.policy.read, secret).effect).toBe('deny');
    // The same text given to `use sandbox` for the nested directory: still above it all.
    r = await resolvePolicy({ dir: nested, use: '.sbx.yaml' }, { env: w.env, onBroken: 'keep' });
    expect(r.policy.net.default).toBe('deny');
    expect(decidePath(r.policy.read, secret).effect).toBe('deny');
  });

  it('commands: overrides are separate policies referenced by id', async () => {
    const w = tempWorld();
    const proj = join(w.home, 'p');
    mkdirSync(proj, { recursive: true });
    w.write('home/.config/sbx/config.yaml', 'version: 1\ncommands:\n  npm: { read: { deny: ["~/.npm-secret"] } }\n');
    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\ncommands:\n  npm: { net: { allow: ["registry.npmjs.org"] } }\n  /usr/bin/git: { write: { allow: ["."] } }\n');
    const r = await resolvePolicyForDir(proj, { env: w.env });
    expect(r.policy.net.default).toBe('allow');
    expect(r.policy.commands.map((c) => [c.name, c.policy])).toEqual([
      ['npm', 1],
      ['/usr/bin/git', 2],
    ]);
    const npm = r.overrides.find((o) => o.id === 1)!;
    expect(npm.net.default).toBe('deny');
    expect((await check(npm, 'net', ['registry.npmjs.org'], { cwd: proj, env: w.env })).allowed).toBe(true);
    expect((await check(npm, 'net', ['github.com'], { cwd: proj, env: w.env })).allowed).toBe(false);
    expect(decidePath(npm.read, join(w.home, '.npm-secret')).effect).toBe('deny');
    expect(npm.commands).toEqual([]);
    const git = r.overrides.find((o) => o.id === 2)!;
    expect(explain(git, 'write', [join(proj, 'x')], { cwd: proj, env: w.env }).allowed).toBe(true);
    expect(explain(git, 'write', [join(w.home, 'x')], { cwd: proj, env: w.env }).allowed).toBe(false);
    expect(r.files).toEqual([join(w.home, '.config/sbx/config.yaml'), join(proj, '.sbx.yaml')]);
  });

  it("an override's env section is refused, naming where (a program gets its environment from whoever starts it); twin: the top-level env section", async () => {
    const w = tempWorld();
    const proj = join(w.home, 'p');
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\ncommands:\n  python3: { env: { deny: ["MY_SECRET"] } }\n');
    const bad = await resolvePolicyForDir(proj, { env: w.env }).then(
      () => '',
      (err: unknown) => String((err as Error).message) + String((err as { issues?: string[] }).issues ?? ''),
    );
    expect(bad).toMatch(/commands\.python3\.env.*an override cannot change env/s);
    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\nenv: { deny: ["MY_SECRET"] }\n');
    expect((await resolvePolicyForDir(proj, { env: w.env })).policy.env.deny).toContain('MY_SECRET');
  });

  it('relative entries in the user config get a warning (allowed twin: absolute ones do not)', async () => {
    const w = tempWorld();
    const proj = join(w.home, 'p');
    mkdirSync(proj, { recursive: true });
    const user = w.write('home/.config/sbx/config.yaml', 'version: 1\nread: { deny: ["**/.env.local", "~/.secret", "/**/*.key"] }\n');
    const r = await resolvePolicyForDir(proj, { env: w.env });
    expect(r.warnings).toEqual([
      `${user}:2:16: "**/.env.local" is relative to ${join(w.home, '.config/sbx')}; write "~/**/.env.local" or "/**/.env.local" if you meant your home or anywhere`,
    ]);
  });

  it('a PATH directory in a home under /tmp is a floor; one in /tmp outside the home is not', async () => {
    const w = tempWorld('/tmp');
    const proj = join(w.home, 'p');
    mkdirSync(proj, { recursive: true });
    const inHome = join(w.home, 'tools/bin');
    const outside = join(w.root, 'other/bin');
    const env = { ...w.env, PATH: `${inHome}:${outside}:/usr/bin:/bin` };
    const r = await resolvePolicyForDir(proj, { env });
    const e = async (t: string) => (await check(r.policy, 'write', [t], { cwd: proj, env })).allowed;
    expect(await e(join(inHome, 'git'))).toBe(false);
    expect(await e(join(outside, 'git'))).toBe(true);
  });

  // Every new terminal starts in the home, whose policy (no project file) has the home as its
  // project: the project's own PATH dirs (node_modules/.bin) are not floors, but the home's are the user's.
  it("in the home itself, PATH and module directories below it are floors (twin: a project's own bin dir is not, in the project)", async () => {
    const w = tempWorld();
    const proj = join(w.home, 'p');
    const projBin = join(proj, 'node_modules', '.bin');
    mkdirSync(projBin, { recursive: true });
    const tools = join(w.home, 'tools', 'bin');
    const perl = join(w.home, 'perl5', 'lib', 'perl5');
    const env = { ...w.env, PATH: `${tools}:${projBin}:/usr/bin:/bin`, PERL5LIB: perl };
    const e = async (dir: string, t: string) => (await check((await resolvePolicyForDir(dir, { env })).policy, 'write', [t], { cwd: dir, env })).allowed;
    expect(await e(w.home, join(tools, 'node'))).toBe(false);
    expect(await e(w.home, join(perl, 'strict.pm'))).toBe(false);
    expect(await e(w.home, join(projBin, 'tool'))).toBe(false);
    expect(await e(w.home, join(w.home, 'notes.txt'))).toBe(true); // the twin in the home
    expect(await e(proj, join(projBin, 'tool'))).toBe(true); // the project's own
    expect(await e(proj, join(tools, 'node'))).toBe(false);
  });

  it('code a variable points tools at is a floor (GIT_CONFIG_GLOBAL/SYSTEM and the hooks they name, BASH_ENV, ENV and what they source, NODE_OPTIONS --require, an absolute EDITOR, PYTHONUSERBASE), a ZDOTDIR elsewhere is home configuration; twins: a file beside them, one in the project, /dev/null and the home are no floor', async () => {
    const w = tempWorld();
    const dots = join(w.home, 'dotfiles');
    const proj = join(w.home, 'proj');
    mkdirSync(join(dots, 'githooks'), { recursive: true });
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(dots, 'gitconfig'), `[core]\n\thooksPath = ${join(dots, 'githooks')}\n`);
    writeFileSync(join(dots, 'bashenv'), `. ${join(dots, 'lib.sh')}\n`);
    const env = {
      ...w.env,
      GIT_CONFIG_GLOBAL: join(dots, 'gitconfig'),
      GIT_CONFIG_SYSTEM: join(dots, 'gitsystem'),
      BASH_ENV: join(dots, 'bashenv'),
      ENV: join(dots, 'shrc'),
      ZDOTDIR: join(dots, 'zsh'),
      NODE_OPTIONS: `--max-old-space-size=4096 --require ${join(dots, 'noderc.js')}`,
      EDITOR: `${join(dots, 'ed.sh')} --wait`,
      PYTHONUSERBASE: join(dots, 'pyub'),
      VISUAL: join(proj, 'tools', 'ed.sh'),
    };
    const e = async (t: string, vars: Record<string, string> = env) => (await check((await resolvePolicyForDir(proj, { env: vars })).policy, 'write', [t], { cwd: proj, env: vars })).allowed;
    for (const f of ['gitconfig', 'gitsystem', 'githooks/pre-commit', 'bashenv', 'lib.sh', 'shrc', 'zsh/.zcompdump', 'zsh/.zshrc', 'noderc.js', 'ed.sh', 'pyub/lib/python3/site-packages/x.pth'])
      expect(await e(join(dots, f)), f).toBe(false);
    expect(await e(join(dots, 'README.md'))).toBe(true);
    expect(await e(join(proj, 'tools', 'ed.sh'))).toBe(true); // the project's own: the project decides
    expect(await e('/dev/null', { ...w.env, GIT_CONFIG_GLOBAL: '/dev/null', BASH_ENV: w.home })).toBe(true);
    expect(await e(join(w.home, 'notes.txt'), { ...w.env, BASH_ENV: w.home })).toBe(true); // a variable naming the home floors nothing
  });

  it("sbx's own files are floors under any directory (a HOME or XDG dir the user may point at later); twin: a file beside them", async () => {
    const w = tempWorld();
    const proj = join(w.home, 'proj');
    mkdirSync(proj, { recursive: true });
    const e = async (t: string) => (await check((await resolvePolicyForDir(proj, { env: w.env })).policy, 'write', [t], { cwd: proj, env: w.env })).allowed;
    for (const f of ['/tmp/tmp.x/.config/sbx/config.yaml', '/tmp/h/.local/state/sbx/trust.json', '/tmp/h/.local/state/sbx/last-good/a', '/tmp/s/sbx/hook-cache/bash'])
      expect(await e(f), f).toBe(false);
    expect(await e('/tmp/tmp.x/.config/sbx/notes.txt')).toBe(true);
  });

  it("walk-up files above the project and atop the temp dirs are floors (node_modules unless the ancestor is a JS project itself: a monorepo root; cargo and go configs); the project's own are not", async () => {
    const w = tempWorld();
    const proj = join(w.home, 'work', 'a');
    const pkg = join(w.home, 'mono', 'packages', 'b');
    mkdirSync(proj, { recursive: true });
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(w.home, 'mono', 'package.json'), '{}\n');
    const e = async (dir: string, t: string) => {
      const r = await resolvePolicyForDir(dir, { env: w.env });
      return (await check(r.policy, 'write', [t], { cwd: dir, env: w.env })).allowed;
    };
    expect(await e(proj, join(w.home, 'work', 'node_modules', '.bin', 'node'))).toBe(false);
    expect(await e(proj, join(w.home, 'work', 'package.json'))).toBe(false);
    expect(await e(proj, join(w.home, 'node_modules', 'x.js'))).toBe(false);
    expect(await e(proj, join(proj, 'node_modules', '.bin', 'node'))).toBe(true);
    expect(await e(pkg, join(w.home, 'mono', 'node_modules', 'x.js'))).toBe(true);
    expect(await e(pkg, join(w.home, 'mono', 'packages', 'node_modules', 'x.js'))).toBe(false);
    // cargo's and go's walk-up files too, above the project and at the top of the temp dirs;
    // the project's own stay writable.
    expect(await e(proj, join(w.home, 'work', '.cargo', 'config.toml'))).toBe(false);
    expect(await e(proj, join(w.home, 'work', 'go.work'))).toBe(false);
    expect(await e(proj, '/tmp/.cargo/config.toml')).toBe(false);
    expect(await e(proj, '/tmp/node_modules/.bin/node')).toBe(false);
    expect(await e(proj, join(proj, '.cargo', 'config.toml'))).toBe(true);
    expect(await e(proj, join(proj, 'go.work'))).toBe(true);
    expect(await e(proj, tmpSample())).toBe(true);
  });

  it("more walk-up files (rustup, yarn, pnpm, deno, pytest, bundler, asdf/mise) are floors above the project and atop the temp dirs; the project's own, and an ancestor that is that ecosystem's project, keep theirs", async () => {
    const w = tempWorld();
    const proj = join(w.home, 'work', 'a');
    const py = join(w.home, 'pyws', 'pkgs', 'b');
    const rb = join(w.home, 'rbws', 'c');
    for (const d of [proj, py, rb]) mkdirSync(d, { recursive: true });
    writeFileSync(join(w.home, 'pyws', 'pyproject.toml'), '[tool.uv.workspace]\n');
    writeFileSync(join(w.home, 'rbws', 'Gemfile'), "source 'https://rubygems.org'\n");
    const e = async (dir: string, t: string) => {
      const r = await resolvePolicyForDir(dir, { env: w.env });
      return (await check(r.policy, 'write', [t], { cwd: dir, env: w.env })).allowed;
    };
    const names = ['rust-toolchain.toml', '.yarnrc.yml', 'pnpm-workspace.yaml', 'deno.json', 'pytest.ini', 'conftest.py', 'pyproject.toml', 'Gemfile', '.bundle/config', '.tool-versions', 'mise.toml', '.mise/config.toml', '.config/mise/config.toml'];
    for (const n of names) {
      expect(await e(proj, join(w.home, 'work', n)), `~/work/${n}`).toBe(false);
      expect(await e(proj, join(w.home, n)), `~/${n}`).toBe(false);
      expect(await e(proj, join('/tmp', n)), `/tmp/${n}`).toBe(false);
      // mise's config files are floors everywhere (compose.ts: mise runs their hooks outside).
      expect(await e(proj, join(proj, n)), `the project's own ${n}`).toBe(!['mise.toml', '.mise/config.toml', '.config/mise/config.toml'].includes(n));
    }
    // A Python workspace root keeps its own files; a Ruby one its Gemfile; other ecosystems' stay floors there.
    expect(await e(py, join(w.home, 'pyws', 'pyproject.toml'))).toBe(true);
    expect(await e(py, join(w.home, 'pyws', 'conftest.py'))).toBe(true);
    expect(await e(py, join(w.home, 'pyws', 'pkgs', 'conftest.py'))).toBe(false);
    expect(await e(py, join(w.home, 'pyws', 'Gemfile'))).toBe(false);
    expect(await e(rb, join(w.home, 'rbws', 'Gemfile'))).toBe(true);
    expect(await e(rb, join(w.home, 'rbws', '.bundle', 'config'))).toBe(true);
    expect(await e(rb, join(w.home, 'rbws', 'pytest.ini'))).toBe(false);
    // Nothing else in an ancestor: a sibling project's files stay writable.
    expect(await e(proj, join(w.home, 'work', 'b', 'conftest.py'))).toBe(true);
  });

  it('every rule points at an origin', async () => {
    const w = tempWorld();
    const proj = join(w.home, 'p');
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\nextends: [shell-rc]\nwrite: { allow: ["."] }\nnet: { allow: ["github.com"] }\nexec: { deny: [curl] }\n');
    const { policy } = await resolvePolicyForDir(proj, { env: w.env });
    const all = [...policy.read.rules, ...policy.write.rules, ...policy.unix.rules, ...policy.exec.paths, ...policy.exec.programs, ...policy.net.rules];
    for (const r of all) expect(policy.origins[r.rule]).toBeDefined();
  });
});
