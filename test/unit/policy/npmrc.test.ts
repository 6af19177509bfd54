/** The copy of ~/.npmrc a sandbox gets: registry settings kept, every credential line dropped. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npmConfigEnv, sanitizeNpmrc } from '../../../src/policy/npmrc.js';

describe('sanitizeNpmrc', () => {
  it('keeps registry, scoped registries and plain settings; drops tokens, auth, passwords, certs and ${VAR} values', () => {
    const text = [
      'registry=https://mirror.example.test/npm/',
      '@corp:registry=https://npm.corp.example.test/',
      '//npm.corp.example.test/:_authToken=SECRET1',
      '//registry.npmjs.org/:_authToken=${NPM_TOKEN}',
      '_auth=SECRET2',
      '_authToken=SECRET3',
      'email=me@example.test',
      'username=me',
      '_password=SECRET4',
      'keyfile=/home/me/.npm-key.pem',
      'certfile=/home/me/.npm-cert.pem',
      'cafile=/etc/ssl/corp-ca.pem',
      'strict-ssl=true',
      'always-auth = true',
      'fund=false',
      'init-author-name=Me',
      'some-setting=${SECRET_FROM_ENV}',
      '; a comment',
    ].join('\n');
    const out = sanitizeNpmrc(text);
    expect(out.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'registry=https://mirror.example.test/npm/',
      '@corp:registry=https://npm.corp.example.test/',
      'cafile=/etc/ssl/corp-ca.pem',
      'strict-ssl=true',
      'fund=false',
      'init-author-name=Me',
    ]);
    expect(out).not.toMatch(/SECRET|_auth|me@example|password/);
  });

  it('a login inside a URL (registry, scoped registry, proxy) is taken out of the URL; the URL stays (twin: a URL without one is kept as written)', () => {
    const out = sanitizeNpmrc(
      [
        'registry=https://ci-bot:SECRET1@mirror.example.test/npm/',
        '@corp:registry = https://SECRET2@npm.corp.example.test/',
        'https-proxy=http://me:SECRET3@proxy.example.test:3128',
        'proxy=http://proxy.example.test:3128/',
        'registry-note=https://mirror.example.test/@scope%2fpkg',
      ].join('\n'),
    );
    expect(out.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'registry=https://mirror.example.test/npm/',
      '@corp:registry=https://npm.corp.example.test/',
      'https-proxy=http://proxy.example.test:3128',
      'proxy=http://proxy.example.test:3128/',
      'registry-note=https://mirror.example.test/@scope%2fpkg',
    ]);
    expect(out).not.toMatch(/SECRET|ci-bot|me:/);
  });

  it('an npmrc of credentials only gives an empty copy', () => {
    expect(sanitizeNpmrc('//registry.npmjs.org/:_authToken=abc\n')).toBe('');
  });
});

describe('npmConfigEnv', () => {
  it('writes the copy when ~/.npmrc changed and leaves it alone (same file, same mtime) when it did not', () => {
    const home = mkdtempSync(join(tmpdir(), 'sbx-npmrc-'));
    try {
      const env = { HOME: home, XDG_STATE_HOME: join(home, 'state') };
      writeFileSync(join(home, '.npmrc'), 'registry=https://a.example.test/\n_authToken=SECRET\n');
      const file = npmConfigEnv(env).NPM_CONFIG_USERCONFIG!;
      expect(readFileSync(file, 'utf8')).toContain('registry=https://a.example.test/');
      expect(readFileSync(file, 'utf8')).not.toContain('SECRET');
      const before = statSync(file);
      utimesSync(file, before.atime, new Date(before.mtimeMs - 60_000));
      const aged = statSync(file);
      expect(npmConfigEnv(env).NPM_CONFIG_USERCONFIG).toBe(file);
      const after = statSync(file);
      expect([after.ino, after.mtimeMs]).toEqual([aged.ino, aged.mtimeMs]);
      // The twin: a changed ~/.npmrc is copied again.
      writeFileSync(join(home, '.npmrc'), 'registry=https://b.example.test/\n');
      npmConfigEnv(env);
      expect(readFileSync(file, 'utf8')).toContain('registry=https://b.example.test/');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
