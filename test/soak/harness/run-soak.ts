import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ServiceBusClient } from '@azure/service-bus';

import { ChaosRunner, planChaos } from './chaos.js';
import { planMessages } from './message-plan.js';
import type { SoakOptions } from './options.js';
import { Rng, randomSeed } from './random.js';
import { ReplicaSet, podbusCommand } from './replicas.js';
import { formatReport, verdict, type SoakReport } from './report.js';
import { sendPlan } from './sender.js';
import { DEFAULT_SETTINGS, QUEUE, describeSettings, startStack } from './stack.js';
import { readEndState, tally } from './tally.js';

/** podbus's default shutdownGraceMs plus its close steps (docs/configuration.md), and slack. */
const REPLICA_STOP_TIMEOUT_MS = 30_000 + 7_000 + 5_000;

export interface SoakRun {
  readonly report: SoakReport;
  readonly text: string;
  readonly passed: boolean;
  /**
   * The run directory (config, replica logs, chaos timeline, report), kept when the run failed
   * or a replica would not stop.
   */
  readonly dir: string;
}

/**
 * One soak run: both emulators in this process, podbus replicas as separate `podbus run`
 * processes, the messages sent while the seeded chaos runs; then every fault is cleared, every
 * replica runs again, the queue drains (or the deadline passes), and the end state is read
 * from the emulators and judged (tally.ts).
 */
export async function runSoak(
  options: SoakOptions,
  progress: (line: string) => void = () => {},
): Promise<SoakRun> {
  const seed = options.seed ?? randomSeed();
  const replay = replayCommand(options, seed);
  progress(`podbus soak: seed ${seed} (replay: ${replay})`);
  const rng = new Rng(seed);
  const dir = await mkdtemp(join(tmpdir(), 'podbus-soak-'));
  const stack = await startStack({
    clusters: options.clusters,
    seed,
    settings: options.settings,
    dir,
  });
  const { kubernetes, serviceBus } = stack;
  const clusterNames = kubernetes.clusters.map((c) => c.name);
  const client = new ServiceBusClient(serviceBus.connectionString);
  const replicas = new ReplicaSet({
    count: options.replicas,
    command: podbusCommand(options.fromDist),
    configFile: stack.configFile,
    env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: serviceBus.connectionString },
    logDir: dir,
    stopTimeoutMs: REPLICA_STOP_TIMEOUT_MS,
  });
  const chaos = new ChaosRunner(
    replicas,
    kubernetes.clusters,
    serviceBus,
    options.settings.clusterRequestTimeoutMs,
  );
  let passed = false;
  /** Something worth a look even in a run that passed (a replica that would not stop). */
  let noteworthy = false;
  try {
    const plan = planMessages(options.messages, rng.fork('messages'), {
      seed,
      clusters: clusterNames,
    });
    const durationMs = options.durationSeconds * 1000;
    const schedule = planChaos(rng.fork('chaos'), {
      durationMs,
      eventsPerMinute: options.chaosPerMinute,
      replicas: options.replicas,
      clusters: clusterNames,
    });
    replicas.startAll();
    // Latency counts from enqueue, so the replicas' start-up is not part of it.
    await replicas.allReceiving(120_000);
    const ticker = setInterval(() => progress(status(stack, replicas)), 10_000);
    let drainedInSeconds: number | undefined;
    let resends: number;
    let sentAt: Map<number, number>;
    try {
      const chaosStarted = Date.now();
      await chaos.start(schedule);
      ({ sentAt, resends } = await sendPlan(client, plan, rng.fork('sends'), durationMs));
      await sleep(chaosStarted + durationMs - Date.now());
      await chaos.finish();
      progress(`chaos over; draining (at most ${options.drainTimeoutSeconds} s)`);
      drainedInSeconds = await drain(stack, options.drainTimeoutSeconds * 1000);
    } finally {
      clearInterval(ticker);
      await replicas.terminateAll();
    }
    const state = await readEndState(kubernetes, serviceBus, client);
    const report: SoakReport = {
      seed,
      tally: tally(plan, state, sentAt),
      chaos: chaos.executed,
      skippedChaos: chaos.skipped.length,
      brokerFaults: serviceBus.faults.counts(),
      settings: describeSettings(options.settings),
      replicas: options.replicas,
      replicaStarts: replicas.starts,
      unexpectedExits: replicas.unexpectedExits,
      uncleanStops: replicas.uncleanStops,
      resends,
      durationSeconds: options.durationSeconds,
      drainedInSeconds,
      replay,
    };
    passed = verdict(report).length === 0;
    noteworthy = replicas.uncleanStops.length > 0;
    const text = formatReport(report);
    await writeFile(join(dir, 'report.txt'), `${text}\n`);
    await writeFile(join(dir, 'chaos-timeline.txt'), `${chaos.timeline.join('\n')}\n`);
    return { report, text, passed, dir };
  } finally {
    await chaos.finish({ restartReplicas: false }); // when the run failed half-way
    await replicas.terminateAll();
    await client.close();
    await stack.stop();
    if (passed && !noteworthy && !options.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** Waits until nothing is left in the queue; the seconds it took, or undefined at the deadline. */
async function drain(
  stack: Awaited<ReturnType<typeof startStack>>,
  timeoutMs: number,
): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const q = stack.serviceBus.inspect(QUEUE);
    if (q.active + q.locked + q.scheduled + q.deferred === 0) {
      return Math.round((Date.now() - started) / 1000);
    }
    await sleep(500);
  }
  return undefined;
}

function status(stack: Awaited<ReturnType<typeof startStack>>, replicas: ReplicaSet): string {
  const q = stack.serviceBus.inspect(QUEUE);
  const created = stack.kubernetes.clusters.reduce(
    (sum, c) => sum + c.podHistory(c.namespace).length,
    0,
  );
  return (
    `  pods ${created}, queue: ${q.active} active, ${q.locked} locked, ` +
    `${q.deadLettered} dead-lettered; replicas running ${replicas.runningCount()}/${replicas.count}`
  );
}

function replayCommand(options: SoakOptions, seed: number): string {
  const flags = [`--messages ${options.messages}`, `--seed ${seed}`];
  if (options.replicas !== 3) flags.push(`--replicas ${options.replicas}`);
  if (options.clusters !== 3) flags.push(`--clusters ${options.clusters}`);
  flags.push(`--duration ${options.durationSeconds}`);
  if (options.chaosPerMinute !== 20) flags.push(`--chaos ${options.chaosPerMinute}`);
  if (options.settings.strategy !== DEFAULT_SETTINGS.strategy)
    flags.push(`--strategy ${options.settings.strategy}`);
  if (!options.settings.duplicateDetection) flags.push('--no-duplicate-detection');
  return `npm run soak -- ${flags.join(' ')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
