import type { FaultCounts } from '@podbus/servicebus-emulator';

import type { ChaosEvent, ChaosKind } from './chaos.js';
import type { UnexpectedExit } from './replicas.js';
import { failures, type Tally } from './tally.js';

export interface SoakReport {
  readonly seed: number;
  readonly tally: Tally;
  readonly chaos: readonly ChaosEvent[];
  readonly skippedChaos: number;
  /** What the broker injected, as it counted. */
  readonly brokerFaults: FaultCounts;
  readonly settings: readonly string[];
  readonly replicas: number;
  readonly replicaStarts: number;
  readonly unexpectedExits: readonly UnexpectedExit[];
  readonly uncleanStops: readonly UnexpectedExit[];
  readonly resends: number;
  readonly durationSeconds: number;
  readonly drainedInSeconds: number | undefined;
  readonly replay: string;
}

/** Why the run failed ([] when it passed). A replica that died on its own fails it too. */
export function verdict(report: SoakReport): string[] {
  const out = failures(report.tally);
  if (report.unexpectedExits.length > 0)
    out.push(`${report.unexpectedExits.length} replica(s) exited on their own`);
  return out;
}

const CHAOS_NAMES: Readonly<Record<ChaosKind, string>> = {
  kill: 'kill -9',
  sigterm: 'SIGTERM',
  'cluster-down': 'cluster down',
  'black-hole': 'black hole',
  'throttle-burst': '429 burst',
  'quota-full': 'quota full',
  'broker-connection-drop': 'broker connection drop',
  'broker-lock-loss': 'lock-loss period',
  'settlement-hang': 'settlement hang period',
};

export function formatReport(report: SoakReport): string {
  const t = report.tally;
  const chaosCounts = new Map<ChaosKind, number>();
  for (const e of report.chaos) chaosCounts.set(e.kind, (chaosCounts.get(e.kind) ?? 0) + 1);
  const chaos =
    [...chaosCounts].map(([kind, n]) => `${n} ${CHAOS_NAMES[kind]}`).join(', ') || 'none';
  const perCluster = [...t.podsPerCluster].map(([c, n]) => `${c} ${n}`).join(', ');
  const reasons = [...t.deadLettered]
    .sort()
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  const failed = verdict(report);
  const lines = [
    `podbus soak, seed ${report.seed}`,
    ...report.settings.map((s) => `  ${s}`),
    `  ${report.replicas} replicas (${report.replicaStarts} process starts), ` +
      `${t.podsPerCluster.size} clusters, messages sent over ${report.durationSeconds} s`,
    `  chaos: ${chaos}${report.skippedChaos > 0 ? ` (${report.skippedChaos} skipped: replica already down)` : ''}; ` +
      'all along: 5% 5xx on pod creates and reads, ~4% ambiguous creates; on the broker 1% of ' +
      'locks lost early, 0.2% of settlements refused, 1% of deliveries delayed, a connection ' +
      'dropped at 1 message event in 5,000',
    `  the broker counted: ${brokerFaults(report.brokerFaults)}`,
    '',
    `sent:           ${t.sent} messages (${t.valid} valid, ${t.invalid} invalid), ` +
      `${t.sentTwice} of them sent twice, ${report.resends} batch resend(s)`,
    `pods:           ${t.pods} created (${perCluster})`,
    `duplicates:     ${t.duplicates}${list(t.duplicateIds)}`,
    `lost:           ${t.lost.length}${list(t.lost)}`,
    `left in queue:  ${t.leftInQueue.length}${list(t.leftInQueue)}`,
    `dead-lettered:  ${sum(t.deadLettered)} (${reasons || 'none'})`,
    `latency:        enqueue -> pod created p50 ${ms(percentile(t.latenciesMs, 0.5))}, ` +
      `p99 ${ms(percentile(t.latenciesMs, 0.99))}, max ${ms(t.latenciesMs.at(-1))}`,
    `drained:        ${report.drainedInSeconds === undefined ? 'NO (deadline hit)' : `${report.drainedInSeconds} s after the chaos ended`}`,
  ];
  for (const line of t.duplicatePods) lines.push(`duplicate: ${line}`);
  if (t.validDeadLettered.length > 0)
    lines.push(
      `valid but dead-lettered: ${t.validDeadLettered.length}${list(t.validDeadLettered.map((v) => `${v.id} (${v.reasons.join(', ')})`))}`,
    );
  if (t.invalidMishandled.length > 0)
    lines.push(
      `invalid, mishandled: ${t.invalidMishandled.length}${list(t.invalidMishandled.map((v) => `${v.id}: expected ${v.expected}, got ${v.got}`))}`,
    );
  if (t.strayPods.length > 0) lines.push(`pods for no message sent: ${list(t.strayPods)}`);
  for (const exit of report.unexpectedExits)
    lines.push(
      `replica ${exit.replica} exited on its own (code ${exit.code}, signal ${exit.signal}): ${exit.log}`,
    );
  for (const exit of report.uncleanStops)
    lines.push(
      `replica ${exit.replica} did not stop cleanly after SIGTERM (code ${exit.code}, signal ${exit.signal}): ${exit.log}`,
    );
  lines.push(
    '',
    failed.length === 0 ? 'PASS: no duplicate, nothing lost' : `FAIL: ${failed.join('; ')}`,
    `replay: ${report.replay}`,
  );
  return lines.join('\n');
}

function brokerFaults(c: FaultCounts): string {
  return (
    `${c.locksLost} locks lost early, ${c.connectionsDropped} connections dropped, ` +
    `${c.settlementsFailed} settlements refused, ${c.settlementsHung} settlements hung, ` +
    `${c.deliveriesDelayed} deliveries delayed`
  );
}

function list(items: readonly string[]): string {
  if (items.length === 0) return '';
  const shown = items.slice(0, 5).join(', ');
  return ` [${shown}${items.length > 5 ? `, ... ${items.length - 5} more` : ''}]`;
}

function sum(counts: ReadonlyMap<string, number>): number {
  return [...counts.values()].reduce((a, b) => a + b, 0);
}

export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

function ms(value: number | undefined): string {
  if (value === undefined) return 'n/a';
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}
