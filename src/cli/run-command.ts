// The `podbus run` command line. Its action loads the worker (and with it the Kubernetes and
// Service Bus clients) only when the command runs, so other commands start fast and light.
import type { Command } from 'commander';

import { LOG_LEVELS } from '../observability/log-levels.js';
import type { RunFlags } from './run-actions.js';

/** `podbus run`: the worker, until SIGINT/SIGTERM (the container image's default command). */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'Run the worker: Service Bus challenge messages -> pods on the configured clusters.',
    )
    .option('-c, --config <file>', 'config file (YAML or JSON); env PODBUS_CONFIG')
    .option('--pretty', 'human-readable logs instead of JSON lines')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`)
    .option('--queue <name>', 'queue to receive from (serviceBus.queueName)')
    .option('--strategy <name>', 'cluster selection strategy (selection.strategy)')
    .option(
      '--max-concurrent-calls <n>',
      'messages handled at once (serviceBus.maxConcurrentCalls)',
    )
    .addHelpText(
      'after',
      `
Settings come from the config file, then PODBUS_* environment variables, then these flags.
Every option: docs/configuration.md. The connection string is a secret: pass it as
PODBUS_SERVICE_BUS_CONNECTION_STRING.

Examples:
  PODBUS_SERVICE_BUS_CONNECTION_STRING='Endpoint=sb://...' podbus run --config podbus.yaml
  podbus run --config podbus.yaml --pretty --log-level debug

Exit codes: 0 stopped cleanly, 2 invalid configuration or flags, 1 failed to start,
130/143 forced by a second SIGINT/SIGTERM.`,
    )
    .action(async (flags: RunFlags) => {
      const { runWorker } = await import('./run-actions.js');
      process.exitCode = await runWorker(flags);
    });
}
