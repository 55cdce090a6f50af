import fc from 'fast-check';

import { loadConfig } from '../../../src/config/load-config.js';
import { ANNOTATION_MESSAGE_ID } from '../../../src/message/metadata-keys.js';
import { policyForConfig } from '../../../src/policy/policy.js';
import { Emitter } from '../../../src/shared/typed-events.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { inboundMessage } from '../../../src/worker/inbound.js';
import { handleMessage, type HandlerDeps } from '../../../src/worker/message-handler.js';
import type { HandlingOutcome } from '../../../src/worker/outcome.js';
import { createPrepare } from '../../../src/worker/prepare.js';
import { scratch } from '../../unit/config/config-fixture.js';
import { MemoryCluster, MemoryFleet } from '../../unit/worker/support/memory-fleet.js';

/**
 * The message path as the worker composes it (src/worker/worker-app.ts): the config loader's
 * defaults, the policy and pod settings from that config, prepare -> placement -> outcome, with
 * two in-memory clusters standing for the pool. Nothing here fails, so every message must end
 * as a pod or a dead letter.
 */
export const CLUSTERS = ['aks-a', 'aks-b'] as const;
export const ALLOWED_IMAGES = ['docker.io/library/busybox', 'myacr.azurecr.io/challenges/*'];

const config = loadConfig({
  env: {
    PODBUS_SERVICE_BUS_CONNECTION_STRING:
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=a2V5',
    PODBUS_POLICY_ALLOWED_IMAGES: ALLOWED_IMAGES.join(','),
    PODBUS_CLUSTERS: JSON.stringify(
      CLUSTERS.map((name) => ({
        name,
        server: `https://${name}.example:443`,
        tokenFile: scratch().tokenFile,
      })),
    ),
  },
});

const prepare = createPrepare({
  policy: policyForConfig(config),
  pod: config,
  clusterNames: CLUSTERS,
  allowClusterPreference: config.selection.allowMessageClusterPreference,
  results: config.results,
});

/** A received message as the SDK hands it over (the fields inboundMessage reads, and more). */
export interface SdkMessage {
  readonly messageId: string | number | bigint | Buffer | undefined;
  readonly body: unknown;
  readonly deliveryCount: number;
  readonly contentType?: string;
  readonly applicationProperties?: Record<string, unknown>;
  readonly _rawAmqpMessage?: { readonly bodyType?: 'data' | 'sequence' | 'value' };
}

export const DEAD_LETTER_REASONS = ['InvalidJson', 'SchemaViolation', 'PolicyViolation'];

export function newFleet(): MemoryFleet {
  return new MemoryFleet(CLUSTERS.map((name) => new MemoryCluster(name)));
}

/** Pods of every cluster of the fleet, as `cluster/name` with their message-ID annotation. */
export function podsOf(fleet: MemoryFleet): { where: string; messageId: string | undefined }[] {
  return fleet.clusters.flatMap((c) =>
    [...(c as MemoryCluster).pods].map(([name, pod]) => ({
      where: `${c.name}/${name}`,
      messageId: pod.metadata?.annotations?.[ANNOTATION_MESSAGE_ID],
    })),
  );
}

/**
 * One delivery through the worker's handler: never waits, never loses its lock. A bug the
 * handler caught (it hands the message back and reports `handlerFailed`) is thrown here, so
 * the property fails with the error itself.
 */
export async function handle(message: SdkMessage, fleet: MemoryFleet): Promise<HandlingOutcome> {
  const events = new Emitter<WorkerEvents>();
  const failures: unknown[] = [];
  events.on('handlerFailed', ({ error }) => failures.push(error));
  const deps: HandlerDeps = {
    prepare,
    fleet,
    stickyPlacement: false,
    retryDelayMs: () => 0,
    retryBudgetMs: 60_000,
    maxHoldMs: 600_000,
    sleep: async (_ms, signal) => signal.throwIfAborted(),
    now: () => Date.now(),
    events,
  };
  const outcome = await handleMessage(
    inboundMessage(message as Parameters<typeof inboundMessage>[0]),
    deps,
    { lockLost: new AbortController().signal, stopWaiting: new AbortController().signal },
  );
  if (failures.length > 0) throw failures[0];
  return outcome;
}

// ---- arbitraries ----------------------------------------------------------------------------

const allowedImage = fc.constantFrom(
  'busybox',
  'busybox:1.36',
  'docker.io/library/busybox:latest',
  `docker.io/library/busybox@sha256:${'a'.repeat(64)}`,
  'myacr.azurecr.io/challenges/web:1.0',
);
const envVar = fc.record({
  name: fc.stringMatching(/^[-._a-zA-Z][-._a-zA-Z0-9]{0,20}$/),
  value: fc.string({ maxLength: 30 }),
});
const labelKey = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
const labelValue = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);

/** A challenge the schema and the default policy accept, in either form. */
export const validChallenge: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      challengeId: fc.string({ minLength: 1, maxLength: 80 }),
      containers: fc.array(
        fc.record(
          {
            image: allowedImage,
            env: fc.uniqueArray(envVar, { selector: (e) => e.name, maxLength: 3 }),
            command: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
            resources: fc.record(
              {
                requests: fc.record(
                  { cpu: fc.constantFrom('10m', '100m', '0.5'), memory: fc.constantFrom('64Mi') },
                  { requiredKeys: [] },
                ),
              },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: ['image'] },
        ),
        { minLength: 1, maxLength: 5 },
      ),
      cluster: fc.constantFrom(...CLUSTERS),
      labels: fc.dictionary(labelKey, labelValue, { maxKeys: 3 }),
      activeDeadlineSeconds: fc.integer({ min: 1, max: 86_400 }),
    },
    { requiredKeys: ['challengeId', 'containers'] },
  ),
  fc.record({
    ChallengeId: fc.string({ minLength: 1, maxLength: 80 }),
    Containers: fc.array(fc.record({ Name: allowedImage }), { minLength: 1, maxLength: 5 }),
  }),
);

/** Anything a sender might put in a body, well-formed or not. */
export const anyChallengeLike: fc.Arbitrary<unknown> = fc.oneof(
  validChallenge,
  // Valid challenges with one field replaced or added by anything.
  fc
    .tuple(validChallenge, fc.string({ maxLength: 15 }), fc.jsonValue({ maxDepth: 3 }))
    .map(([c, key, value]) => ({ ...c, [key]: value })),
  fc.jsonValue({ maxDepth: 4 }),
  fc.object({ maxDepth: 3 }),
);

export type BodyShape = 'data' | 'data-sections' | 'sequence' | 'value';

/** What a faithful sender can do with a challenge's JSON: the body must decode to it. */
export const faithfulEncoding = fc.constantFrom(
  'utf8',
  'utf8-bom',
  'utf16le-bom',
  'utf16be-bom',
  'sections',
  'value-object',
  'value-string',
  'json-string',
);

/** The body, as the SDK hands it over, of a sender that encodes `json` the given way. */
export function encodeFaithfully(
  value: unknown,
  encoding: string,
  cuts: number[],
): Pick<SdkMessage, 'body' | '_rawAmqpMessage'> {
  const text = JSON.stringify(value);
  const data = (body: unknown) => ({ body, _rawAmqpMessage: { bodyType: 'data' as const } });
  switch (encoding) {
    case 'utf8':
      return data(Buffer.from(text, 'utf8'));
    case 'utf8-bom':
      return data(Buffer.from(`\uFEFF${text}`, 'utf8'));
    case 'utf16le-bom':
      return data(Buffer.from(`\uFEFF${text}`, 'utf16le'));
    case 'utf16be-bom':
      return data(Buffer.from(`\uFEFF${text}`, 'utf16le').swap16());
    case 'sections':
      return data(splitAt(Buffer.from(text, 'utf8'), cuts));
    case 'value-object':
      return { body: value, _rawAmqpMessage: { bodyType: 'value' } };
    case 'value-string':
      return { body: text, _rawAmqpMessage: { bodyType: 'value' } };
    default:
      // JSON.stringify-ed by a JS sender, then JSON-encoded again by the SDK.
      return data(Buffer.from(JSON.stringify(text), 'utf8'));
  }
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const cut of [...at, bytes.length]) {
    parts.push(bytes.subarray(from, cut));
    from = cut;
  }
  return parts;
}

/** Message IDs of every kind the SDK can hand over (rhea decodes them; see message-id.ts). */
export const anyMessageId: fc.Arbitrary<SdkMessage['messageId']> = fc.oneof(
  fc.string({ maxLength: 130 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.uuid(),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.uint8Array({ maxLength: 70 }).map((a) => Buffer.from(a)),
  fc.constant(undefined),
);

/** Bodies in every shape the SDK hands over, from anything at all. */
export const anyBody: fc.Arbitrary<Pick<SdkMessage, 'body' | '_rawAmqpMessage'>> = fc.oneof(
  fc
    .tuple(anyChallengeLike, faithfulEncoding, fc.array(fc.nat(), { maxLength: 4 }))
    .map(([v, e, cuts]) => encodeFaithfully(v, e, cuts)),
  fc.uint8Array({ maxLength: 300 }).map((a) => ({
    body: Buffer.from(a),
    _rawAmqpMessage: { bodyType: 'data' as const },
  })),
  fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }).map((parts) => ({
    body: parts.map((p) => Buffer.from(p)),
    _rawAmqpMessage: { bodyType: 'data' as const },
  })),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }).map((items) => ({
    body: items,
    _rawAmqpMessage: { bodyType: 'sequence' as const },
  })),
  fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withTypedArray: true }).map((v) => ({
    body: v,
    _rawAmqpMessage: { bodyType: 'value' as const },
  })),
  fc.constant({ body: undefined }),
);

export const anySdkMessage: fc.Arbitrary<SdkMessage> = fc
  .record({
    messageId: anyMessageId,
    body: anyBody,
    deliveryCount: fc.nat({ max: 12 }),
    contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/xml')),
    applicationProperties: fc.dictionary(
      fc.string({ maxLength: 10 }),
      fc.oneof(fc.string(), fc.integer(), fc.boolean()),
      { maxKeys: 3 },
    ),
  })
  .map(({ body, contentType, ...rest }) => ({
    ...rest,
    ...body,
    ...(contentType !== null && { contentType }),
  }));
