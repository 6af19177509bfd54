/**
 * What a denial line suggests (src/policy/suggest.ts): a deny rule → remove it at file:line;
 * a section default → add the target to the allow list of the file in force (and trust it when
 * untrusted); a floor → no project edit lifts it; built-in → nothing to allow; an enclosing
 * session's refusal → a nested exec cannot widen. One table, each row with its opposite.
 */
import { describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { lockdown } from '../../../src/supervisor/installed.js';
import { privilegedLine, suggestFix } from '../../../src/policy/suggest.js';
import { HOME_CONFIG_ORIGIN } from '../../../src/policy/home-config.js';

const USER = '/home/u/.config/sbx/config.yaml';
const PROJECT = '/p/.sbx.yaml';

function policy(): CompiledPolicy {
  const p = lockdown(1);
  p.origins = [
    { source: `${PROJECT}:3:10`, text: 'secret.txt', section: 'read' },
    { source: `${USER}:2:11 (protect: preset secrets)`, text: '~/.ssh', section: 'protect' },
    { source: HOME_CONFIG_ORIGIN, text: 'dot-entries of the home', section: 'write' },
  ];
  p.read = {
    default: 'allow',
    rules: [
      { rule: 0, effect: 'deny', match: 'subtree', pattern: '/p/secret.txt', floor: false },
      { rule: 1, effect: 'deny', match: 'subtree', pattern: '/home/u/.ssh', floor: true },
    ],
  };
  return p;
}

const base = { policy: policy(), projectFile: PROJECT, trusted: true, userFile: USER };

describe('suggestFix', () => {
  it('a deny rule: remove it where it is written', () => {
    expect(suggestFix({ ...base, op: 'read', target: '/p/secret.txt', rule: 0 })).toBe(`remove "secret.txt" from read.deny at ${PROJECT}:3:10`);
  });

  it('a section default: add the target to the allow list of the project file; an untrusted one also needs trust', () => {
    expect(suggestFix({ ...base, op: 'write', target: '/p/out', rule: -1 })).toBe(`add "/p/out" to write.allow in ${PROJECT}`);
    expect(suggestFix({ ...base, trusted: false, op: 'write', target: '/p/out', rule: -1 })).toBe(
      `add "/p/out" to write.allow in ${PROJECT}, then \`sbx trust\` it (outside the sandbox)`,
    );
    // No project file in force: the user's own file.
    expect(suggestFix({ ...base, projectFile: undefined, op: 'net', target: 'example.com (93.184.216.34:443)', rule: -1 })).toBe(
      `add "example.com" to net.allow in ${USER}`,
    );
  });

  it('a floor: no project edit lifts it (the user protect list can)', () => {
    const s = suggestFix({ ...base, op: 'read', target: '/home/u/.ssh/id_rsa', rule: 1 });
    expect(s).toMatch(/^protected \(.*protect: preset secrets\)\): no project policy lifts it; run it from a terminal outside the sandbox; or remove it from protect in /);
  });

  it('home configuration: done outside, or allowed by name in the user file (not the project file: it is not the project\'s)', () => {
    const s = suggestFix({ ...base, op: 'write', target: '/home/u/.tmux.conf', rule: 2 });
    expect(s).toBe(`tools load the home's dot-files outside later: run it from a terminal outside the sandbox; if nothing runs this one, add "/home/u/.tmux.conf" to write.allow in ${USER}`);
    expect(suggestFix({ ...base, op: 'write', target: '/home/u/.tmux.conf', rule: -1 })).toBe(`add "/home/u/.tmux.conf" to write.allow in ${PROJECT}`);
  });

  it('built-in and the enclosing session of a nested exec', () => {
    expect(suggestFix({ ...base, op: 'signal', target: '1', rule: -2 })).toMatch(/^nothing to allow: sbx refuses this for every sandboxed program/);
    expect(suggestFix({ ...base, op: 'read', target: '/p/secret.txt', rule: -3 })).toMatch(/^the enclosing session denies it: a nested `sbx exec` can only narrow/);
  });

  it('the git-directory guard: nothing to allow, with why; a write denied by a rule still gets its edit', () => {
    expect(suggestFix({ ...base, op: 'write', target: '/p/planted/HEAD', rule: -4 })).toMatch(
      /^nothing to allow: a directory with a HEAD is a git repository to git run outside later, so its config may hold only the keys git init\/clone write/,
    );
    expect(suggestFix({ ...base, op: 'write', target: '/p/out', rule: -1 })).toBe(`add "/p/out" to write.allow in ${PROJECT}`);
  });

  it('privilegedLine names the program and no_new_privs', () => {
    expect(privilegedLine('/usr/bin/sudo')).toBe(
      'sbx: sudo (/usr/bin/sudo) is set-id or has file capabilities: inside the sandbox it runs without them (no_new_privs), so it cannot gain privileges; run it from a terminal outside the sandbox',
    );
  });
});
