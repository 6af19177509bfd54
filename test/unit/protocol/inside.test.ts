/**
 * The inside channel's requests (src/protocol/inside.ts): what the CLI formats is what the
 * supervisor parses, and bad input gets one clear error naming what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { formatAsk, formatNarrow, formatWiden, parseAsk, parseNarrow, parseWiden } from '../../../src/protocol/inside.js';

describe('ask', () => {
  it('round-trips every request', () => {
    for (const req of [{ cmd: 'ping' }, { cmd: 'status' }, { cmd: 'log', limit: 5, since: 17 }, { cmd: 'why', limit: 3 }] as const)
      expect(parseAsk(formatAsk(req))).toEqual(req);
  });
  it('refuses unknown requests, unknown parameters and non-numbers', () => {
    expect(parseAsk('trust')).toEqual({ error: "unknown request 'trust' (known: ping, status, log, why)" });
    expect(parseAsk('log?file=/etc/shadow')).toEqual({ error: "log: unknown parameter 'file'" });
    expect(parseAsk('log?limit=-1')).toEqual({ error: "log: limit must be a whole number (got '-1')" });
  });
});

describe('narrow and widen', () => {
  it('round-trip', () => {
    expect(parseNarrow(formatNarrow(['--deny-read', '--allow-read=/a b&c']))).toEqual({ args: ['--deny-read', '--allow-read=/a b&c'] });
    expect(parseWiden(formatWiden({ cmd: 'trust', file: '/p/a&b/.sbx.yaml' }))).toEqual({ cmd: 'trust', file: '/p/a&b/.sbx.yaml' });
  });
  it('refuse what is malformed', () => {
    expect(parseNarrow('exec?args=%7B%7D')).toEqual({ error: 'exec: args must be a JSON array of strings' });
    expect(parseNarrow('run?args=[]')).toEqual({ error: 'unknown narrowing request (known: exec)' });
    expect(parseWiden('trust?file=relative')).toEqual({ error: 'trust: file must be an absolute path' });
    // A `..` after a link would show one place and read another: clean names only (twin above).
    for (const f of ['/p/link/../.sbx.yaml', '/p/./.sbx.yaml', '/p//.sbx.yaml', '/p/'])
      expect(parseWiden(formatWiden({ cmd: 'trust', file: f }))).toEqual({ error: 'trust: file must be a clean absolute path (no ., .. or //)' });
    expect(parseWiden('off')).toEqual({ error: "unknown widening request 'off' (known: trust)" });
  });
});
