import { describe, expect, it } from 'vitest';
import { canonicalIp } from '../../../src/net/ip.js';

describe('canonical addresses (resolver answers, reverse map keys)', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['::FFFF:7f00:2', '127.0.0.2'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['localhost', undefined],
    ['1.2.3', undefined],
  ];
  it.each(cases)('%s → %s', (text, want) => expect(canonicalIp(text)).toBe(want));
});
