// The `kubernetes-emulator` command line (also `podbus emulator kubernetes`). The emulator
// itself loads only when the command runs, so `--help` stays instant.
import { Command, CommanderError } from 'commander';

import type { KubernetesEmulatorFlags } from './cli-actions.js';
import { CliUsageError, EXIT } from './cli-support.js';

export interface MainOptions {
  /** How the command is called in help and errors. @defaultValue `kubernetes-emulator` */
  readonly name?: string;
}

export function buildCommand(name = 'kubernetes-emulator'): Command {
  return new Command(name)
    .description(
      'Run the Kubernetes API emulator: HTTPS clusters with their own CA, tokens, RBAC, pods with a simulated lifecycle, and fault injection.',
    )
    .option('--clusters <n>', 'number of clusters, named cluster-1..cluster-N (default 2)')
    .option(
      '--base-port <port>',
      'cluster i listens on base-port + i - 1; 0 = ephemeral (default 6443)',
    )
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option(
      '--write-kubeconfig <path>',
      'kubeconfig to write (default $TMPDIR/podbus-kubernetes-emulator/kubeconfig)',
    )
    .option('--seed <n>', 'seed of all randomness: uids, pod IPs, jitter, error rates (default 1)')
    .option(
      '--namespace <ns>',
      "namespace of the least-privilege 'podbus' service account (default challenges)",
    )
    .option(
      '--node-capacity <pods>',
      'pods the node runs at once; more stay Pending/Unschedulable (default 110)',
    )
    .option('--schedule-ms <ms>', 'simulated scheduling delay (default 100)')
    .option('--start-ms <ms>', 'simulated container start delay (default 500)')
    .option('--run-ms <ms>', 'simulated container run time (default 2000)')
    .option('--plain-http', 'serve plain HTTP instead of HTTPS (not recommended)')
    .option(
      '--authentication-config <file>',
      'JWT (OIDC) authenticators for every cluster: an AuthenticationConfiguration (YAML/JSON), as kube-apiserver takes it',
    )
    .option(
      '--oidc-signing-algs <list>',
      'JWS algorithms JWT authenticators accept, comma-separated (default RS256)',
    )
    .addHelpText(
      'after',
      `
Examples:
  ${name} --write-kubeconfig kubeconfig
  kubectl --kubeconfig kubeconfig --context cluster-1 get pods -A
  ${name} --clusters 3 --base-port 7443 --run-ms 10000

Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad flags or a port in use;
130/143 forced by a second signal.`,
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .action(async (flags: KubernetesEmulatorFlags) => {
      await (await import('./cli-actions.js')).runKubernetesEmulator(flags);
    });
}

/** Runs the command line; returns the exit code instead of exiting. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const name = options.name ?? 'kubernetes-emulator';
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
