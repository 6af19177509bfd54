/**
 * Where a sandbox start spends its time, supervisor side: with SBX_START_TRACE=1 in the
 * supervisor's environment, each step of an exec-start / session-env / keeper registration is
 * written to the daemon log as "start-trace <session> <step> +<ms since the request>".
 * Off by default (one env lookup); bench/ and a person chasing a slow start turn it on.
 */
import { performance } from 'node:perf_hooks';

const ON = !!process.env.SBX_START_TRACE && process.env.SBX_START_TRACE !== '0';
const begun = new Map<string, number>();

export function traceStart(session: string): void {
  if (!ON) return;
  begun.set(session, performance.now());
  if (begun.size > 1000) begun.delete(begun.keys().next().value!);
}

export function traceStep(session: string, step: string): void {
  if (!ON) return;
  const t0 = begun.get(session);
  const ms = t0 === undefined ? NaN : performance.now() - t0;
  process.stderr.write(`start-trace ${session} ${step} +${ms.toFixed(2)}ms\n`);
}
