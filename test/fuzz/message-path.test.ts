import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { messageIdText } from '../../src/message/message-id.js';
import { isDns1123Label, podNameForMessageId } from '../../src/message/names.js';
import {
  anySdkMessage,
  DEAD_LETTER_REASONS,
  encodeFaithfully,
  faithfulEncoding,
  handle,
  newFleet,
  podsOf,
  validChallenge,
  type SdkMessage,
} from './support/message-path.js';

/**
 * Property-based fuzzing of the whole message path, from what the SDK hands over to the worker
 * (body bytes and AMQP body shapes, application properties, message IDs of every kind) through
 * the handler (prepare -> placement) against an in-memory fleet that never fails: whatever the
 * message, the handler returns, and the message ends as exactly one pod or one dead letter with
 * a reason. A redelivery changes nothing. Counterexamples are shrunk and printed with the seed.
 */
describe('fuzz: the message path', () => {
  it('never throws; every message is exactly one pod or one dead letter, and a redelivery adds nothing', async () => {
    await fc.assert(
      fc.asyncProperty(anySdkMessage, async (message) => {
        const fleet = newFleet();
        const outcome = await handle(message, fleet);
        const pods = podsOf(fleet);
        if (outcome.action === 'complete') {
          expect(outcome.outcome).toBe('created');
          expect(pods).toHaveLength(1);
          expect(pods[0]!.where.startsWith(`${outcome.cluster}/`)).toBe(true);
          expect(pods[0]!.messageId).toBe(idOf(message));
        } else {
          expect(outcome).toMatchObject({ action: 'dead-letter' });
          if (outcome.action !== 'dead-letter') return;
          expect(DEAD_LETTER_REASONS).toContain(outcome.reason);
          expect(outcome.description.length).toBeGreaterThan(0);
          expect(pods).toEqual([]);
        }
        // The broker delivers it again (a lost lock, a crash before settling).
        const again = await handle({ ...message, deliveryCount: message.deliveryCount + 1 }, fleet);
        if (outcome.action === 'complete') {
          expect(again).toEqual({ ...outcome, outcome: 'duplicate' });
        } else {
          expect(again).toEqual(outcome);
        }
        expect(podsOf(fleet)).toEqual(pods);
      }),
      { numRuns: 1_000 },
    );
  });

  it('a valid challenge becomes its pod however a faithful sender encodes the body', async () => {
    await fc.assert(
      fc.asyncProperty(
        validChallenge,
        faithfulEncoding,
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.uuid(),
        async (challenge, encoding, cuts, id) => {
          const fleet = newFleet();
          const message: SdkMessage = {
            messageId: id,
            deliveryCount: 0,
            ...encodeFaithfully(challenge, encoding, cuts),
          };
          await expect(handle(message, fleet)).resolves.toMatchObject({
            action: 'complete',
            outcome: 'created',
          });
          expect(podsOf(fleet).map((p) => p.where.split('/')[1])).toEqual([id]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('distinct message IDs never share a pod: each valid message of a batch gets its own', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.oneof(
            fc.string({ maxLength: 80 }),
            fc.uuid(),
            fc.nat(),
            fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)),
          ),
          { selector: expectedIdText, minLength: 2, maxLength: 30 },
        ),
        validChallenge,
        async (ids, challenge) => {
          const fleet = newFleet();
          for (const messageId of ids) {
            const body = encodeFaithfully(challenge, 'utf8', []);
            const outcome = await handle({ messageId, deliveryCount: 0, ...body }, fleet);
            if (expectedIdText(messageId) === '') {
              expect(outcome).toMatchObject({ action: 'dead-letter', reason: 'SchemaViolation' });
            } else {
              expect(outcome).toMatchObject({ action: 'complete', outcome: 'created' });
            }
          }
          const named = ids.map(expectedIdText).filter((text) => text !== '');
          const pods = podsOf(fleet);
          expect(pods).toHaveLength(named.length);
          expect(new Set(pods.map((p) => p.messageId))).toEqual(new Set(named));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every message ID maps to a valid pod name, and different texts to different names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(trickyId, { minLength: 2, maxLength: 50 }), (ids) => {
        const names = ids.map(podNameForMessageId);
        for (const name of names) expect(isDns1123Label(name)).toBe(true);
        expect(new Set(names).size).toBe(ids.length);
      }),
      { numRuns: 2_000 },
    );
  });
});

/**
 * IDs built to collide if a naming rule were wrong: case and accent variants, separators that
 * sanitise alike, long IDs sharing a prefix, valid names that already end like a hashed one.
 */
const trickyId: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 90 }),
  fc
    .tuple(
      fc.constantFrom(
        'web',
        'Web',
        'WEB',
        'wéb',
        'w-e-b',
        'w_e_b',
        'w.e.b',
        'w e b',
        'ŵeb',
        'ｗｅｂ',
      ),
      fc.constantFrom('', '-1', '_1', '.1', ' 1', '-01', '1'),
    )
    .map(([a, b]) => a + b),
  fc
    .tuple(fc.constant('x'.repeat(50)), fc.string({ maxLength: 30 }))
    .map(([prefix, tail]) => prefix + tail),
  fc.stringMatching(/^[a-z0-9]{1,20}-[0-9a-f]{16}$/),
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
);

function idOf(message: SdkMessage): string {
  return messageIdText(message.messageId);
}

/**
 * The text podbus documents for an ID (docs/message-contract.md, "Names"), written out here
 * rather than taken from messageIdText, so a wrong messageIdText cannot vouch for itself:
 * bytes as lowercase hex, numbers in decimal, strings as they are.
 */
function expectedIdText(id: string | number | Buffer): string {
  return Buffer.isBuffer(id) ? id.toString('hex') : String(id);
}
