import type { ChallengeRequest, MessageForm } from './challenge-request.js';
import { decodeBody } from './decode-body.js';
import { detectForm } from './detect-form.js';
import { joinProblems } from './join-problems.js';
import { messageIdText, type ServiceBusMessageId } from './message-id.js';
import { containerNames } from './names.js';
import { normalise } from './normalise.js';
import { UndecodableBody } from './undecodable-body.js';
import { describeSchemaErrors } from './schema-errors.js';
import { validateForm } from './schema.js';

/** What the worker hands over from a received Service Bus message. */
export interface IncomingMessage {
  /** ServiceBusReceivedMessage.messageId (AMQP allows string, number, uuid or binary IDs). */
  readonly messageId: ServiceBusMessageId;
  /** The raw body (receiver created with `skipParsingBodyAsJson: true`). */
  readonly body: unknown;
  readonly contentType?: string;
  /** The AMQP body section the body came from, when known (see decodeBody). */
  readonly bodyType?: 'data' | 'sequence' | 'value';
}

/** Limits that apply before a body is even read (the operator sets them in `policy`). */
export interface ParseLimits {
  /** Largest accepted body in bytes; a larger one is a PolicyViolation. */
  readonly maxBodyBytes: number;
}

export type ParseFailureReason = 'InvalidJson' | 'SchemaViolation' | 'PolicyViolation';

export interface ParseFailure {
  readonly ok: false;
  readonly reason: ParseFailureReason;
  readonly description: string;
}

export type ParseResult =
  | {
      readonly ok: true;
      readonly request: ChallengeRequest;
      readonly form: MessageForm;
      /** The body was a JSON string holding the challenge (sent JSON-encoded twice). */
      readonly jsonStringBody?: true;
    }
  | ParseFailure;

/**
 * Message -> ChallengeRequest, or the dead-letter reason and a description a person can act on.
 * Only parses: whether the operator allows what the request asks for is policy's question,
 * asked by the worker (worker/prepare.ts) once this has answered.
 * Never throws, whatever the body: a failure here is the message's fault, never the worker's.
 * Order: size and JSON (InvalidJson; too large is a PolicyViolation), then the published schema
 * (SchemaViolation).
 */
export function parseChallengeMessage(message: IncomingMessage, limits: ParseLimits): ParseResult {
  try {
    return parse(message, limits);
  } catch (error) {
    return couldNotCheck(error);
  }
}

/** A bug in podbus must not turn into a crash loop on one message; the text says so. */
export function couldNotCheck(error: unknown): ParseFailure {
  const why = error instanceof Error ? error.message : String(error);
  return failure(
    'SchemaViolation',
    `podbus could not check this message (${why}); please report it`,
  );
}

function parse(message: IncomingMessage, limits: ParseLimits): ParseResult {
  const messageId = messageIdText(message.messageId);
  // An undecodable message may have lost its properties with the rest: say what is wrong.
  if (messageId === '' && !(message.body instanceof UndecodableBody)) {
    return failure(
      'SchemaViolation',
      'the message has no messageId; podbus names the pod after it',
    );
  }
  const decoded = decodeBody(message.body, {
    maxBodyBytes: limits.maxBodyBytes,
    ...(message.contentType !== undefined && { contentType: message.contentType }),
    ...(message.bodyType !== undefined && { bodyType: message.bodyType }),
  });
  if (!decoded.ok) return failure(decoded.reason, decoded.description);

  const detected = detectForm(decoded.value);
  if (!detected.ok) return failure('SchemaViolation', detected.description);
  const { form } = detected;

  const schemaErrors = validateForm(form, decoded.value);
  if (schemaErrors.length > 0) {
    return failure('SchemaViolation', joinProblems(describeSchemaErrors(schemaErrors)));
  }

  const request = normalise(decoded.value, form, messageId);
  const duplicate = duplicateContainerName(request);
  if (duplicate) return failure('SchemaViolation', duplicate);

  return { ok: true, request, form, ...(decoded.jsonString && { jsonStringBody: true }) };
}

function failure(reason: ParseFailureReason, description: string): ParseFailure {
  return { ok: false, reason, description };
}

/** Kubernetes rejects a pod whose containers share a name; say which ones, before trying. */
function duplicateContainerName(request: ChallengeRequest): string | undefined {
  const names = containerNames(request.challengeId, request.containers);
  const firstIndex = new Map<string, number>();
  for (const [index, name] of names.entries()) {
    const earlier = firstIndex.get(name);
    if (earlier !== undefined) {
      const own = request.containers[index]?.name !== undefined;
      return (
        `/containers/${index}${own ? '/name' : ''} gives container name "${name}", ` +
        `already used by /containers/${earlier}; container names must be unique`
      );
    }
    firstIndex.set(name, index);
  }
  return undefined;
}
