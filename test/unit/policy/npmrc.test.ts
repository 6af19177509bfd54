/** The copy of ~/.npmrc a sandbox gets: registry settings kept, every credential line dropped. */
import { describe, expect, it } from 'vitest';
import { sanitizeNpmrc } from '../../../src/policy/npmrc.js';

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

  it('an npmrc of credentials only gives an empty copy', () => {
    expect(sanitizeNpmrc('//registry.npmjs.org/:_authToken=abc\n')).toBe('');
  });
});
