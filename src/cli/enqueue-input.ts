import { randomUUID } from 'node:crypto';

import { detectForm } from '../message/detect-form.js';
import { containerNames } from '../message/names.js';
import { normalise } from '../message/normalise.js';
import { describeSchemaErrors } from '../message/schema-errors.js';
import { validateForm } from '../message/schema.js';

/**
 * What `podbus enqueue` sends, built from flags or read from JSON Lines, and checked against
 * the published JSON Schema before anything is sent. Pure: no I/O here.
 *
 * JSON Lines input: one message per line; blank lines and lines starting with `#` are skipped.
 * A line is either a message body (either form, as on the wire) or an envelope
 *   {"messageId": "run-42", "body": { ...message body... }}
 * which sets the Service Bus messageId (the pod's name). Bodies never have a `body` key (the
 * schema forbids unknown keys), so the two cannot be confused. Without a messageId a random
 * UUID is used.
 */
export interface OutgoingMessage {
  readonly messageId: string;
  readonly body: Record<string, unknown>;
}

/** A message before IDs are final: where it came from, for error messages. */
export interface DraftMessage {
  /** 1-based line in the input, or undefined for the message built from flags. */
  readonly line?: number;
  readonly messageId?: string;
  readonly body: unknown;
}

export interface InputProblem {
  readonly line?: number;
  readonly message: string;
}

export const MAX_MESSAGE_ID_LENGTH = 128;
const ENVELOPE_KEYS = ['messageId', 'body'];

export interface FlagMessage {
  readonly challenge: string;
  readonly images: readonly string[];
  readonly messageId?: string;
  readonly cluster?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly seedForm?: boolean;
}

/** The body the flags describe, in the camelCase form or (`--seed-form`) the seed's form. */
export function bodyFromFlags(flags: FlagMessage): Record<string, unknown> {
  if (flags.seedForm) {
    return {
      ChallengeId: flags.challenge,
      Containers: flags.images.map((image) => ({ Name: image })),
    };
  }
  return {
    challengeId: flags.challenge,
    containers: flags.images.map((image) => ({ image })),
    ...(flags.cluster !== undefined && { cluster: flags.cluster }),
    ...(flags.labels !== undefined &&
      Object.keys(flags.labels).length > 0 && { labels: { ...flags.labels } }),
  };
}

/** Parses JSON Lines; every problem names its line. */
export function parseJsonLines(text: string): { drafts: DraftMessage[]; problems: InputProblem[] } {
  const drafts: DraftMessage[] = [];
  const problems: InputProblem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      problems.push({ line, message: `not valid JSON (${why})` });
      return;
    }
    const envelope = asEnvelope(value);
    if (!envelope.ok) {
      problems.push({ line, message: envelope.problem });
      return;
    }
    drafts.push({
      line,
      body: envelope.body,
      ...(envelope.messageId !== undefined && { messageId: envelope.messageId }),
    });
  });
  return { drafts, problems };
}

type Envelope = { ok: true; body: unknown; messageId?: string } | { ok: false; problem: string };

function asEnvelope(value: unknown): Envelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('body' in value)) {
    return { ok: true, body: value };
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !ENVELOPE_KEYS.includes(k));
  if (unknown.length > 0) {
    return {
      ok: false,
      problem: `an envelope ({"messageId", "body"}) has no ${unknown.map((k) => `"${k}"`).join(', ')}; put message fields inside "body"`,
    };
  }
  if (record.messageId !== undefined && typeof record.messageId !== 'string') {
    return { ok: false, problem: '"messageId" must be a string' };
  }
  return {
    ok: true,
    body: record.body,
    ...(typeof record.messageId === 'string' && { messageId: record.messageId }),
  };
}

/**
 * Schema problems of one body, as the worker would word them (SchemaViolation), or none.
 * Policy (allowlist, limits) is the worker's business and is not checked here.
 */
export function bodyProblems(body: unknown): string[] {
  const detected = detectForm(body);
  if (!detected.ok) return [detected.description];
  const errors = validateForm(detected.form, body);
  if (errors.length > 0) return describeSchemaErrors(errors);
  // Kubernetes refuses a pod whose containers share a name; the worker dead-letters it.
  const request = normalise(body, detected.form, 'x');
  const names = containerNames(request.challengeId, request.containers);
  const seen = new Map<string, number>();
  for (const [i, name] of names.entries()) {
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      return [
        `/containers/${i} gives container name "${name}", already used by /containers/${earlier}; container names must be unique`,
      ];
    }
    seen.set(name, i);
  }
  return [];
}

export function messageIdProblem(id: string): string | undefined {
  if (id === '') return 'the messageId must not be empty';
  if (id.length > MAX_MESSAGE_ID_LENGTH)
    return `the messageId is ${id.length} characters long; Service Bus allows at most ${MAX_MESSAGE_ID_LENGTH}`;
  return undefined;
}

/**
 * Final messages: IDs assigned (given, or random UUIDs), `count` copies each with IDs
 * `<id>-1 ... <id>-<count>`, then every message checked. Problems name the input line; nothing
 * is returned to send when there is any problem.
 */
export function prepareMessages(
  drafts: readonly DraftMessage[],
  options: { count?: number; newId?: () => string } = {},
): { messages: OutgoingMessage[]; problems: InputProblem[] } {
  const count = options.count ?? 1;
  const newId = options.newId ?? randomUUID;
  const problems: InputProblem[] = [];
  const messages: OutgoingMessage[] = [];
  const firstLineOfId = new Map<string, number | undefined>();
  for (const draft of drafts) {
    const at = (message: string): InputProblem =>
      draft.line === undefined ? { message } : { line: draft.line, message };
    const found = bodyProblems(draft.body);
    for (const problem of found) problems.push(at(problem));
    const base = draft.messageId ?? newId();
    const ids = count === 1 ? [base] : Array.from({ length: count }, (_, i) => `${base}-${i + 1}`);
    for (const id of ids) {
      const idProblem = messageIdProblem(id);
      if (idProblem) {
        problems.push(at(idProblem));
        break;
      }
      if (firstLineOfId.has(id)) {
        const earlier = firstLineOfId.get(id);
        problems.push(
          at(
            `messageId "${id}" is also used ${earlier === undefined ? 'earlier' : `on line ${earlier}`}; each message needs its own ID (the pod is named after it)`,
          ),
        );
        break;
      }
      firstLineOfId.set(id, draft.line);
      if (found.length === 0)
        messages.push({ messageId: id, body: draft.body as Record<string, unknown> });
    }
  }
  return problems.length > 0 ? { messages: [], problems } : { messages, problems };
}

/** "line 3: ..." lines, at most `max` of them. */
export function formatProblems(problems: readonly InputProblem[], max = 20): string {
  const lines = problems
    .slice(0, max)
    .map((p) => `  - ${p.line === undefined ? '' : `line ${p.line}: `}${p.message}`);
  if (problems.length > max) lines.push(`  ... and ${problems.length - max} more`);
  return lines.join('\n');
}

/** `k=v` pairs of repeated --label flags. */
export function parseLabelFlags(values: readonly string[]): {
  labels: Record<string, string>;
  problems: string[];
} {
  const labels: Record<string, string> = {};
  const problems: string[] = [];
  for (const value of values) {
    const equals = value.indexOf('=');
    if (equals <= 0) {
      problems.push(`--label must be key=value, got "${value}"`);
      continue;
    }
    const key = value.slice(0, equals);
    if (key in labels) problems.push(`--label ${key} is given twice`);
    labels[key] = value.slice(equals + 1);
  }
  return { labels, problems };
}

/** Flag names for the JSON paths of a message built from flags, for its error messages. */
export function inFlagTerms(problem: string): string {
  return problem
    .replace(/^\/(challengeId|ChallengeId)\b/, '--challenge')
    .replace(
      /^\/(containers|Containers)\/(\d+)\/(image|Name)\b/,
      (_m, _c, i: string) => `--image #${Number(i) + 1}`,
    )
    .replace(/^\/cluster\b/, '--cluster')
    .replace(/^\/labels\b/, '--label');
}
