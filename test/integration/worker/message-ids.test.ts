import { afterEach, describe, expect, it } from '@jest/globals';
import rhea from 'rhea';

import { ANNOTATION_MESSAGE_ID } from '../../../src/message/metadata-keys.js';
import { annotation, challenge, eventually, QUEUE, Stack } from './stack.js';
import { openRawSender } from './raw-amqp-sender.js';

describe('worker: message IDs of every AMQP type', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('gives binary and uuid IDs a pod each, named by their bytes', async () => {
    stack = await Stack.start({ clusters: [{ name: 'alpha' }] });
    await stack.startWorker();
    const body = challenge('web-1', 'busybox:1.36');
    // The SDK sends a Buffer ID as an AMQP uuid. Bytes >= 0x80 are not UTF-8: String() would
    // turn both IDs into sixteen U+FFFD and make them one pod.
    const sender = stack.serviceBus.createSender(QUEUE);
    await sender.sendMessages([
      { messageId: Buffer.alloc(16, 0x80), body },
      { messageId: Buffer.alloc(16, 0x81), body },
    ]);
    await sender.close();
    // AMQP binary IDs, which only a raw AMQP client sends.
    const raw = await openRawSender(stack.sb, QUEUE);
    try {
      for (const bytes of [
        [0xff, 0xfe],
        [0xfe, 0xff],
      ]) {
        await raw.send({
          // rhea's types leave out typed IDs, which its encoder takes (types.wrap_message_id).
          message_id: rhea.types.wrap_binary(Buffer.from(bytes)) as unknown as Buffer,
          body: rhea.message.data_section(Buffer.from(JSON.stringify(body))),
        });
      }
    } finally {
      raw.close();
    }

    const expected = ['80'.repeat(16), '81'.repeat(16), 'fffe', 'feff'];
    await eventually('four pods', () => stack!.pods().length >= 4, 30_000);
    await eventually('the queue drained', () => stack!.sb.inspect(QUEUE).active === 0);
    const pods = stack.pods().map(({ pod }) => ({
      name: pod.metadata.name,
      messageId: annotation(pod, ANNOTATION_MESSAGE_ID),
    }));
    expect(pods.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...expected].sort().map((id) => ({ name: id, messageId: id })),
    );
    expect(await stack.deadLetters()).toEqual([]);
  });
});
