// The `servicebus-emulator` command line (also `podbus emulator servicebus`). The emulator
// itself loads only when the command runs, so `--help` stays instant.
import { Command, CommanderError } from 'commander';

import type { ServiceBusEmulatorFlags } from './cli-actions.js';
import { CliUsageError, EXIT } from './cli-support.js';

export interface MainOptions {
  /** How the command is called in help and errors. @defaultValue `servicebus-emulator` */
  readonly name?: string;
}

export function buildCommand(name = 'servicebus-emulator'): Command {
  return new Command(name)
    .description(
      'Run the Service Bus emulator: AMQP 1.0 on --port for the unmodified @azure/service-bus SDK. Prints the connection string on the first line of stdout.',
    )
    .option('--port <port>', 'AMQP port; 0 = any free port (default 5672)')
    .option('--host <host>', 'address to listen on (default 0.0.0.0)')
    .option('--config <path>', "queues, in the official emulator's config.json format")
    .option('--data-dir <dir>', 'keep messages across restarts in an append-only journal in DIR')
    .option('--accept-any-token', 'like the official emulator: do not verify SAS tokens')
    .option(
      '--entra-config <file>',
      'trust Microsoft Entra ID tokens: JSON with issuers, audiences, roleAssignments (README, "Microsoft Entra ID")',
    )
    .option(
      '--entra-issuer <url>',
      'trust Entra ID tokens with this iss (https://sts.windows.net/<tenant>/)',
    )
    .option('--entra-discovery-url <url>', "where --entra-issuer's OpenID discovery document is")
    .option('--entra-ca-file <file>', 'PEM CA of the discovery and JWKS endpoints')
    .option(
      '--entra-role <assignment>',
      'role assignment <principalId>=<role>[@<queue>] (repeatable; role: Azure Service Bus Data Owner|Sender|Receiver or its ID)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--control-port <port>',
      'serve the HTTP control endpoint (faults, counts) on this port; 0 = any free port',
    )
    .option('--control-host <host>', 'address of the control endpoint (default 127.0.0.1)')
    .option('--fault-seed <n>', 'seed of injected faults, to replay a chaos run (default 1)')
    .option('--tls', 'also listen for AMQPS (TLS), with a generated CA unless --tls-cert is given')
    .option('--tls-port <port>', 'AMQPS port (default 5671; implies --tls)')
    .option('--tls-cert <file>', 'serve this certificate (PEM) on the AMQPS port; needs --tls-key')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option(
      '--tls-ca-file <file>',
      'where to write the generated CA for NODE_EXTRA_CA_CERTS (default $TMPDIR/podbus-servicebus-emulator/ca.pem)',
    )
    .addHelpText(
      'after',
      `
Examples:
  ${name}                          # queue "challenges" on port 5672
  ${name} --port 0 --data-dir .sb  # any free port; keep messages across restarts
  ${name} --config config.json     # queues from the official emulator's config
  ${name} --control-port 9090      # faults and counts over HTTP on 127.0.0.1:9090
  ${name} --tls                    # also AMQPS on 5671; trust the CA file it names

Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad flags, config, data dir or port in use;
130/143 forced by a second signal.`,
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .action(async (flags: ServiceBusEmulatorFlags) => {
      await (await import('./cli-actions.js')).runServiceBusEmulator(flags);
    });
}

/** Runs the command line; returns the exit code instead of exiting. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const name = options.name ?? 'servicebus-emulator';
  try {
    await buildCommand(name).parseAsync([...argv]);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      const shown = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
      return shown || error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof CliUsageError ? EXIT.usage : EXIT.failure;
  }
}
