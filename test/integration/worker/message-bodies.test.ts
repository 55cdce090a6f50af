import { afterEach, describe, expect, it } from '@jest/globals';

import rhea from 'rhea';

import { ANNOTATION_REQUEST_HASH } from '../../../src/message/metadata-keys.js';
import { MAX_NESTING } from '../../../src/worker/safe-amqp-decode.js';
import { nestedLists } from '../../support/nested-amqp-lists.js';
import { openRawSender } from './raw-amqp-sender.js';
import { annotation, challenge, eventually, QUEUE, Stack } from './stack.js';

/** An amqp-value body of `depth` nested lists (list32), each holding the next. */
function deeplyNestedValue(depth: number): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x53, 0x77]), nestedLists(depth)]);
}

describe('worker: bodies as senders really send them', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('accepts a challenge a JS sender JSON.stringify-ed before sendMessages, and counts it', async () => {
    stack = await Stack.start({ clusters: [{ name: 'alpha' }] });
    const app = await stack.startWorker();
    const sender = stack.serviceBus.createSender(QUEUE);
    // The SDK JSON-encodes a string body again: the body is the JSON *string* of the JSON.
    await sender.sendMessages([
      { messageId: 'stringified', body: JSON.stringify(challenge('web-1', 'busybox:1.36')) },
      { messageId: 'plain', body: challenge('web-1', 'busybox:1.36') },
    ]);
    await sender.close();

    await eventually('two pods', () => stack!.pods().length === 2);
    expect(stack.podNames()).toEqual(['alpha/plain', 'alpha/stringified']);
    // The same request either way: the same request hash on both pods.
    const hashes = stack.pods().map((p) => annotation(p.pod, ANNOTATION_REQUEST_HASH));
    expect(hashes[0]).toBe(hashes[1]);
    const metric = await app.metrics.registry.getSingleMetricAsString(
      'podbus_messages_json_string_body_total',
    );
    expect(metric).toContain('podbus_messages_json_string_body_total 1');
    expect(await stack.deadLetters()).toEqual([]);
  });

  it('decodes a body of several data sections, and dead-letters a body nested too deep to decode, once', async () => {
    stack = await Stack.start({ clusters: [{ name: 'alpha' }], maxDeliveryCount: 2 });
    const app = await stack.startWorker();
    const json = Buffer.from(JSON.stringify(challenge('web-1', 'busybox:1.36')));
    const raw = await openRawSender(stack.sb, QUEUE);
    try {
      // AMQP: a body of several data sections is their concatenation.
      await raw.send({
        message_id: 'two-sections',
        body: rhea.message.data_sections([json.subarray(0, 20), json.subarray(20)]),
      });
      // rhea's recursive decoder cannot read 5,000 levels: before the guard it threw inside
      // the worker's connection, on every delivery, until the broker gave up on the message.
      const properties = rhea.message.encode({ message_id: 'deep' }).subarray(0, -4);
      await raw.sendEncoded(Buffer.concat([properties, deeplyNestedValue(5000)]));
      await raw.send({ message_id: 'after', body: rhea.message.data_section(json) });
    } finally {
      raw.close();
    }

    await eventually('two pods', () => stack!.pods().length === 2, 30_000);
    expect(stack.podNames()).toEqual(['alpha/after', 'alpha/two-sections']);
    const letters = await eventually('the dead letter', async () => {
      const found = await stack!.deadLetters();
      return found.length > 0 && found;
    });
    expect(
      letters.map((m) => [
        m.messageId,
        m.deadLetterReason,
        m.deadLetterErrorDescription,
        m.deliveryCount,
      ]),
    ).toEqual([
      [
        'deep',
        'InvalidJson',
        `the AMQP message cannot be decoded: its amqp-value section nests values deeper than ${MAX_NESTING} levels`,
        0,
      ],
    ]);
    // The connection never broke: no receiver error, the worker stayed ready.
    expect(app.worker.receiverProblem()).toBeUndefined();
    const errors = await app.metrics.registry.getSingleMetricAsString(
      'podbus_receiver_errors_total',
    );
    expect(errors).not.toMatch(/podbus_receiver_errors_total\{/);
  });
});
