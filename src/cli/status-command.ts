// The `podbus status` command line; the SDK and client-node load only when it runs.
import type { Command } from 'commander';

import { envVarFor } from '../config/schema-tree.js';
import { CONNECTION_HELP } from './connection-help.js';
import { EXIT } from './exit-codes.js';
import { routeCommanderOutput } from './io.js';
import type { StatusFlags } from './status-actions.js';

const actions = () => import('./status-actions.js');

/** Messages peeked at most in the queue and in its dead-letter queue, unless --peek-limit. */
export const DEFAULT_PEEK_LIMIT = 1000;
/** Per-request timeout towards a cluster, unless --timeout. */
export const DEFAULT_TIMEOUT_SECONDS = 5;

/** `podbus status <messageId>...`: where each challenge is, from queue to pod. */
export function registerStatusCommand(program: Command): void {
  const status = program
    .command('status')
    .argument('<messageId...>', 'challenge messages to look for (their Service Bus messageId)')
    .description(
      'Find each challenge wherever it is: in the queue, dead-lettered, or its pod on a cluster, with phase, containers, exit codes and events.',
    )
    .option(
      '-c, --config <file>',
      'podbus config file (serviceBus and clusters); env PODBUS_CONFIG',
    )
    .option('--queue <name>', 'the challenge queue (default "challenges")')
    .option(
      '--clusters-file <path>',
      `clusters to ask (default: ${envVarFor('clustersFile')}, else clustersFile of --config)`,
    )
    .option('--json', 'print JSON (an array; JSON Lines with --watch)')
    .option('--watch', 'follow each challenge until it ends (succeeded, failed, dead-lettered)')
    .option(
      '--peek-limit <n>',
      `messages peeked at most in the queue and in its dead-letter queue (default ${DEFAULT_PEEK_LIMIT})`,
    )
    .option(
      '--timeout <seconds>',
      `per-request timeout towards each cluster (default ${DEFAULT_TIMEOUT_SECONDS})`,
    );
  routeCommanderOutput(status)
    .addHelpText(
      'after',
      `
Where it looks, all at once:
  - the queue and its dead-letter queue, by peeking (nothing is locked or counted as a
    delivery). Service Bus has no lookup by ID: a peek reads from the oldest message on, so at
    most --peek-limit messages of each are read. Further back in a longer queue a message is
    not seen, and the status says "not among the first N" instead of "not there";
  - every cluster, in parallel, for the pod named after the message ID (the worker's naming),
    with its phase, each container's state and exit code, its recent Events and its age. A
    cluster that cannot be asked is reported as such, with what to do, never as "no pod".

--watch follows each challenge to its end through a pod watch on every cluster (creation,
each change, deletion as they happen); while a challenge has no pod yet, the queues are
searched again every 5 s. Ctrl-C stops it.

${CONNECTION_HELP}

Examples:
  podbus status run-42
  podbus status run-42 run-43 --config podbus.yaml
  podbus status run-42 --watch
  podbus status run-42 --json | jq -r '.[0].state'

Exit codes: 0 every challenge was found (wherever it is); 1 a challenge was not found, or not
where podbus could look (Service Bus or a cluster could not be asked); 2 invalid flags or
configuration.`,
    )
    .action(async (ids: string[], flags: StatusFlags) => {
      const code = await (await actions()).runStatus(ids, flags);
      if (code !== EXIT.ok) process.exitCode = code;
    });
}
