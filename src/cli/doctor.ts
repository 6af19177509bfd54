/**
 * `sbx doctor [--json]`: can this machine sandbox, and what would not work without each
 * missing feature. Exit 0 when usable, 1 when not.
 */
import type { Command } from './main.js';
import { flag, parseArgs } from './args.js';
import { UsageError } from '../errors.js';
import { currentPlatform } from '../platform/index.js';
import type { DoctorReport } from '../platform/types.js';
import { insideSession } from '../protocol/inside.js';

const usage = `usage: sbx doctor [--json]

Checks the kernel features sbx needs and says what would not work without each.
  --json   print the report as JSON
Exit status: 0 when sbx can sandbox on this machine, 1 when it cannot.`;

export function formatReport(report: DoctorReport): string {
  const lines = [`sbx doctor (${report.platform})`];
  for (const c of report.checks) {
    lines.push(`  ${c.ok ? 'ok  ' : 'MISS'} ${c.name}: ${c.detail}`);
    if (!c.ok && c.consequence) lines.push(`       → ${c.consequence}`);
  }
  lines.push(report.usable ? 'sbx can sandbox on this machine.' : 'sbx CANNOT sandbox on this machine (see MISS above).');
  return lines.join('\n');
}

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { json: {} }, usage);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`, usage);
  // Inside a session the sandbox itself refuses what doctor probes (a nested seccomp listener):
  // the kernel is fine, and saying otherwise would send people chasing kernel upgrades.
  const inside = insideSession();
  if (inside) {
    const msg = {
      inside: true,
      session: inside.session,
      policy: inside.policy,
      detail: 'this shell runs inside an sbx session: the kernel checks need an unsandboxed terminal',
    };
    process.stdout.write(
      flag(parsed, 'json')
        ? `${JSON.stringify(msg, null, 2)}
`
        : `sbx doctor: running inside sbx session ${inside.session} (policy ${inside.policy}).
` +
            `The sandbox works on this machine (this session is one). The kernel checks refuse inside a sandbox
` +
            `by design (nested seccomp listeners are blocked): run \`sbx doctor\` in a terminal outside the sandbox.
`,
    );
    return 0;
  }
  const report = await (await currentPlatform()).doctor();
  process.stdout.write(flag(parsed, 'json') ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  return report.usable ? 0 : 1;
}

export const command: Command = {
  summary: 'check the kernel features sbx needs',
  usage,
  run,
};
