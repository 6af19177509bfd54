/** Quiet notices (src/hook/notices.ts) and fresh markers (src/hook/fresh.ts). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markFresh, markStale } from '../../../src/hook/fresh.js';
import { NoticeMemory, UNTRUSTED_NOTICE } from '../../../src/hook/notices.js';
import { formatReply, parseReply } from '../../../src/hook/reply.js';

const user = '/h/.config/sbx/config.yaml';
const plain = (dir: string) => ({ files: [user], trusted: true, origin: `user config ${user}`, dir });
const project = (file: string, trusted: boolean) => ({ files: [user, file], trusted, origin: `project ${file} (${trusted ? 'trusted' : 'untrusted'})` });

describe('NoticeMemory', () => {
  it('a new shell outside a project: silent; cd between policy-less dirs: silent; into a project: policy (+ untrusted); back out: policy', () => {
    const m = new NoticeMemory();
    expect(m.notices(10, 't', plain('/a'))).toEqual([]);
    expect(m.notices(10, 't', plain('/b'))).toEqual([]);
    expect(m.notices(10, 't', project('/p/.sbx.yaml', false))).toEqual(['sbx: policy project /p/.sbx.yaml (untrusted)', UNTRUSTED_NOTICE]);
    expect(m.notices(10, 't', project('/p/.sbx.yaml', false))).toEqual([]); // cd within the project
    expect(m.notices(10, 't', plain('/b'))).toEqual([`sbx: policy user config ${user}`]);
  });

  it('a new shell in a project says so once; trust changing is news; direnv use of the same file is not', () => {
    const m = new NoticeMemory();
    expect(m.notices(20, 't', project('/p/.sbx.yaml', true))).toEqual(['sbx: policy project /p/.sbx.yaml (trusted)']);
    expect(m.notices(20, 't', { files: [user, '/p/.sbx.yaml', '/p/.sbx.yaml'], trusted: true, origin: 'use /p/.sbx.yaml (trusted)' })).toEqual([]);
    expect(m.notices(20, 't', project('/p/.sbx.yaml', false))).toHaveLength(2);
    // Another shell (or the same pid reused by a new process) starts afresh.
    expect(m.notices(21, 't', project('/p/.sbx.yaml', false))).toHaveLength(2);
    expect(m.notices(20, 'other start', plain('/x'))).toEqual([]);
  });

  it('prune forgets the dead', () => {
    const m = new NoticeMemory();
    m.notices(1, 'a', plain('/'));
    m.notices(2, 'b', plain('/'));
    m.prune((pid) => pid === 2);
    expect(m.size).toBe(1);
  });
});

describe('fresh markers', () => {
  const root = mkdtempSync(join(tmpdir(), 'sbx-fresh-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const env = { XDG_RUNTIME_DIR: root };

  it('one per shell; a session made stale loses only its own; all go on a trust change; the reply carries the path', () => {
    const a1 = markFresh(env, 'sA', 100)!;
    const a2 = markFresh(env, 'sA', 101)!;
    const b1 = markFresh(env, 'sB', 200)!;
    expect([a1, a2, b1].every((f) => existsSync(f))).toBe(true);
    markStale(env, 'sA');
    expect([existsSync(a1), existsSync(a2), existsSync(b1)]).toEqual([false, false, true]);
    markStale(env);
    expect(existsSync(b1)).toBe(false);
    const text = formatReply({ policy: 'p', prompt: 'sbx', notices: [], envDeny: [], envAllow: [], fresh: a1 });
    expect(text.split('\n')).toContain(`fresh ${a1}`);
    expect(parseReply(text)?.fresh).toBe(a1);
  });
});
