// The `entra-emulator` command line (also `podbus emulator entra`). The endpoint itself loads
// only when the command runs, so `--help` stays instant.
import { Command, CommanderError } from 'commander';

import type { EntraEmulatorFlags } from './cli-actions.js';
import { CliUsageError, EXIT } from './cli-support.js';

export interface MainOptions {
  /** How the command is called in help and errors. @defaultValue `entra-emulator` */
  readonly name?: string;
}

export function buildCommand(name = 'entra-emulator'): Command {
  return new Command(name)
    .description(
      'Run a Microsoft Entra ID token endpoint for @azure/identity, offline: OpenID discovery, JWKS, client-credentials tokens and a managed identity endpoint over HTTPS with its own CA. Prints AZURE_AUTHORITY_HOST=<url> on the first line of stdout.',
    )
    .option('--port <port>', 'HTTPS port; 0 = any free port (default 8443)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--tenant-id <id>', 'the tenant (directory) ID (default: a random GUID)')
    .option(
      '--config <file>',
      'JSON: applications, managedIdentities, trustedIssuers, tokenLifetimeSeconds, clockSkewSeconds (README, "Configuration file")',
    )
    .option(
      '--ca-file <file>',
      'where to write the CA for NODE_EXTRA_CA_CERTS (default $TMPDIR/podbus-entra-emulator/ca.pem)',
    )
    .addHelpText(
      'after',
      `
Examples:
  ${name} --config entra.json
  NODE_EXTRA_CA_CERTS=<ca file> AZURE_AUTHORITY_HOST=<url> node app.mjs   # then, in app.mjs:
    new ClientSecretCredential(tenantId, clientId, secret, { disableInstanceDiscovery: true })

Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad flags, config or port in use.`,
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .action(async (flags: EntraEmulatorFlags) => {
      await (await import('./cli-actions.js')).runEntraEmulator(flags);
    });
}

/** Runs the command line; returns the exit code instead of exiting. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const name = options.name ?? 'entra-emulator';
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
