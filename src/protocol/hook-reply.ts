/**
 * The reply a push gets (docs/hook-protocol.md): what the supervisor writes into the memfd the
 * shell reads, and the same parse the shell templates do, so both sides are tested on one table.
 *
 * Format: UTF-8 lines "key value" (value = the rest of the line, never a newline in it):
 *   sbx 1                     the protocol line, always first
 *   policy <origin>           the policy now in force
 *   prompt <text>             for sbx_prompt_info
 *   notice <line>             zero or more, printed once
 *   env-deny <glob>           zero or more: variables hidden from programs
 *   env-allow <glob>          zero or more: exceptions to env-deny
 *   proxy NAME=VALUE          zero or more: the session's proxy variables, present only while
 *                             the shell's policy needs sbx's proxy (a host or wildcard rule);
 *                             absent, the shell puts back the user's own (NAME: PROXY_VARS)
 * Unknown keys are ignored (a newer supervisor may add some).
 */

export interface HookReply {
  /** e.g. "/home/u/proj/.sbx.yaml (trusted)" or "default (secrets)". */
  policy: string;
  /** Short text for sbx_prompt_info: "sbx:proj", "sbx:proj!" (broken), "sbx:proj?" (untrusted). */
  prompt: string;
  /** Lines to print once to the user's terminal. */
  notices: string[];
  envDeny: string[];
  envAllow: string[];
  /** A marker file the hook stats at each prompt; gone = ask again (src/hook/fresh.ts). */
  fresh?: string;
  /** sbx's proxy variables while the policy needs the proxy; empty: the user's own apply. */
  proxy?: Record<string, string>;
}

/** The variables a `proxy` line may set (the shells accept no other name). */
export const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'] as const;

export const PROTOCOL_LINE = 'sbx 1';

/** Values never contain newlines: the shell reads one record per line. */
function oneLine(value: string): string {
  return value.replace(/\r?\n|\r/g, ' ');
}

export function formatReply(reply: HookReply): string {
  const lines = [PROTOCOL_LINE, `policy ${oneLine(reply.policy)}`, `prompt ${oneLine(reply.prompt)}`];
  for (const n of reply.notices) lines.push(`notice ${oneLine(n)}`);
  for (const g of reply.envDeny) lines.push(`env-deny ${oneLine(g)}`);
  for (const g of reply.envAllow) lines.push(`env-allow ${oneLine(g)}`);
  if (reply.fresh) lines.push(`fresh ${oneLine(reply.fresh)}`);
  for (const [k, v] of Object.entries(reply.proxy ?? {})) if ((PROXY_VARS as readonly string[]).includes(k)) lines.push(`proxy ${k}=${oneLine(v)}`);
  return `${lines.join('\n')}\n`;
}

/** Parses a reply; unknown keys are ignored (a newer supervisor may add some). Null if not protocol 1. */
export function parseReply(text: string): HookReply | null {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines[0] !== PROTOCOL_LINE) return null;
  const reply: HookReply = { policy: '', prompt: '', notices: [], envDeny: [], envAllow: [] };
  for (const line of lines.slice(1)) {
    const space = line.indexOf(' ');
    const key = space === -1 ? line : line.slice(0, space);
    const value = space === -1 ? '' : line.slice(space + 1);
    if (key === 'policy') reply.policy = value;
    else if (key === 'prompt') reply.prompt = value;
    else if (key === 'notice') reply.notices.push(value);
    else if (key === 'env-deny') reply.envDeny.push(value);
    else if (key === 'env-allow') reply.envAllow.push(value);
    else if (key === 'fresh') reply.fresh = value;
    else if (key === 'proxy') {
      const eq = value.indexOf('=');
      if (eq > 0) (reply.proxy ??= {})[value.slice(0, eq)] = value.slice(eq + 1);
    }
  }
  return reply;
}
