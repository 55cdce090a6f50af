import type { ServiceBusClient } from '@azure/service-bus';

import type { ServiceBusSettings } from '../config/config.js';

import { DEFAULT_MAX } from './dlq-command.js';
import { countWord } from './enqueue-actions.js';
import {
  DEAD_LETTER_PROPERTIES,
  detail,
  dlqReceiver,
  peekMessages,
  processSnapshot,
  resubmission,
  snapshot,
  summarize,
  type DeadLetterDetail,
  type DeadLetterSummary,
  type Selection,
} from './dead-letter-queue.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, err, out } from './io.js';
import { renderTable } from './output/table.js';
import {
  describeServiceBusError,
  serviceBusClient,
  serviceBusSettingsFor,
  type ServiceBusFlags,
} from './service-bus-target.js';

export interface ListFlags extends ServiceBusFlags {
  json?: boolean;
  max?: string;
}
export interface ShowFlags extends ServiceBusFlags {
  json?: boolean;
}
export interface ResubmitFlags extends ServiceBusFlags {
  all?: boolean;
}
export interface PurgeFlags extends ServiceBusFlags {
  all?: boolean;
  yes?: boolean;
}

/** Connects, runs `fn`, closes; Service Bus failures become one actionable line and exit 1. */
async function withClient(
  flags: ServiceBusFlags,
  fn: (client: ServiceBusClient, queue: string, settings: ServiceBusSettings) => Promise<number>,
): Promise<number> {
  const settings = serviceBusSettingsFor(flags);
  let client: ServiceBusClient | undefined;
  try {
    client = await serviceBusClient(settings);
    return await fn(client, settings.queueName, settings);
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    err(`podbus: ${describeServiceBusError(error, settings)}`);
    return EXIT.failure;
  } finally {
    await client?.close().catch(() => undefined);
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
      const summaries = (await peekMessages(receiver, max)).map(summarize);
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
      const found = (await peekMessages(receiver, Infinity))
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
  return withClient(flags, async (client, queue, settings) => {
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
        err(`podbus: ${describeServiceBusError(result.error, settings)}`);
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
  return withClient(flags, async (client, queue, settings) => {
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
        err(`podbus: ${describeServiceBusError(result.error, settings)}`);
        return EXIT.failure;
      }
      return snap.notFound.length > 0 ? EXIT.failure : EXIT.ok;
    } finally {
      await receiver.close().catch(() => undefined);
    }
  });
}
