import type { Message } from 'rhea';

import { CONDITION, amqpTypes } from './amqp.js';
import type { LockTokens } from './lock-token.js';
import { MessageFormatError, parseMessage } from './message-codec.js';
import { QueueOperationError } from './queue.js';
import type { Queue } from './queue.js';

/**
 * The `$management` request/response operations the SDK uses for a queue
 * (specs/servicebus-amqp.md §6). Each request is an AMQP message whose application property
 * `operation` names the operation and whose body is a map; the answer carries `statusCode`,
 * `statusDescription` and, on failure, `errorCondition` (camelCase, as the SDK reads them).
 */
export interface ManagementResponse {
  statusCode: number;
  description: string;
  errorCondition?: string;
  body?: Record<string, unknown>;
  /** The request was not understood at all: after answering, detach the request link. */
  closeLink?: boolean;
}

export interface ManagementContext {
  queue: Queue;
  tokens: LockTokens;
  maxMessageSize: number;
  /** Makes journal writes durable before the answer goes out. */
  commit(): void;
}

export const OPERATIONS = {
  renewLock: 'com.microsoft:renew-lock',
  peek: 'com.microsoft:peek-message',
  schedule: 'com.microsoft:schedule-message',
  cancelScheduled: 'com.microsoft:cancel-scheduled-message',
  receiveBySequenceNumber: 'com.microsoft:receive-by-sequence-number',
  updateDisposition: 'com.microsoft:update-disposition',
} as const;

/** Operations of the real service that this emulator knowingly does not implement. */
const UNSUPPORTED = new Set([
  'com.microsoft:renew-session-lock',
  'com.microsoft:get-session-state',
  'com.microsoft:set-session-state',
  'com.microsoft:get-message-sessions',
  'com.microsoft:add-rule',
  'com.microsoft:remove-rule',
  'com.microsoft:enumerate-rules',
]);

class BadRequest extends Error {}

export function handleManagementRequest(
  ctx: ManagementContext,
  request: Message,
): ManagementResponse {
  const props = (request.application_properties ?? {}) as Record<string, unknown>;
  const operation = props.operation;
  try {
    const body = request.body as unknown;
    const map = (): Record<string, unknown> => {
      if (
        typeof body !== 'object' ||
        body === null ||
        Array.isArray(body) ||
        Buffer.isBuffer(body)
      ) {
        throw new BadRequest('the request body must be an AMQP map');
      }
      return body as Record<string, unknown>;
    };
    switch (operation) {
      case OPERATIONS.renewLock:
        return renewLock(ctx, map());
      case OPERATIONS.peek:
        return peek(ctx, map());
      case OPERATIONS.schedule:
        return schedule(ctx, map());
      case OPERATIONS.cancelScheduled:
        return cancelScheduled(ctx, map());
      case OPERATIONS.receiveBySequenceNumber:
        return receiveBySequenceNumber(ctx, map());
      case OPERATIONS.updateDisposition:
        return updateDisposition(ctx, map());
      default:
        if (typeof operation === 'string' && UNSUPPORTED.has(operation)) {
          return error(
            501,
            CONDITION.notImplemented,
            `${operation} is not supported by the podbus emulator`,
          );
        }
        return {
          ...error(
            400,
            CONDITION.notImplemented,
            `unknown $management operation ${JSON.stringify(operation ?? null)}`,
          ),
          closeLink: true,
        };
    }
  } catch (e) {
    if (e instanceof BadRequest) return error(400, CONDITION.invalidField, e.message);
    if (e instanceof QueueOperationError)
      return error(statusOf(e.condition), e.condition, e.message);
    if (e instanceof MessageFormatError) return error(400, CONDITION.decodeError, e.message);
    throw e;
  }
}

function renewLock(ctx: ManagementContext, body: Record<string, unknown>): ManagementResponse {
  const ids = lockIds(ctx, body['lock-tokens']);
  const expirations: Date[] = [];
  for (const id of ids) {
    const until = id === undefined ? undefined : ctx.queue.renewLock(id);
    if (until === undefined) return lockLost();
    expirations.push(new Date(until));
  }
  return ok({ expirations: amqpTypes.wrap_array(expirations, 0x83, undefined) });
}

function peek(ctx: ManagementContext, body: Record<string, unknown>): ManagementResponse {
  const from = sequenceNumber(body['from-sequence-number'], 'from-sequence-number');
  const count = body['message-count'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new BadRequest('message-count must be a positive integer');
  }
  const omitBody = body['omit-message-body'] === true;
  const found = ctx.queue.peek(from, Math.min(count, 1000));
  if (found.length === 0) return { statusCode: 204, description: 'No Content' };
  return ok({
    messages: found.map((m) => ({ message: ctx.queue.encode(m, { omitBody }) })),
  });
}

function schedule(ctx: ManagementContext, body: Record<string, unknown>): ManagementResponse {
  if (ctx.queue.isDeadLetterQueue) {
    return error(400, CONDITION.notAllowed, 'messages cannot be scheduled on a dead-letter queue');
  }
  const entries = body.messages;
  if (!Array.isArray(entries)) throw new BadRequest('messages must be a list');
  const parsed = entries.map((entry, i) => {
    const raw = (entry as Record<string, unknown> | null)?.message;
    if (!Buffer.isBuffer(raw)) throw new BadRequest(`messages[${i}].message must be binary`);
    if (raw.length > ctx.maxMessageSize) {
      throw new QueueOperationError(
        CONDITION.messageSizeExceeded,
        `messages[${i}] has ${raw.length} bytes, more than the ${ctx.maxMessageSize} allowed`,
      );
    }
    const message = parseMessage(raw);
    if (message.scheduledEnqueueTimeMs === undefined) {
      throw new BadRequest(`messages[${i}] lacks x-opt-scheduled-enqueue-time`);
    }
    if (message.messageId === undefined) {
      const id = (entry as Record<string, unknown>)['message-id'];
      if (typeof id === 'string') message.messageId = id;
    }
    return message;
  });
  const numbers = parsed.map((m) => ctx.queue.enqueue(m).sequenceNumber);
  ctx.commit();
  return ok({ 'sequence-numbers': amqpTypes.wrap_array(numbers, 0x81, undefined) });
}

function cancelScheduled(
  ctx: ManagementContext,
  body: Record<string, unknown>,
): ManagementResponse {
  const numbers = sequenceNumbers(body['sequence-numbers']);
  ctx.queue.cancelScheduled(numbers);
  ctx.commit();
  return ok(undefined);
}

function receiveBySequenceNumber(
  ctx: ManagementContext,
  body: Record<string, unknown>,
): ManagementResponse {
  const numbers = sequenceNumbers(body['sequence-numbers']);
  const mode = body['receiver-settle-mode'];
  const peekLock = mode === undefined || mode === 1;
  const messages = ctx.queue.receiveDeferred(numbers, peekLock);
  const out = messages.map((m) => {
    const encoded = ctx.queue.encode(m);
    if (!peekLock) {
      ctx.queue.discard(m);
      return { message: encoded };
    }
    return { 'lock-token': amqpTypes.wrap_uuid(ctx.tokens.toUuid(m.lockId)), message: encoded };
  });
  ctx.commit();
  return ok({ messages: out });
}

function updateDisposition(
  ctx: ManagementContext,
  body: Record<string, unknown>,
): ManagementResponse {
  const ids = lockIds(ctx, body['lock-tokens']);
  const status = body['disposition-status'];
  const props = body['properties-to-modify'];
  const propertiesToModify =
    typeof props === 'object' && props !== null && !Array.isArray(props)
      ? (props as Record<string, unknown>)
      : undefined;
  const reason = optionalString(body['deadletter-reason']);
  const description = optionalString(body['deadletter-description']);
  for (const id of ids) {
    if (id === undefined) return lockLost();
    let result;
    switch (status) {
      case 'completed':
        result = ctx.queue.complete(id);
        break;
      case 'abandoned':
        result = ctx.queue.abandon(id, propertiesToModify);
        break;
      case 'defered':
      case 'deferred':
        result = ctx.queue.defer(id, propertiesToModify);
        break;
      case 'suspended':
        result = ctx.queue.deadLetter(id, reason, description, propertiesToModify);
        break;
      default:
        throw new BadRequest(`unknown disposition-status ${JSON.stringify(status ?? null)}`);
    }
    if (result === 'lock-lost') {
      ctx.commit();
      return lockLost();
    }
  }
  ctx.commit();
  return ok(undefined);
}

function lockIds(ctx: ManagementContext, value: unknown): (number | undefined)[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('lock-tokens must be a non-empty array of uuids');
  }
  return value.map((v) => {
    if (!Buffer.isBuffer(v) || v.length !== 16) throw new BadRequest('lock-tokens must be uuids');
    return ctx.tokens.fromUuid(v);
  });
}

function sequenceNumbers(value: unknown): number[] {
  if (!Array.isArray(value)) throw new BadRequest('sequence-numbers must be an array of longs');
  return value.map((v) => sequenceNumber(v, 'sequence-numbers'));
}

function sequenceNumber(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (Buffer.isBuffer(value) && value.length === 8) {
    const n = value.readBigInt64BE(0);
    if (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) {
      return Number(n);
    }
  }
  throw new BadRequest(`${field} must be a long`);
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function ok(body: Record<string, unknown> | undefined): ManagementResponse {
  return body === undefined
    ? { statusCode: 200, description: 'OK' }
    : { statusCode: 200, description: 'OK', body };
}

function lockLost(): ManagementResponse {
  return error(
    410,
    CONDITION.lockLost,
    'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
  );
}

function error(
  statusCode: number,
  errorCondition: string,
  description: string,
): ManagementResponse {
  return { statusCode, description, errorCondition };
}

function statusOf(condition: string): number {
  switch (condition) {
    case CONDITION.lockLost:
      return 410;
    case CONDITION.messageNotFound:
      return 404;
    case CONDITION.messageSizeExceeded:
      return 413;
    default:
      return 400;
  }
}
