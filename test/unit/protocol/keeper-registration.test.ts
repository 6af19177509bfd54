/**
 * The keeper's registration line (src/protocol/keeper.ts parseRegistration): the fds attached
 * must be exactly the listener, the journal and the `terms` terminal fds it announces (the
 * terminals the session's command started on, terminal_release.h). Anything else is refused.
 */
import { describe, expect, it } from 'vitest';
import { MAX_TERMINAL_FDS, parseRegistration } from '../../../src/protocol/keeper.js';

const line = (extra: Record<string, unknown>) =>
  `${JSON.stringify({ v: 1, session: 's0123456789ab', rootPid: 1234, keeperPid: 1, cwd: '/', tty: '', resume: false, state: null, ...extra })}\n`;

describe('registration', () => {
  it('takes the terminal fds it announces, none to the most the keeper sends', () => {
    for (let terms = 0; terms <= MAX_TERMINAL_FDS; terms++) expect(parseRegistration(line({ terms }), 2 + terms)?.terms).toBe(terms);
  });

  it('an older keeper (no terms) sends the listener and journal only', () => {
    expect(parseRegistration(line({}), 2)).toBeDefined();
    expect(parseRegistration(line({}), 2)?.terms).toBeUndefined();
  });

  it('refuses fds that do not match what it announces, and a count out of range', () => {
    expect(parseRegistration(line({ terms: 1 }), 2)).toBeUndefined();
    expect(parseRegistration(line({ terms: 0 }), 3)).toBeUndefined();
    expect(parseRegistration(line({}), 3)).toBeUndefined();
    expect(parseRegistration(line({ terms: MAX_TERMINAL_FDS + 1 }), 3 + MAX_TERMINAL_FDS)).toBeUndefined();
    expect(parseRegistration(line({ terms: -1 }), 1)).toBeUndefined();
    expect(parseRegistration(line({ terms: 1.5 }), 3)).toBeUndefined();
  });
});
