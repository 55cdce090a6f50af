import { ServiceBusClient } from '@azure/service-bus';
import type { Command } from 'commander';

import { createLogger, LOG_LEVELS, type LogLevel } from '../observability/logger.js';
import { startLocalStack } from '../local/local-stack.js';
import { ProgressReporter } from '../local/progress-reporter.js';
import { SAMPLE_MESSAGES } from '../local/samples.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, out } from './io.js';
import { onStopSignals } from './signals.js';

interface LocalFlags {
  clusters: string;
  stateDir: string;
  httpPort: string;
  logLevel: string;
  samples: boolean;
  exitWhenDone?: boolean;
}

/** `podbus local`: the whole product on this machine, with sample challenges. */
export function registerLocalCommand(program: Command): void {
  program
    .command('local')
    .description(
      'Run podbus end to end on this machine: the Service Bus emulator, simulated clusters, the worker and sample challenges.',
    )
    .option('--clusters <n>', 'number of simulated clusters', '2')
    .option(
      '--state-dir <dir>',
      'where the kubeconfig and worker config are written',
      '.podbus/local',
    )
    .option('--http-port <port>', 'port of /healthz, /readyz and /metrics (0 = any free port)', '0')
    .option('--log-level <level>', `worker log level (${LOG_LEVELS.join(', ')}), on stderr`, 'warn')
    .option('--no-samples', 'do not send the sample challenges')
    .option('--exit-when-done', 'stop once every sample message is handled (for scripts and CI)')
    .addHelpText(
      'after',
      `
Nothing else to install or configure: the emulators are part of podbus. While it runs, send
your own challenges from another terminal with the connection string it prints:
  PODBUS_SERVICE_BUS_CONNECTION_STRING='...' podbus enqueue --challenge hello --image busybox
and look at the simulated clusters with kubectl and the kubeconfig it writes.

Examples:
  npm run local
  podbus local --clusters 3 --log-level info

Exit codes: 0 stopped cleanly (Ctrl-C, or done with --exit-when-done), 1 failed, 2 bad flags.`,
    )
    .action(async (flags: LocalFlags) => {
      process.exitCode = await runLocal(flags);
    });
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
  const signals = onStopSignals();
  out('podbus local: starting the Service Bus emulator, simulated clusters and the worker...');
  const stack = await startLocalStack({ stateDir: flags.stateDir, clusters, httpPort, logger });
  const client = new ServiceBusClient(stack.serviceBus.connectionString);
  const reporter = new ProgressReporter(
    stack.kubernetes,
    client,
    stack.config.serviceBus.queueName,
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
  out('\nWhat happens to them (pods on the simulated clusters, and the dead-letter queue):');
}

/** Resolves once every valid sample has reached a terminal pod phase and every invalid one is in the DLQ. */
async function waitForSamples(
  reporter: ProgressReporter,
  samples: readonly { messageId: string; invalid?: boolean }[],
): Promise<void> {
  for (;;) {
    await reporter.poll();
    const { pods, deadLettered } = reporter.seen;
    const finished = (id: string) =>
      [...pods].some(([key, phase]) => key.endsWith(`/${id}`) && /^(Succeeded|Failed)/.test(phase));
    if (samples.every((m) => (m.invalid ? deadLettered.has(m.messageId) : finished(m.messageId))))
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function printSummary(reporter: ProgressReporter): void {
  const { pods, deadLettered } = reporter.seen;
  const phases = [...pods.values()];
  const ok = phases.filter((p) => p.startsWith('Succeeded')).length;
  const failed = phases.filter((p) => p.startsWith('Failed')).length;
  out(
    `\nAll sample messages handled: ${pods.size} pods created (${ok} succeeded, ${failed} failed), ` +
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
