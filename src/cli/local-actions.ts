import { ServiceBusClient } from '@azure/service-bus';

import { createLogger, LOG_LEVELS, type LogLevel } from '../observability/logger.js';
import {
  LOCAL_CLEANUP_AFTER_SECONDS,
  LOCAL_RESULTS_QUEUE,
  startLocalStack,
} from '../local/local-stack.js';
import { ProgressReporter } from '../local/progress-reporter.js';
import { SAMPLE_MESSAGES } from '../local/samples.js';
import { RESULT_OUTCOMES } from '../results/pod-outcome.js';
import { loadKubernetesEmulator, loadServiceBusEmulator } from './emulator-packages.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, out } from './io.js';
import { onStopSignals } from './signals.js';

export interface LocalFlags {
  clusters: string;
  stateDir: string;
  httpPort: string;
  logLevel: string;
  samples: boolean;
  exitWhenDone?: boolean;
}

export async function runLocal(flags: LocalFlags): Promise<number> {
  const clusters = wholeNumber(flags.clusters, '--clusters', 1, 10);
  const httpPort = wholeNumber(flags.httpPort, '--http-port', 0, 65535);
  if (!LOG_LEVELS.includes(flags.logLevel as LogLevel)) {
    throw new CliUsageError(
      `--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${flags.logLevel}"`,
    );
  }
  const io = cliIo();
  const logger = createLogger({
    level: flags.logLevel as LogLevel,
    pretty: io.stderr.isTTY === true,
    destination: { write: (line: string) => io.stderr.write(line) },
  });
  // First, so that an installation without the emulators says so before writing anything.
  const { startServiceBusEmulator } = await loadServiceBusEmulator('podbus local');
  const { startKubernetesEmulator } = await loadKubernetesEmulator('podbus local');
  const signals = onStopSignals();
  out('podbus local: starting the Service Bus emulator, simulated clusters and the worker...');
  const stack = await startLocalStack({
    emulators: { startServiceBusEmulator, startKubernetesEmulator },
    stateDir: flags.stateDir,
    clusters,
    httpPort,
    logger,
  });
  const client = new ServiceBusClient(stack.serviceBus.connectionString);
  const reporter = new ProgressReporter(
    stack.kubernetes,
    client,
    { challenges: stack.config.serviceBus.queueName, results: LOCAL_RESULTS_QUEUE },
    out,
  );
  try {
    printBanner(stack);
    reporter.start();
    const samples = flags.samples ? SAMPLE_MESSAGES : [];
    if (samples.length > 0) await sendSamples(client, stack.config.serviceBus.queueName);

    const done = waitForSamples(reporter, samples.length === 0 ? [] : SAMPLE_MESSAGES);
    const first = await Promise.race([done.then(() => 'done' as const), signals.stopped]);
    if (first === 'done') {
      printSummary(reporter);
      if (!flags.exitWhenDone) {
        out('\nStill running. Press Ctrl-C to stop.');
        await signals.stopped;
      }
    }
    out('\nStopping: the worker drains, then the emulators stop.');
    return EXIT.ok;
  } finally {
    await reporter.stop().catch(() => undefined);
    await client.close().catch(() => undefined);
    await stack.stop();
    signals.dispose();
  }
}

function printBanner(stack: Awaited<ReturnType<typeof startLocalStack>>): void {
  const first = stack.kubernetes.clusters[0]!;
  out('');
  out(`  Service Bus   ${stack.serviceBus.connectionString}`);
  for (const c of stack.kubernetes.clusters) out(`  Cluster       ${c.name}  ${c.server}`);
  out(
    `  kubectl       kubectl --kubeconfig ${stack.kubeconfigPath} --context ${first.name} get pods -n ${first.namespace}`,
  );
  out(`  Worker config ${stack.configPath}`);
  if (stack.worker.health)
    out(`  Metrics       http://127.0.0.1:${stack.worker.health.port}/metrics`);
  out('');
}

async function sendSamples(client: ServiceBusClient, queue: string): Promise<void> {
  const invalid = SAMPLE_MESSAGES.filter((m) => m.invalid).length;
  out(`Sending ${SAMPLE_MESSAGES.length} sample challenges (${invalid} invalid on purpose):`);
  const sender = client.createSender(queue);
  try {
    await sender.sendMessages(
      SAMPLE_MESSAGES.map((m) => ({ messageId: m.messageId, body: m.body })),
    );
  } finally {
    await sender.close();
  }
  for (const m of SAMPLE_MESSAGES) out(`  → ${m.messageId.padEnd(20)} ${m.shows}`);
  out(
    `\nWhat happens to them: pods on the simulated clusters (●), the dead-letter queue (✗), ` +
      `results on the "${LOCAL_RESULTS_QUEUE}" queue (↩), and cleanup ${LOCAL_CLEANUP_AFTER_SECONDS} s after a pod ends (✂):`,
  );
}

/**
 * Resolves once every valid sample's result came back and its pod was cleaned up, and every
 * invalid one is in the DLQ.
 */
async function waitForSamples(
  reporter: ProgressReporter,
  samples: readonly { messageId: string; invalid?: boolean }[],
): Promise<void> {
  for (;;) {
    await reporter.poll();
    const { deadLettered, results, deleted } = reporter.seen;
    const cleanedUp = (id: string) => [...deleted].some((key) => key.endsWith(`/${id}`));
    const done = (m: { messageId: string; invalid?: boolean }) =>
      m.invalid
        ? deadLettered.has(m.messageId)
        : results.has(m.messageId) && cleanedUp(m.messageId);
    if (samples.every(done)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function printSummary(reporter: ProgressReporter): void {
  const { pods, deadLettered, results, deleted } = reporter.seen;
  const tally = RESULT_OUTCOMES.map((outcome) => {
    const n = [...results.values()].filter((o) => o === outcome).length;
    return n === 0 ? '' : `${n} ${outcome}`;
  })
    .filter((part) => part !== '')
    .join(', ');
  out(
    `\nAll sample messages handled: ${pods.size} pods created, ${results.size} results received ` +
      `(${tally}), ${deleted.size} pods cleaned up, ` +
      `${deadLettered.size} messages dead-lettered with a reason.`,
  );
}

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliUsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}
