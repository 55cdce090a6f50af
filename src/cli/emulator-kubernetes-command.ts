// The `podbus emulator kubernetes` command line; the emulator loads only when it runs.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Command } from 'commander';

import type { KubernetesEmulatorFlags } from './emulator-kubernetes-actions.js';

export const DEFAULT_KUBECONFIG = join(tmpdir(), 'podbus-kubernetes-emulator', 'kubeconfig');

/** `podbus emulator kubernetes`: runs the Kubernetes API emulator until SIGINT/SIGTERM. */
export function registerKubernetesEmulatorCommand(emulator: Command): void {
  emulator
    .command('kubernetes')
    .description(
      'Run the Kubernetes API emulator: HTTPS clusters with their own CA, tokens, RBAC, pods with a simulated lifecycle, and fault injection.',
    )
    .option('--clusters <n>', 'number of clusters, named cluster-1..cluster-N (default 2)')
    .option(
      '--base-port <port>',
      'cluster i listens on base-port + i - 1; 0 = ephemeral (default 6443)',
    )
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--write-kubeconfig <path>', `kubeconfig to write (default ${DEFAULT_KUBECONFIG})`)
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
    .addHelpText(
      'after',
      `
Examples:
  podbus emulator kubernetes --write-kubeconfig kubeconfig
  kubectl --kubeconfig kubeconfig --context cluster-1 get pods -A
  podbus emulator kubernetes --clusters 3 --base-port 7443 --run-ms 10000

Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad flags or a port in use;
130/143 forced by a second signal.`,
    )
    .action(async (flags: KubernetesEmulatorFlags) => {
      await (await import('./emulator-kubernetes-actions.js')).runKubernetesEmulator(flags);
    });
}
