// The `podbus emulator servicebus` command line; the emulator loads only when it runs.
import type { Command } from 'commander';

import type { ServiceBusEmulatorFlags } from './emulator-servicebus-actions.js';

/** `podbus emulator servicebus`: runs the Service Bus emulator until SIGINT/SIGTERM. */
export function registerServiceBusEmulatorCommand(emulator: Command): void {
  emulator
    .command('servicebus')
    .description(
      'Run the Service Bus emulator: AMQP 1.0 on --port for the unmodified @azure/service-bus SDK. Prints the connection string on the first line of stdout.',
    )
    .option('--port <port>', 'AMQP port; 0 = any free port (default 5672)')
    .option('--host <host>', 'address to listen on (default 0.0.0.0)')
    .option('--config <path>', "queues, in the official emulator's config.json format")
    .option('--data-dir <dir>', 'keep messages across restarts in an append-only journal in DIR')
    .option('--accept-any-token', 'like the official emulator: do not verify SAS tokens')
    .addHelpText(
      'after',
      `
Examples:
  podbus emulator servicebus                          # queue "challenges" on port 5672
  podbus emulator servicebus --port 0 --data-dir .sb  # any free port; keep messages across restarts
  podbus emulator servicebus --config config.json     # queues from the official emulator's config

Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad flags, config, data dir or port in use;
130/143 forced by a second signal.`,
    )
    .action(async (flags: ServiceBusEmulatorFlags) => {
      await (await import('./emulator-servicebus-actions.js')).runServiceBusEmulator(flags);
    });
}
