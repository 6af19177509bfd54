/** What shell start-up files source and ssh's config includes (src/policy/rc-sources.ts). */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rcSources, sourcedNames, sshDirectives } from '../../../src/policy/rc-sources.js';

describe('sourcedNames', () => {
  it('`.` and `source` at a line start, after ; && || then do {, quoted or not; not in comments, not other commands', () => {
    const text = [
      '. ~/a.sh',
      'source "$HOME/b.sh"',
      "[ -f ~/c.sh ] && . ~/c.sh",
      'if [ -r x ]; then source ./d.sh; fi',
      'test -r e && { . "$HOME/e.sh"; }',
      '# . ~/commented.sh',
      'echo . ~/not-sourced.sh',
      'export PATH=.:$PATH',
      "  source '/opt/f.sh'  # trailing",
      'case $- in *i*) . ~/g.sh ;; esac',
      'builtin source ~/h.sh',
      'command . ~/i.sh',
      '( . ~/j.sh )',
    ].join('\n');
    expect(sourcedNames(text)).toEqual(['~/a.sh', '$HOME/b.sh', '~/c.sh', './d.sh', '$HOME/e.sh', '/opt/f.sh', '~/g.sh', '~/h.sh', '~/i.sh', '~/j.sh']);
  });
});

describe('sshDirectives', () => {
  it('the programs and libraries it runs: ProxyCommand, LocalCommand, KnownHostsCommand, Match exec (first word), PKCS11Provider', () => {
    expect(sshDirectives('Host x\n  ProxyCommand ~/tools/proxy %h %p\n  LocalCommand=/opt/lc\nMatch host y exec "~/bin/check %h"\n  PKCS11Provider ~/lib/p11.so\n')).toEqual([
      { key: 'include', value: '~/tools/proxy' },
      { key: 'include', value: '/opt/lc' },
      { key: 'include', value: '~/bin/check' },
      { key: 'include', value: '~/lib/p11.so' },
    ]);
  });

  it('Include (code), IdentityFile and CertificateFile (keys), with = and quotes, several values', () => {
    expect(sshDirectives('Include ~/dots/ssh/*.conf extra.conf\nHost x\n  IdentityFile="~/keys/id work"\n  certificatefile ~/keys/c.pub\n  User me\n')).toEqual([
      { key: 'include', value: '~/dots/ssh/*.conf' },
      { key: 'include', value: 'extra.conf' },
      { key: 'key', value: '~/keys/id work' },
      { key: 'key', value: '~/keys/c.pub' },
    ]);
  });
});

describe('rcSources', () => {
  it('follows what sourced files source (a few levels), expands ~ $HOME ${HOME} $ZDOTDIR, skips what needs a shell; ssh includes by the directory before a wildcard', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sbx-rcsrc-')));
    try {
      const home = join(dir, 'home');
      mkdirSync(join(home, 'dots'), { recursive: true });
      mkdirSync(join(home, '.ssh'));
      writeFileSync(join(home, '.bashrc'), '. ~/dots/one.sh\nsource "$(brew --prefix)/x.sh"\nsource $UNKNOWN/y.sh\n');
      writeFileSync(join(home, 'dots', 'one.sh'), 'source "${HOME}/dots/two.sh"\n');
      writeFileSync(join(home, 'dots', 'two.sh'), '. $ZDOTDIR/three.zsh\n');
      writeFileSync(join(home, '.ssh', 'config'), 'Include ~/dots/ssh/*.conf\nIdentityFile ~/keys/id_work\nInclude local.conf\nHost *\n  IdentityFile %d/k2/id_%h\n');
      const r = rcSources(home, join(home, 'z'), [join(home, '.bashrc'), join(home, '.zshrc')], join(home, '.ssh', 'config'));
      expect(r.code).toEqual([join(home, '.ssh', 'local.conf'), join(home, 'dots', 'one.sh'), join(home, 'dots', 'ssh'), join(home, 'dots', 'two.sh'), join(home, 'z', 'three.zsh')].sort());
      expect(r.keys).toEqual([join(home, 'k2'), join(home, 'keys', 'id_work')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
