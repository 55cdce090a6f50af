// The `podbus dlq` command line; the Service Bus SDK loads only when a subcommand runs.
import type { Command } from 'commander';

import { CONNECTION_HELP } from './connection-help.js';
import { EXIT } from './exit-codes.js';
import { routeCommanderOutput } from './io.js';
import type { ListFlags, PurgeFlags, ResubmitFlags, ShowFlags } from './dlq-actions.js';

/** Messages `dlq list` shows when --max is not given. */
export const DEFAULT_MAX = 100;

const EXIT_CODES_HELP = `Exit codes: 0 done; 1 Service Bus failed or a requested message was not found;
2 invalid flags or configuration.`;

const actions = () => import('./dlq-actions.js');

/** `podbus dlq list|show|resubmit|purge`: the dead-letter queue of the challenge queue. */
export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description(
      'Inspect dead-lettered challenge messages with their reasons, send fixed ones back, or delete them.',
    );
  routeCommanderOutput(dlq).addHelpText(
    'after',
    `
Every dead-lettered message carries a DeadLetterReason (InvalidJson, SchemaViolation,
PolicyViolation, MessageIdConflict, PodRejected, MaxDeliveryCountExceeded, ...) and a
description of what to fix: docs/message-contract.md#dead-letter-reasons.

${CONNECTION_HELP}

Examples:
  podbus dlq list
  podbus dlq show 3f2504e0-4f89-41d3-9a0c-0305e82c3301
  podbus dlq resubmit 3f2504e0-4f89-41d3-9a0c-0305e82c3301
  podbus dlq purge --yes

${EXIT_CODES_HELP}`,
  );

  withQueueFlags(dlq.command('list'))
    .description('Peek at the dead-lettered messages (nothing is removed or locked).')
    .option('--json', 'print a JSON array instead of a table')
    .option('--max <n>', `show at most n messages, oldest first (default ${DEFAULT_MAX})`)
    .addHelpText(
      'after',
      `
Columns: MESSAGE ID, ENQUEUED (UTC), REASON, DESCRIPTION, CHALLENGE (from the body, when it
parses), DELIVERIES. On a terminal the table fits its width (long descriptions end in "…");
piped, cells are printed whole. --json prints every field: messageId, sequenceNumber,
enqueuedTime, deadLetterReason, deadLetterErrorDescription, lastError, challengeId,
deliveryCount.

Examples:
  podbus dlq list
  podbus dlq list --json | jq -r '.[] | select(.deadLetterReason=="PolicyViolation") | .messageId'

${EXIT_CODES_HELP}`,
    )
    .action(async (flags: ListFlags) => setExit(await (await actions()).runList(flags)));

  withQueueFlags(dlq.command('show'))
    .argument('<messageId>', 'the message to show (every dead-lettered message with this ID)')
    .description('Print one dead-lettered message in full: properties, reason, description, body.')
    .option('--json', 'print JSON instead of text')
    .addHelpText(
      'after',
      `
Examples:
  podbus dlq show run-42
  podbus dlq show run-42 --json

${EXIT_CODES_HELP}`,
    )
    .action(async (id: string, flags: ShowFlags) =>
      setExit(await (await actions()).runShow(id, flags)),
    );

  withQueueFlags(dlq.command('resubmit'))
    .argument('[messageId...]', 'messages to send back (every dead-lettered message with the ID)')
    .description(
      'Send dead-lettered messages back to the queue (same body, messageId and properties) and remove them from the dead-letter queue.',
    )
    .option('--all', 'every message in the dead-letter queue')
    .addHelpText(
      'after',
      `
Each message is received with a lock, a copy is sent to the queue, and only then is it removed
from the dead-letter queue; if the send fails it stays there. The copy keeps the messageId, so
the worker names the pod as before: fix the cause first (policy, quota, the cluster), then
resubmit. A MessageIdConflict message conflicts again unless the pod with its name is deleted;
send a new message (with a new messageId) instead. The DeadLetterReason, the
DeadLetterErrorDescription and podbus-last-error are not copied.

Output: the resubmitted message IDs on stdout, one per line; warnings and the summary on stderr.

Examples:
  podbus dlq resubmit run-42 run-43
  podbus dlq resubmit --all

${EXIT_CODES_HELP}`,
    )
    .action(async (ids: string[], flags: ResubmitFlags) =>
      setExit(await (await actions()).runResubmit(ids, flags)),
    );

  withQueueFlags(dlq.command('purge'))
    .argument('[messageId...]', 'only these messages (default: every dead-lettered message)')
    .description('Delete dead-lettered messages for good.')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .addHelpText(
      'after',
      `
Counts the messages first and asks before deleting them (on a terminal); without a terminal it
refuses unless --yes is given. Only the messages counted are deleted: one dead-lettered while
the purge runs is kept. Deleted message IDs go to stdout, one per line.

Examples:
  podbus dlq purge
  podbus dlq purge --yes
  podbus dlq purge run-42 --yes

${EXIT_CODES_HELP}`,
    )
    .action(async (ids: string[], flags: PurgeFlags) =>
      setExit(await (await actions()).runPurge(ids, flags)),
    );
}

function withQueueFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'podbus config file (its serviceBus section); env PODBUS_CONFIG')
    .option('--queue <name>', 'queue whose dead-letter queue to use (default "challenges")');
}

function setExit(code: number): void {
  if (code !== EXIT.ok) process.exitCode = code;
}
