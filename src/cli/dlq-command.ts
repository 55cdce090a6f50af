import type { ServiceBusClient } from '@azure/service-bus';
import type { Command } from 'commander';

import { countWord } from './enqueue-command.js';
import {
  DEAD_LETTER_PROPERTIES,
  detail,
  dlqReceiver,
  peekDeadLetters,
  processSnapshot,
  resubmission,
  snapshot,
  summarize,
  type DeadLetterDetail,
  type DeadLetterSummary,
  type Selection,
} from './dead-letter-queue.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, err, out, routeCommanderOutput } from './io.js';
import { renderTable } from './output/table.js';
import {
  CONNECTION_HELP,
  describeServiceBusError,
  serviceBusClient,
  serviceBusSettingsFor,
  type ServiceBusFlags,
} from './service-bus-target.js';

interface ListFlags extends ServiceBusFlags {
  json?: boolean;
  max?: string;
}
interface ShowFlags extends ServiceBusFlags {
  json?: boolean;
}
interface ResubmitFlags extends ServiceBusFlags {
  all?: boolean;
}
interface PurgeFlags extends ServiceBusFlags {
  all?: boolean;
  yes?: boolean;
}

const DEFAULT_MAX = 100;
const EXIT_CODES_HELP = `Exit codes: 0 done; 1 Service Bus failed or a requested message was not found;
2 invalid flags or configuration.`;

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
    .action(async (flags: ListFlags) => setExit(await runList(flags)));

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
    .action(async (id: string, flags: ShowFlags) => setExit(await runShow(id, flags)));

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
    .action(async (ids: string[], flags: ResubmitFlags) => setExit(await runResubmit(ids, flags)));

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
    .action(async (ids: string[], flags: PurgeFlags) => setExit(await runPurge(ids, flags)));
}

function withQueueFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'podbus config file (its serviceBus section); env PODBUS_CONFIG')
    .option('--queue <name>', 'queue whose dead-letter queue to use (default "challenges")');
}

function setExit(code: number): void {
  if (code !== EXIT.ok) process.exitCode = code;
}

/** Connects, runs `fn`, closes; Service Bus failures become one actionable line and exit 1. */
async function withClient(
  flags: ServiceBusFlags,
  fn: (client: ServiceBusClient, queue: string) => Promise<number>,
): Promise<number> {
  const settings = serviceBusSettingsFor(flags);
  const client = serviceBusClient(settings);
  try {
    return await fn(client, settings.queueName);
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    err(`podbus: ${describeServiceBusError(error, settings.queueName)}`);
    return EXIT.failure;
  } finally {
    await client.close().catch(() => undefined);
  }
}

function parseMax(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX;
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < 1 || Number(value) > 100_000) {
    throw new CliUsageError(`--max must be a whole number from 1 to 100000, got "${value}"`);
  }
  return Number(value);
}

const dlqPath = (queue: string): string => `${queue}/$deadletterqueue`;

export async function runList(flags: ListFlags): Promise<number> {
  const max = parseMax(flags.max);
  return withClient(flags, async (client, queue) => {
    const receiver = dlqReceiver(client, queue);
    try {
      const summaries = (await peekDeadLetters(receiver, max)).map(summarize);
      if (flags.json) {
        out(JSON.stringify(summaries, null, 2));
      } else if (summaries.length > 0) {
        cliIo().stdout.write(listTable(summaries));
      }
      const more = summaries.length === max ? ` (the first ${max}; --max shows more)` : '';
      err(
        summaries.length === 0
          ? `the dead-letter queue ${dlqPath(queue)} is empty`
          : `${countWord(summaries.length, 'dead-lettered message')} in ${dlqPath(queue)}${more}`,
      );
      return EXIT.ok;
    } finally {
      await receiver.close().catch(() => undefined);
    }
  });
}

/** The `dlq list` table; fitted to the terminal width when stdout is one. */
export function listTable(summaries: readonly DeadLetterSummary[]): string {
  const stdout = cliIo().stdout;
  return renderTable(
    [
      // Never shortened: it is what resubmit and show take.
      { header: 'MESSAGE ID' },
      { header: 'ENQUEUED' },
      { header: 'REASON' },
      { header: 'DESCRIPTION', shrink: true, minWidth: 20 },
      { header: 'CHALLENGE', shrink: true, minWidth: 10 },
      { header: 'DELIVERIES', align: 'right' },
    ],
    summaries.map((s) => [
      s.messageId,
      s.enqueuedTime ? s.enqueuedTime.replace(/\.\d+Z$/, 'Z') : '',
      s.deadLetterReason ?? '',
      s.deadLetterErrorDescription ?? s.lastError ?? '',
      s.challengeId ?? '',
      s.deliveryCount === undefined ? '' : String(s.deliveryCount),
    ]),
    stdout.isTTY ? { maxWidth: stdout.columns ?? 120 } : {},
  );
}

export async function runShow(id: string, flags: ShowFlags): Promise<number> {
  return withClient(flags, async (client, queue) => {
    const receiver = dlqReceiver(client, queue);
    try {
      const found = (await peekDeadLetters(receiver, Infinity))
        .map(detail)
        .filter((d) => d.messageId === id);
      if (found.length === 0) {
        err(
          `podbus: no dead-lettered message with ID "${id}" in ${dlqPath(queue)} (podbus dlq list shows them)`,
        );
        return EXIT.failure;
      }
      if (flags.json) out(JSON.stringify(found.length === 1 ? found[0] : found, null, 2));
      else out(found.map(showText).join('\n\n'));
      return EXIT.ok;
    } finally {
      await receiver.close().catch(() => undefined);
    }
  });
}

export function showText(d: DeadLetterDetail): string {
  const rows: [string, string | undefined][] = [
    ['Message ID', d.messageId],
    ['Sequence number', d.sequenceNumber],
    ['Enqueued', d.enqueuedTime],
    ['Delivery count', d.deliveryCount === undefined ? undefined : String(d.deliveryCount)],
    ['Reason', d.deadLetterReason],
    ['Description', d.deadLetterErrorDescription],
    ['Last error', d.lastError],
    ['Challenge', d.challengeId],
    ['Content type', d.contentType],
    ['Subject', d.subject],
    ['Correlation ID', d.correlationId],
  ];
  const lines = rows
    .filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '')
    .map(([k, v]) => `${`${k}:`.padEnd(17)}${v}`);
  // The dead-letter properties are shown above as Reason, Description and Last error.
  const props = Object.entries(d.applicationProperties).filter(
    ([k]) => !(DEAD_LETTER_PROPERTIES as readonly string[]).includes(k),
  );
  if (props.length > 0) {
    lines.push('Properties:');
    for (const [k, v] of props)
      lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  lines.push('Body:');
  const body = 'json' in d.body ? JSON.stringify(d.body.json, null, 2) : d.body.text;
  lines.push(...body.split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}

function selectionFor(
  ids: readonly string[],
  all: boolean | undefined,
  command: string,
): Selection {
  if (all && ids.length > 0) {
    throw new CliUsageError(`${command}: give message IDs or --all, not both`);
  }
  if (!all && ids.length === 0) {
    throw new CliUsageError(
      `${command}: say which messages: message IDs (podbus dlq list shows them) or --all`,
    );
  }
  return all ? { all: true } : { ids: [...new Set(ids)] };
}

export async function runResubmit(ids: string[], flags: ResubmitFlags): Promise<number> {
  const selection = selectionFor(ids, flags.all, 'dlq resubmit');
  return withClient(flags, async (client, queue) => {
    const receiver = dlqReceiver(client, queue);
    const sender = client.createSender(queue);
    try {
      const snap = await snapshot(receiver, selection);
      for (const id of snap.notFound) {
        err(`podbus: no dead-lettered message with ID "${id}" in ${dlqPath(queue)}`);
      }
      if (snap.targets.size === 0) {
        if (selection.all)
          err(`the dead-letter queue ${dlqPath(queue)} is empty; nothing to resubmit`);
        return snap.notFound.length > 0 ? EXIT.failure : EXIT.ok;
      }
      const result = await processSnapshot(
        receiver,
        snap.targets,
        (m) => sender.sendMessages(resubmission(m)),
        {
          onTarget: (s) => {
            if (s.deadLetterReason === 'MessageIdConflict') {
              err(
                `warning: "${s.messageId}" was dead-lettered as MessageIdConflict: with the same messageId it conflicts again unless the pod named after it was deleted; to run it anew, enqueue it with a new messageId`,
              );
            }
          },
          onDone: (s) => out(s.messageId),
          onWarning: (t) => err(`warning: ${t}`),
        },
      );
      for (const s of result.vanished) {
        err(
          `warning: "${s.messageId}" left the dead-letter queue before it could be resubmitted (another process took it)`,
        );
      }
      err(
        `resubmitted ${countWord(result.done.length, 'message')} to queue "${queue}" (same messageId: the worker names the pod as before)`,
      );
      if (result.error !== undefined) {
        err(`podbus: ${describeServiceBusError(result.error, queue)}`);
        err('the message being resubmitted when this happened is still in the dead-letter queue');
        return EXIT.failure;
      }
      return snap.notFound.length > 0 || result.vanished.length > 0 ? EXIT.failure : EXIT.ok;
    } finally {
      await sender.close().catch(() => undefined);
      await receiver.close().catch(() => undefined);
    }
  });
}

export async function runPurge(ids: string[], flags: PurgeFlags): Promise<number> {
  const selection: Selection = ids.length > 0 ? { ids: [...new Set(ids)] } : { all: true };
  const io = cliIo();
  if (!flags.yes && !io.stdin.isTTY) {
    throw new CliUsageError(
      'dlq purge deletes messages for good: pass --yes to confirm (stdin is not a terminal, so podbus cannot ask)',
    );
  }
  return withClient(flags, async (client, queue) => {
    const receiver = dlqReceiver(client, queue);
    try {
      const snap = await snapshot(receiver, selection);
      for (const id of snap.notFound) {
        err(`podbus: no dead-lettered message with ID "${id}" in ${dlqPath(queue)}`);
      }
      const n = snap.targets.size;
      if (n === 0) {
        if (selection.all)
          err(`the dead-letter queue ${dlqPath(queue)} is empty; nothing to delete`);
        return snap.notFound.length > 0 ? EXIT.failure : EXIT.ok;
      }
      if (!flags.yes) {
        const ok = await io.confirm(
          `Delete ${countWord(n, 'dead-lettered message')} from ${dlqPath(queue)} for good?`,
        );
        if (!ok) {
          err('nothing was deleted');
          return EXIT.ok;
        }
      }
      const result = await processSnapshot(receiver, snap.targets, async () => undefined, {
        onDone: (s) => out(s.messageId),
        onWarning: (t) => err(`warning: ${t}`),
      });
      err(
        `deleted ${countWord(result.done.length, 'dead-lettered message')} from ${dlqPath(queue)}`,
      );
      if (result.error !== undefined) {
        err(`podbus: ${describeServiceBusError(result.error, queue)}`);
        return EXIT.failure;
      }
      return snap.notFound.length > 0 ? EXIT.failure : EXIT.ok;
    } finally {
      await receiver.close().catch(() => undefined);
    }
  });
}
