// The `podbus local` command line; the stack it starts is loaded only when it runs.
import type { Command } from 'commander';

import { LOG_LEVELS } from '../observability/log-levels.js';
import type { LocalFlags } from './local-actions.js';

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
      const { runLocal } = await import('./local-actions.js');
      process.exitCode = await runLocal(flags);
    });
}
