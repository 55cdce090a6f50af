import { afterEach, describe, expect, it } from '@jest/globals';

import { ANNOTATION_REQUEST_HASH } from '../../../src/pod/metadata-keys.js';
import { annotation, challenge, eventually, QUEUE, Stack } from './stack.js';

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
});
