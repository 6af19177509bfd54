import { describe, expect, it } from 'vitest';
import { formatReply, parseReply } from '../../../src/protocol/hook-reply.js';

describe('hook reply codec', () => {
  it('round-trips, one record per line, newlines in values flattened', () => {
    const reply = {
      policy: '/p/.sbx.yaml (trusted)',
      prompt: 'sbx:p',
      notices: ['policy changed', 'broken: /p/.sbx.yaml:3:5\nsecond line'],
      envDeny: ['AWS_*', '*_TOKEN'],
      envAllow: ['AWS_REGION'],
    };
    const text = formatReply(reply);
    expect(text.split('\n')).toEqual([
      'sbx 1',
      'policy /p/.sbx.yaml (trusted)',
      'prompt sbx:p',
      'notice policy changed',
      'notice broken: /p/.sbx.yaml:3:5 second line',
      'env-deny AWS_*',
      'env-deny *_TOKEN',
      'env-allow AWS_REGION',
      '',
    ]);
    expect(parseReply(text)).toEqual({ ...reply, notices: ['policy changed', 'broken: /p/.sbx.yaml:3:5 second line'] });
  });

  it('refuses another protocol version and ignores unknown keys', () => {
    expect(parseReply('sbx 2\nprompt x\n')).toBeNull();
    expect(parseReply('')).toBeNull();
    expect(parseReply('sbx 1\nfuture thing\nprompt x\nnotice\n')).toEqual({ policy: '', prompt: 'x', notices: [''], envDeny: [], envAllow: [] });
  });
});
