import type { AmqpAnnotatedMessage } from '@azure/core-amqp';
import type {
  ServiceBusClient,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
} from '@azure/service-bus';

import { decodeBody, type DecodeOptions } from '../message/decode-body.js';
import { messageIdText } from '../message/message-id.js';
import { scrubText } from '../shared/redaction.js';
import { installSafeAmqpDecode } from '../worker/safe-amqp-decode.js';

/**
 * The dead-letter queue operations behind `podbus dlq`, on the real SDK. Nothing here prints:
 * the command decides how to show the results.
 *
 * Safety rules:
 * - list/show only peek: nothing is locked, removed or counted as a delivery;
 * - resubmit receives the selected messages in peekLock mode, sends a copy to the main queue
 *   and completes the dead-lettered one only after Service Bus accepted the copy; if the send
 *   fails the message is abandoned (it stays in the DLQ). A message is never lost; at worst
 *   (complete fails after the send) it is in both queues, and the worker treats a same-ID,
 *   same-body message as a duplicate of the pod it already created;
 * - resubmit and purge first take a snapshot (peek) of what is there and act only on those
 *   messages (by sequence number): a message dead-lettered while they run is left alone, and a
 *   resubmitted message that fails again is not picked up a second time.
 */

/** Application properties the broker or podbus's worker add; stripped on resubmit. */
export const DEAD_LETTER_PROPERTIES = [
  'DeadLetterReason',
  'DeadLetterErrorDescription',
  'podbus-last-error',
] as const;

const LAST_ERROR = 'podbus-last-error';
const PEEK_BATCH = 100;
const RECEIVE_BATCH = 50;
const RECEIVE_WAIT_MS = 3000;

/** One dead-lettered message as `dlq list` shows it. */
export interface DeadLetterSummary {
  readonly messageId: string;
  readonly sequenceNumber: string;
  /** ISO 8601, when the broker said. */
  readonly enqueuedTime?: string;
  readonly deadLetterReason?: string;
  readonly deadLetterErrorDescription?: string;
  /** The worker's last transient error (set when it abandoned the message). */
  readonly lastError?: string;
  /** From the body, when it is JSON with a string ChallengeId/challengeId. */
  readonly challengeId?: string;
  readonly deliveryCount?: number;
}

/** Everything about one message, for `dlq show`. */
export interface DeadLetterDetail extends DeadLetterSummary {
  readonly contentType?: string;
  readonly subject?: string;
  readonly correlationId?: string;
  readonly applicationProperties: Readonly<Record<string, unknown>>;
  /** The body as JSON when it parses, otherwise as text (or a hex preview of bytes). */
  readonly body: { readonly json: unknown } | { readonly text: string };
}

export function dlqReceiver(
  client: ServiceBusClient,
  queue: string,
  receiveMode: 'peekLock' | 'receiveAndDelete' = 'peekLock',
): ServiceBusReceiver {
  // The dead-letter queue holds whatever the worker could not decode: read it safely too.
  installSafeAmqpDecode();
  return client.createReceiver(queue, {
    subQueueType: 'deadLetter',
    receiveMode,
    skipParsingBodyAsJson: true,
  });
}

/**
 * Peeks up to `max` messages (all when Infinity), oldest first: of the dead-letter queue, or of
 * any queue its receiver reads (nothing is locked or counted as a delivery).
 */
export async function peekMessages(
  receiver: ServiceBusReceiver,
  max: number,
): Promise<ServiceBusReceivedMessage[]> {
  const found: ServiceBusReceivedMessage[] = [];
  const seen = new Set<string>();
  while (found.length < max) {
    const batch = await receiver.peekMessages(Math.min(PEEK_BATCH, max - found.length));
    if (batch.length === 0) break;
    let fresh = 0;
    for (const m of batch) {
      const seq = sequenceOf(m);
      if (seen.has(seq)) continue;
      seen.add(seq);
      found.push(m);
      fresh++;
    }
    if (fresh === 0) break;
  }
  return found.slice(0, max);
}

function bodyOptions(m: ServiceBusReceivedMessage): DecodeOptions {
  const bodyType = m._rawAmqpMessage?.bodyType;
  return { maxBodyBytes: Number.MAX_SAFE_INTEGER, ...(bodyType !== undefined && { bodyType }) };
}

function sequenceOf(m: ServiceBusReceivedMessage): string {
  return m.sequenceNumber?.toString() ?? '';
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : String(value);
}

export function summarize(m: ServiceBusReceivedMessage): DeadLetterSummary {
  const props = m.applicationProperties ?? {};
  const decoded = decodeBody(m.body, bodyOptions(m));
  let challengeId: string | undefined;
  if (decoded.ok && decoded.value !== null && typeof decoded.value === 'object') {
    const v = decoded.value as Record<string, unknown>;
    const id = v.challengeId ?? v.ChallengeId;
    if (typeof id === 'string') challengeId = id;
  }
  const reason = m.deadLetterReason ?? text(props.DeadLetterReason);
  const description = m.deadLetterErrorDescription ?? text(props.DeadLetterErrorDescription);
  const lastError = text(props[LAST_ERROR]);
  return {
    messageId: messageIdText(m.messageId),
    sequenceNumber: sequenceOf(m),
    ...(m.enqueuedTimeUtc && { enqueuedTime: m.enqueuedTimeUtc.toISOString() }),
    ...(reason !== undefined && { deadLetterReason: reason }),
    // Descriptions come from the worker, which scrubs them; scrub again in case another
    // component dead-lettered with a secret in the text.
    ...(description !== undefined && { deadLetterErrorDescription: scrubText(description) }),
    ...(lastError !== undefined && { lastError: scrubText(lastError) }),
    ...(challengeId !== undefined && { challengeId }),
    ...(m.deliveryCount !== undefined && { deliveryCount: m.deliveryCount }),
  };
}

export function detail(m: ServiceBusReceivedMessage): DeadLetterDetail {
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.applicationProperties ?? {})) {
    props[k] = typeof v === 'string' ? scrubText(v) : v;
  }
  const decoded = decodeBody(m.body, bodyOptions(m));
  let body: DeadLetterDetail['body'];
  if (decoded.ok) body = { json: decoded.value };
  else if (Buffer.isBuffer(m.body) || m.body instanceof Uint8Array) {
    const bytes = Buffer.from(m.body);
    const asText = bytes.toString('utf8');
    body = {
      text: asText.includes('\uFFFD')
        ? `(binary, ${bytes.length} bytes) ${bytes.subarray(0, 64).toString('hex')}`
        : asText,
    };
  } else body = { text: String(m.body) };
  return {
    ...summarize(m),
    ...(m.contentType !== undefined && { contentType: m.contentType }),
    ...(m.subject !== undefined && { subject: m.subject }),
    ...(m.correlationId !== undefined && { correlationId: messageIdText(m.correlationId) }),
    applicationProperties: props,
    body,
  };
}

/**
 * The copy sent back to the main queue: the same body (same AMQP body section), messageId,
 * content type, correlation ID, subject, to/replyTo and application properties, minus the
 * dead-letter properties. Broker annotations (sequence number, enqueued time, delivery count,
 * dead-letter source) and the TTL are not copied: the copy is a new message to the broker.
 */
export function resubmission(m: ServiceBusReceivedMessage): AmqpAnnotatedMessage {
  const raw = m._rawAmqpMessage;
  const applicationProperties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw.applicationProperties ?? m.applicationProperties ?? {})) {
    if ((DEAD_LETTER_PROPERTIES as readonly string[]).includes(k)) continue;
    applicationProperties[k] = v;
  }
  const p = raw.properties ?? {};
  const properties: AmqpAnnotatedMessage['properties'] = {};
  for (const key of [
    'messageId',
    'contentType',
    'contentEncoding',
    'correlationId',
    'subject',
    'to',
    'replyTo',
    'groupId',
    'replyToGroupId',
  ] as const) {
    const value = p[key];
    if (value !== undefined && value !== null) (properties as Record<string, unknown>)[key] = value;
  }
  // The SDK fills both views from the same AMQP properties; fall back to the parsed view.
  if (properties.messageId === undefined && m.messageId !== undefined) {
    properties.messageId = m.messageId;
  }
  if (properties.contentType === undefined && m.contentType !== undefined) {
    properties.contentType = m.contentType;
  }
  return {
    body: m.body,
    bodyType: raw.bodyType ?? 'data',
    properties,
    applicationProperties,
  };
}

export interface Selection {
  /** Message IDs to act on (every message with that ID). */
  readonly ids?: readonly string[];
  /** Every message in the snapshot. */
  readonly all?: boolean;
}

export interface Snapshot {
  readonly targets: ReadonlyMap<string, DeadLetterSummary>;
  /** Requested IDs that are not in the dead-letter queue. */
  readonly notFound: readonly string[];
}

/** What to act on: the selected messages present now, by sequence number. */
export async function snapshot(
  receiver: ServiceBusReceiver,
  selection: Selection,
): Promise<Snapshot> {
  const present = (await peekMessages(receiver, Infinity)).map(summarize);
  const wanted = new Set(selection.ids ?? []);
  const targets = new Map<string, DeadLetterSummary>();
  for (const s of present) {
    if (selection.all || wanted.has(s.messageId)) targets.set(s.sequenceNumber, s);
  }
  const presentIds = new Set(present.map((s) => s.messageId));
  const notFound = [...wanted].filter((id) => !presentIds.has(id));
  return { targets, notFound };
}

export interface SettleHooks {
  /** A message is about to be acted on (warnings, e.g. MessageIdConflict). */
  onTarget?(summary: DeadLetterSummary): void;
  onDone?(summary: DeadLetterSummary): void;
  /** Something went wrong that did not lose the message. */
  onWarning?(text: string): void;
}

export interface RunResult {
  readonly done: readonly DeadLetterSummary[];
  /** In the snapshot but gone when receiving (another process took them). */
  readonly vanished: readonly DeadLetterSummary[];
  /** Set when the run stopped on an error; the message it was handling stayed in the DLQ. */
  readonly error?: unknown;
}

/**
 * Receives the snapshot's messages in peekLock mode and applies `act` to each; completes it
 * when `act` resolved, abandons it when `act` threw (and stops). Messages outside the snapshot
 * are held until the end and then abandoned, so they are neither touched nor seen twice.
 */
export async function processSnapshot(
  receiver: ServiceBusReceiver,
  targets: ReadonlyMap<string, DeadLetterSummary>,
  act: (message: ServiceBusReceivedMessage) => Promise<void>,
  hooks: SettleHooks = {},
): Promise<RunResult> {
  const remaining = new Map(targets);
  const done: DeadLetterSummary[] = [];
  const held: ServiceBusReceivedMessage[] = [];
  let error: unknown;
  try {
    while (remaining.size > 0 && error === undefined) {
      // Not just remaining.size: messages outside the snapshot may come first.
      const batch = await receiver.receiveMessages(RECEIVE_BATCH, {
        maxWaitTimeInMs: RECEIVE_WAIT_MS,
      });
      if (batch.length === 0) break;
      for (const m of batch) {
        const summary = remaining.get(sequenceOf(m));
        if (summary === undefined || error !== undefined) {
          held.push(m);
          continue;
        }
        hooks.onTarget?.(summary);
        try {
          await act(m);
        } catch (e) {
          error = e;
          held.push(m);
          continue;
        }
        remaining.delete(sequenceOf(m));
        try {
          await receiver.completeMessage(m);
        } catch (e) {
          hooks.onWarning?.(
            `message "${summary.messageId}" was handled but could not be removed from the dead-letter queue (${scrubText(e instanceof Error ? e.message : String(e))}); it is still there`,
          );
        }
        done.push(summary);
        hooks.onDone?.(summary);
      }
    }
  } catch (e) {
    error ??= e;
  } finally {
    await Promise.allSettled(held.map((m) => receiver.abandonMessage(m)));
  }
  return { done, vanished: [...remaining.values()], ...(error !== undefined && { error }) };
}
