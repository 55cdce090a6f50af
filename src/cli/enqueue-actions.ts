import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import type { ServiceBusClient, ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';

import { describeFsError } from '../config/read-structured-file.js';
import {
  bodyFromFlags,
  formatProblems,
  inFlagTerms,
  parseJsonLines,
  parseLabelFlags,
  prepareMessages,
  type DraftMessage,
  type OutgoingMessage,
} from './enqueue-input.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, err, out } from './io.js';
import { createProgress } from './output/progress.js';
import {
  describeServiceBusError,
  serviceBusClient,
  serviceBusSettingsFor,
  type ServiceBusFlags,
} from './service-bus-target.js';

export interface EnqueueFlags extends ServiceBusFlags {
  challenge?: string;
  image?: string[];
  messageId?: string;
  cluster?: string;
  label?: string[];
  seedForm?: boolean;
  file?: string;
  count?: string;
}

const MAX_COUNT = 100_000;
const SINGLE_MESSAGE_FLAGS = [
  ['challenge', '--challenge'],
  ['image', '--image'],
  ['messageId', '--message-id'],
  ['cluster', '--cluster'],
  ['label', '--label'],
  ['seedForm', '--seed-form'],
] as const;

export async function runEnqueue(flags: EnqueueFlags): Promise<number> {
  const count = parseCount(flags.count);
  const settings = serviceBusSettingsFor(flags);
  const drafts = await draftsFromFlags(flags);
  const prepared = prepareMessages(drafts, { count });
  if (prepared.problems.length > 0) {
    const fromFlags = drafts.length === 1 && drafts[0]?.line === undefined;
    const problems = fromFlags
      ? prepared.problems.map((p) => ({ ...p, message: inFlagTerms(p.message) }))
      : prepared.problems;
    const what = fromFlags
      ? 'the message is invalid'
      : `${countWord(problems.length, 'problem')} in the input`;
    throw new CliUsageError(`${what}; nothing was sent:\n${formatProblems(problems)}`);
  }
  if (prepared.messages.length === 0) {
    throw new CliUsageError(
      'the input holds no messages (only blank lines or # comments); nothing was sent',
    );
  }
  let client: ServiceBusClient;
  try {
    client = await serviceBusClient(settings);
  } catch (error) {
    err(`podbus: ${describeServiceBusError(error, settings)}`);
    err('nothing was sent');
    return EXIT.failure;
  }
  const sender = client.createSender(settings.queueName);
  const total = prepared.messages.length;
  const progress =
    total > 1 ? createProgress({ stream: cliIo().stderr, total, verb: 'sent' }) : undefined;
  let sent = 0;
  try {
    await sendInBatches(sender, prepared.messages, (batch) => {
      for (const m of batch) out(m.messageId);
      sent += batch.length;
      progress?.update(sent);
    });
    progress?.finish();
    err(`enqueued ${countWord(sent, 'message')} on queue "${settings.queueName}"`);
    return EXIT.ok;
  } catch (error) {
    progress?.finish();
    err(`podbus: ${describeServiceBusError(error, settings)}`);
    err(
      sent === 0
        ? 'nothing was sent'
        : `${sent} of ${total} messages were sent (their IDs are on stdout); the others were not`,
    );
    return EXIT.failure;
  } finally {
    await sender.close().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}

function parseCount(value: string | undefined): number {
  if (value === undefined) return 1;
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < 1 || Number(value) > MAX_COUNT) {
    throw new CliUsageError(
      `--count must be a whole number from 1 to ${MAX_COUNT}, got "${value}"`,
    );
  }
  return Number(value);
}

async function draftsFromFlags(flags: EnqueueFlags): Promise<DraftMessage[]> {
  if (flags.file !== undefined) {
    const conflicting = SINGLE_MESSAGE_FLAGS.filter(([key]) => flags[key] !== undefined).map(
      ([, flag]) => flag,
    );
    if (conflicting.length > 0) {
      throw new CliUsageError(
        `--file cannot be combined with ${conflicting.join(', ')}: put those fields into the file's messages`,
      );
    }
    const text = await readInput(flags.file);
    const parsed = parseJsonLines(text);
    if (parsed.problems.length > 0) {
      throw new CliUsageError(
        `${countWord(parsed.problems.length, 'problem')} in ${flags.file === '-' ? 'stdin' : flags.file}; nothing was sent:\n${formatProblems(parsed.problems)}`,
      );
    }
    return parsed.drafts;
  }
  if (flags.challenge === undefined) {
    throw new CliUsageError(
      flags.image !== undefined
        ? '--image needs --challenge ID'
        : 'say what to send: --challenge ID --image IMAGE [--image IMAGE ...], or --file FILE (- for stdin)',
    );
  }
  if (flags.image === undefined || flags.image.length === 0) {
    throw new CliUsageError('--challenge needs at least one --image IMAGE');
  }
  if (flags.seedForm && (flags.cluster !== undefined || flags.label !== undefined)) {
    throw new CliUsageError(
      "--seed-form cannot carry --cluster or --label: the seed's form has only ChallengeId and Containers",
    );
  }
  const labels = parseLabelFlags(flags.label ?? []);
  if (labels.problems.length > 0) throw new CliUsageError(labels.problems.join('\n'));
  const body = bodyFromFlags({
    challenge: flags.challenge,
    images: flags.image,
    ...(flags.cluster !== undefined && { cluster: flags.cluster }),
    labels: labels.labels,
    seedForm: flags.seedForm === true,
  });
  return [{ body, ...(flags.messageId !== undefined && { messageId: flags.messageId }) }];
}

async function readInput(file: string): Promise<string> {
  if (file === '-') {
    const stdin = cliIo().stdin;
    if (stdin.isTTY) err('reading messages from stdin, one JSON object per line (end with Ctrl-D)');
    const chunks: Buffer[] = [];
    for await (const chunk of stdin)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(resolve(file), 'utf8');
  } catch (error) {
    throw new CliUsageError(`--file ${file}: cannot read it: ${describeFsError(error)}`);
  }
}

/** The wire form: UTF-8 JSON bytes (an AMQP data section), as every current SDK sends. */
export function toServiceBusMessage(message: OutgoingMessage): ServiceBusMessage {
  return {
    messageId: message.messageId,
    body: Buffer.from(JSON.stringify(message.body), 'utf8'),
    contentType: 'application/json',
  };
}

/**
 * Sends `messages` in as few batches as the queue's size limit allows, in order; `onSent` gets
 * each batch once Service Bus has accepted it. A message too large for an empty batch fails
 * the whole call (messages before it were sent).
 */
export async function sendInBatches(
  sender: ServiceBusSender,
  messages: readonly OutgoingMessage[],
  onSent: (batch: readonly OutgoingMessage[]) => void = () => undefined,
): Promise<void> {
  let batch = await sender.createMessageBatch();
  let members: OutgoingMessage[] = [];
  for (const message of messages) {
    const wire = toServiceBusMessage(message);
    if (batch.tryAddMessage(wire)) {
      members.push(message);
      continue;
    }
    if (members.length === 0) {
      throw new Error(
        `message "${message.messageId}" is larger than the queue's limit of ${batch.maxSizeInBytes} bytes`,
      );
    }
    await sender.sendMessages(batch);
    onSent(members);
    batch = await sender.createMessageBatch();
    members = [];
    if (!batch.tryAddMessage(wire)) {
      throw new Error(
        `message "${message.messageId}" is larger than the queue's limit of ${batch.maxSizeInBytes} bytes`,
      );
    }
    members.push(message);
  }
  if (members.length > 0) {
    await sender.sendMessages(batch);
    onSent(members);
  }
}

export function countWord(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
