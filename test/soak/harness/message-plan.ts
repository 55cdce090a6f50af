import type { ServiceBusMessage } from '@azure/service-bus';

import type { Rng } from './random.js';

/** The images the soak's podbus allows; valid messages use them, policy violations others. */
export const SOAK_ALLOWED_IMAGES = ['docker.io/library/busybox'];

export type InvalidReason = 'InvalidJson' | 'SchemaViolation' | 'PolicyViolation';

/** What must become of one message by the end of the run. */
export type Expected = { kind: 'pod' } | { kind: 'dead-letter'; reason: InvalidReason };

export interface PlannedMessage {
  /** Position in the plan (also the send order). */
  readonly index: number;
  /** How podbus names the message: the ID's text (binary IDs as hex), see idText. */
  readonly idText: string;
  /** What the sender hands to the SDK. */
  readonly message: ServiceBusMessage;
  readonly expected: Expected;
  /** What kind of message this is, for the report. */
  readonly variant: string;
  /** Sent twice (the second copy a little later), like a sender that retries a send. */
  readonly sentTwice: boolean;
}

export interface PlanShares {
  /** Share of messages that can never become a pod (split evenly between the three reasons). */
  readonly invalid: number;
  /** Share of messages whose ID is sent a second time. */
  readonly duplicated: number;
}

export const DEFAULT_SHARES: PlanShares = { invalid: 0.1, duplicated: 0.05 };

/**
 * The soak's N messages: mostly valid challenges in every body form a sender uses, a share of
 * invalid ones (each kind with the dead-letter reason it must get), and a share sent twice.
 * Message IDs come in every kind the SDK sends (GUID strings, names, text that must be mapped
 * to a pod name, numbers, binary), all distinct as podbus reads them.
 */
export function planMessages(
  count: number,
  rng: Rng,
  options: { seed: number; clusters: readonly string[]; shares?: PlanShares },
): PlannedMessage[] {
  const shares = options.shares ?? DEFAULT_SHARES;
  const plan: PlannedMessage[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = messageId(index, rng, options.seed);
    const invalid = rng.chance(shares.invalid);
    const content = invalid ? invalidContent(index, rng) : validContent(index, rng, options);
    plan.push({
      index,
      idText: idText(id),
      message: { ...content.message, messageId: id },
      expected: content.expected,
      variant: content.variant,
      sentTwice: rng.chance(shares.duplicated),
    });
  }
  return plan;
}

/**
 * How podbus names a message ID, computed here independently of podbus (src/message/
 * message-id.ts) so the soak checks podbus rather than agreeing with it: text as it is, numbers
 * in decimal, bytes as lowercase hex.
 */
export function idText(id: ServiceBusMessage['messageId']): string {
  if (id === undefined) return '';
  if (Buffer.isBuffer(id)) return id.toString('hex');
  return String(id);
}

function messageId(index: number, rng: Rng, seed: number): string | number | Buffer {
  const roll = rng.next();
  if (roll < 0.4) return uuid(rng);
  if (roll < 0.6) return `soak-${seed}-${index}`;
  if (roll < 0.7) return `Run ${index} / Ünïcode ✓ ${seed}`; // mapped: lower-cased, hashed
  if (roll < 0.8) return `${'long-id-'.repeat(12)}${seed}-${index}`; // truncated, hashed
  if (roll < 0.9) return 1_000_000_000 + index; // an AMQP ulong
  // Binary: the index keeps IDs distinct, the random tail puts bytes >= 0x80 in most of them.
  const bytes = rng.bytes(16);
  bytes.writeUInt32BE(index, 0);
  return bytes;
}

function uuid(rng: Rng): string {
  const hex = rng.bytes(16).toString('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

interface Content {
  message: Omit<ServiceBusMessage, 'messageId'>;
  expected: Expected;
  variant: string;
}

function validContent(index: number, rng: Rng, options: { clusters: readonly string[] }): Content {
  const challengeId = `soak-${index % 97}`;
  const image = `docker.io/library/busybox:1.${rng.int(30, 37)}`;
  const roll = rng.next();
  const pod: Content['expected'] = { kind: 'pod' };
  if (roll < 0.45) {
    // camelCase, as an object: the SDK JSON-encodes it.
    const containers = Array.from({ length: rng.int(1, 2) }, (_, i) => ({
      image,
      env: [{ name: 'SOAK_INDEX', value: String(index) }],
      ...(i === 0 && rng.chance(0.3) && { resources: { requests: { cpu: '50m' } } }),
    }));
    const cluster = rng.chance(0.1) ? rng.pick(options.clusters) : undefined;
    return {
      message: { body: { challengeId, containers, ...(cluster && { cluster }) } },
      expected: pod,
      variant: cluster ? 'camelCase, cluster preference' : 'camelCase object',
    };
  }
  if (roll < 0.8) {
    // The seed form as UTF-8 bytes, as the original .NET sender wrote it.
    const json = JSON.stringify({ ChallengeId: challengeId, Containers: [{ Name: image }] });
    return {
      message: { body: Buffer.from(json, 'utf8'), contentType: 'application/json' },
      expected: pod,
      variant: 'PascalCase bytes',
    };
  }
  // A JavaScript sender that stringifies first: the SDK encodes the string again.
  return {
    message: { body: JSON.stringify({ challengeId, containers: [{ image }] }) },
    expected: pod,
    variant: 'JSON string',
  };
}

function invalidContent(index: number, rng: Rng): Content {
  const challengeId = `soak-bad-${index % 13}`;
  const reason = rng.pick(['InvalidJson', 'SchemaViolation', 'PolicyViolation'] as const);
  const expected: Expected = { kind: 'dead-letter', reason };
  switch (reason) {
    case 'InvalidJson':
      return rng.chance(0.5)
        ? {
            message: { body: Buffer.from(`{"challengeId": "${challengeId}", "containers": [`) },
            expected,
            variant: 'truncated JSON',
          }
        : {
            message: { body: Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x7b]) },
            expected,
            variant: 'bytes that are not UTF-8',
          };
    case 'SchemaViolation':
      return rng.chance(0.5)
        ? { message: { body: { challengeId } }, expected, variant: 'no containers' }
        : {
            message: {
              body: { ChallengeId: challengeId, containers: [{ image: 'busybox:1.36' }] },
            },
            expected,
            variant: 'forms mixed',
          };
    case 'PolicyViolation': {
      const roll = rng.next();
      if (roll < 0.4) {
        return {
          message: { body: { challengeId, containers: [{ image: 'evil.example/miner:1' }] } },
          expected,
          variant: 'image not allowed',
        };
      }
      if (roll < 0.7) {
        const resources = { limits: { cpu: '0', memory: '0' } };
        return {
          message: { body: { challengeId, containers: [{ image: 'busybox:1.36', resources }] } },
          expected,
          variant: 'zero resources',
        };
      }
      return {
        message: {
          body: { challengeId, containers: [{ image: 'busybox:1.36' }], cluster: 'nowhere' },
        },
        expected,
        variant: 'unknown cluster',
      };
    }
  }
}
