/**
 * The trust check holds for the policy the ENGINE receives, after names are resolved:
 * an untrusted project cannot re-allow, by naming a host, an address the user denies.
 *
 *   user:    net.deny:  ["127.0.0.2/31"]
 *   project: net.allow: ["svc.test"]          (untrusted; svc.test → 127.0.0.2 in the hosts file)
 *
 * `sbx check` already said "denied"; the engine's copy (src/net re-resolving the name and
 * adding it back as a /32 allow) let the connection through.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareNetwork } from '../../../src/net/index.js';
import { resolvePolicyForDir } from '../../../src/policy/index.js';
import { decideNet } from '../../../src/policy/net-match.js';
import { tempWorld } from './helpers.js';

const w = tempWorld();
const proj = join(w.home, 'p');
mkdirSync(proj, { recursive: true });
writeFileSync(w.env.SBX_HOSTS_FILE!, '127.0.0.2 svc.test\n127.0.0.7 ok.test\n');
const userConfig = join(w.env.XDG_CONFIG_HOME!, 'sbx', 'config.yaml');

async function enginePolicy(user: string, project: string) {
  mkdirSync(join(w.env.XDG_CONFIG_HOME!, 'sbx'), { recursive: true });
  writeFileSync(userConfig, user);
  writeFileSync(join(proj, '.sbx.yaml'), project);
  const r = await resolvePolicyForDir(proj, { env: w.env });
  const net = await prepareNetwork(r.policy, { env: w.env, proxy: 'never', resolvConf: w.env.SBX_RESOLV_CONF });
  try {
    return net.policy;
  } finally {
    await net.close();
  }
}

describe('untrusted host names, after resolution', () => {
  it('a name resolving into a user-denied range stays denied in the engine policy', async () => {
    const p = await enginePolicy('version: 1\nnet:\n  deny: ["127.0.0.2/31"]\n', 'version: 1\nnet:\n  allow: ["svc.test"]\n');
    expect(decideNet(p.net, '127.0.0.2', 443).effect).toBe('deny');
    expect(decideNet(p.net, '127.0.0.3', 443).effect).toBe('deny');
  });

  it('the allowed twin: a name resolving outside the denied range is allowed', async () => {
    const p = await enginePolicy('version: 1\nnet:\n  deny: ["127.0.0.2/31"]\n', 'version: 1\nnet:\n  allow: ["ok.test"]\n');
    expect(decideNet(p.net, '127.0.0.7', 443).effect).toBe('allow');
    // The project's allow-list still narrows: nothing else.
    expect(decideNet(p.net, '127.0.0.9', 443).effect).toBe('deny');
  });
});
