/**
 * `sbx policy [--dir D] [--use FILE] [--json] [--seatbelt]`: the finished policy a session
 * would install (see explain-policy.ts), with the origin of every rule.
 */
import { resolve } from 'node:path';
import type { Command } from './main.js';
import { flag, flagValue, parseArgs, type FlagSpec } from './args.js';
import { SbxError } from '../errors.js';
import type { CompiledPolicy, PathSection } from '../policy/compiled.js';
import { resolveForExplain } from './explain-policy.js';

const usage = `usage: sbx policy [--dir D] [--use FILE] [--json] [--seatbelt]

  --dir D       the policy in force for directory D (default: current directory)
  --use FILE    as under direnv's \`use sandbox FILE\` in D
  --json        machine-readable: the compiled policy, overrides, origins, files

Exit status: 0, or 2 when a policy file is broken (its last good version or the strict
fallback is shown, as a session enforces it; every problem is on stderr).
  --seatbelt    the macOS Seatbelt profile generated from it`;

const spec: Record<string, FlagSpec> = { dir: { value: true }, use: { value: true }, json: {}, seatbelt: {} };

function origin(p: CompiledPolicy, rule: number): string {
  const o = p.origins[rule];
  return o ? `${JSON.stringify(o.text)}  ← ${o.source}` : '';
}

function pathLines(p: CompiledPolicy, name: string, s: PathSection): string[] {
  const out = [`${name} (default ${s.default}):`];
  for (const r of s.rules) {
    out.push(`  ${r.effect.padEnd(5)} ${r.floor ? 'floor ' : ''}${r.match === 'subtree' ? '' : `${r.match} `}${r.pattern}    ${origin(p, r.rule)}`);
  }
  return out;
}

export function formatPolicy(p: CompiledPolicy, overrides: CompiledPolicy[]): string {
  const lines = [`mode: ${p.mode}`];
  lines.push(...pathLines(p, 'read', p.read), ...pathLines(p, 'write', p.write));
  lines.push(...pathLines(p, 'exec', { default: p.exec.default, rules: p.exec.paths }));
  for (const r of p.exec.programs) lines.push(`  ${r.effect.padEnd(5)} program ${[r.name, ...r.args].join(' ')}    ${origin(p, r.rule)}`);
  lines.push(`net (default ${p.net.default}):`);
  for (const h of p.net.hosts ?? []) lines.push(`  ${h.effect.padEnd(5)} host ${h.pattern}${h.portLo === 0 && h.portHi === 65535 ? '' : `:${h.portLo}${h.portHi !== h.portLo ? `-${h.portHi}` : ''}`}    ${origin(p, h.rule)}`);
  for (const r of p.net.rules) {
    const ports = r.portLo === 0 && r.portHi === 65535 ? '' : ` port ${r.portLo}${r.portHi !== r.portLo ? `-${r.portHi}` : ''}`;
    lines.push(`  ${r.effect.padEnd(5)} ${r.address}/${r.prefix}${ports}    ${origin(p, r.rule)}`);
  }
  lines.push(...pathLines(p, 'unix sockets', p.unix));
  lines.push(`env: deny ${JSON.stringify(p.env.deny)} allow ${JSON.stringify(p.env.allow)}`);
  for (const c of p.commands) {
    const o = overrides.find((x) => x.id === c.policy);
    lines.push('', `commands: ${c.name}  ← ${p.origins[c.rule]?.source ?? ''}`);
    if (o) lines.push(...formatPolicy(o, []).split('\n').map((l) => `  ${l}`));
  }
  return lines.join('\n');
}

/** The Seatbelt profile (src/platform/macos/profile.ts), loaded only when asked for. */
async function seatbelt(policy: CompiledPolicy): Promise<string> {
  const { seatbeltProfile } = await import('../platform/macos/profile.js');
  return seatbeltProfile(policy);
}

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, spec, usage);
  if (parsed.positionals.length > 0) throw new SbxError(`sbx policy takes no arguments (got '${parsed.positionals[0]}'); use --dir`, { exitCode: 2 });
  const dir = resolve(flagValue(parsed, 'dir') ?? '.');
  const use = flagValue(parsed, 'use');
  const x = await resolveForExplain({ dir, use: use === undefined ? undefined : resolve(use) });
  const r = x.resolved;
  if (flag(parsed, 'seatbelt')) {
    process.stdout.write(`${await seatbelt(r.policy)}\n`);
    return 0;
  }
  if (flag(parsed, 'json')) {
    const { plan: _p, ...net } = x.policy.net;
    const strip = (p: CompiledPolicy) => ({ ...p, net: { ...p.net, plan: undefined } });
    process.stdout.write(`${JSON.stringify({ ...r, policy: { ...x.policy, net }, overrides: x.overrides.map(strip), dropped: x.dropped, warnings: x.warnings }, null, 2)}\n`);
    return 0;
  }
  const head = [`policy for ${dir}`, `from: ${r.origin}`, `files: ${r.files.length ? r.files.join(', ') : '(none)'}`];
  for (const b of r.broken) head.push(`broken: ${b.issues.join('; ')} (${b.kept} in force)`);
  for (const d of x.dropped) head.push(`dropped: ${d}`);
  for (const w of x.warnings) head.push(`warning: ${w}`);
  if (!r.trusted) head.push('hint: run `sbx trust` (or `sbx trust FILE`) outside the sandbox to let the file widen access');
  process.stdout.write(`${head.join('\n')}\n\n${formatPolicy(x.policy, x.overrides)}\n`);
  // A broken file is an error (a linter can rely on it), though what is in force is shown.
  return r.broken.length > 0 ? 2 : 0;
}

export const command: Command = {
  summary: 'print the effective policy for a directory, with the origin of every rule',
  usage,
  run,
};
