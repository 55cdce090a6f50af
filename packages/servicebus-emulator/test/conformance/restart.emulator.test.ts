import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient } from '@azure/service-bus';

import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';
import { receiveCount } from './helpers.js';
import { CONFIG_PATH } from './target.js';

/**
 * EMULATOR-SPECIFIC: durability across restarts is a feature of podbus's emulator (`--data-dir`);
 * the official emulator keeps nothing across restarts and its container cannot be restarted from
 * here. So this file always runs against podbus's emulator, whatever PODBUS_CONFORMANCE_TARGET
 * says — still only through the public SDK. The CLI-process variant (SIGKILL, then restart) is in
 * test/integration/cli.test.ts.
 */
const QUEUE = 'conf-restart';

describe('podbus emulator: --data-dir keeps every accepted message across a restart', () => {
  let dataDir: string;
  let emulator: ServiceBusEmulator | undefined;
  const clients: ServiceBusClient[] = [];
  const client = (e: ServiceBusEmulator): ServiceBusClient => {
    const c = new ServiceBusClient(e.connectionString);
    clients.push(c);
    return c;
  };
  const start = (): Promise<ServiceBusEmulator> =>
    startServiceBusEmulator({ config: CONFIG_PATH, dataDir });

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'podbus-sb-restart-'));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await emulator?.stop();
    emulator = undefined;
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('restores active, abandoned, deferred, scheduled and dead-lettered messages; completed ones stay gone', async () => {
    emulator = await start();
    let c = client(emulator);
    const sender = c.createSender(QUEUE);
    const ids = Array.from({ length: 12 }, (_, i) => `restart-${i}`);
    await sender.sendMessages({ body: ids[0], messageId: ids[0] });
    await sender.sendMessages(ids.slice(1).map((id) => ({ body: id, messageId: id })));
    const [scheduledSeq] = await sender.scheduleMessages(
      { body: 'later', messageId: 'restart-scheduled' },
      new Date(Date.now() + 60_000),
    );

    const receiver = c.createReceiver(QUEUE);
    const got = await receiveCount(receiver, 7);
    expect(got.map((m) => m.messageId)).toEqual(ids.slice(0, 7));
    const [c0, c1, c2, a3, a4, d5, x6] = got;
    for (const m of [c0, c1, c2]) await receiver.completeMessage(m!);
    await receiver.abandonMessage(a3!);
    await receiver.abandonMessage(a4!, { note: 'abandoned once' });
    await receiver.deferMessage(d5!);
    await receiver.deadLetterMessage(x6!, {
      deadLetterReason: 'Broken',
      deadLetterErrorDescription: 'bad input',
    });
    const deferredSeq = d5!.sequenceNumber!;
    const lastSeqBefore = Math.max(...got.map((m) => m.sequenceNumber!.toNumber()));
    expect(emulator.inspect(QUEUE)).toEqual({
      active: 7, // 3..4 abandoned + 7..11
      locked: 0,
      scheduled: 1,
      deferred: 1,
      deadLettered: 1,
    });

    await Promise.all(clients.splice(0).map((x) => x.close()));
    await emulator.stop();
    emulator = await start();
    expect(emulator.inspect(QUEUE)).toEqual({
      active: 7,
      locked: 0,
      scheduled: 1,
      deferred: 1,
      deadLettered: 1,
    });

    c = client(emulator);
    const after = c.createReceiver(QUEUE);
    const back = await receiveCount(after, 7);
    expect(back.map((m) => m.messageId)).toEqual([ids[3], ids[4], ...ids.slice(7)]);
    expect(back[0]?.deliveryCount).toBe(1);
    expect(back[1]?.deliveryCount).toBe(1);
    expect(back[1]?.applicationProperties).toEqual({ note: 'abandoned once' });
    expect(back[2]?.deliveryCount).toBe(0);
    for (const m of back) await after.completeMessage(m);

    const [deferred] = await after.receiveDeferredMessages([deferredSeq]);
    expect(deferred?.messageId).toBe(ids[5]);
    await after.completeMessage(deferred!);

    const peeked = await after.peekMessages(5);
    expect(peeked.map((m) => [m.messageId, m.state, m.sequenceNumber?.toNumber()])).toEqual([
      ['restart-scheduled', 'scheduled', scheduledSeq!.toNumber()],
    ]);

    const [dead] = await receiveCount(c.createReceiver(QUEUE, { subQueueType: 'deadLetter' }), 1);
    expect(dead?.messageId).toBe(ids[6]);
    expect(dead?.deadLetterReason).toBe('Broken');

    // sequence numbers continue after the restart instead of starting over
    await c.createSender(QUEUE).sendMessages({ body: 'new', messageId: 'restart-new' });
    const [fresh] = await receiveCount(after, 1);
    expect(fresh?.sequenceNumber?.toNumber()).toBeGreaterThan(
      Math.max(lastSeqBefore, scheduledSeq!.toNumber()),
    );
    await after.completeMessage(fresh!);
  });

  it('a message locked when the emulator stopped is delivered again after the restart', async () => {
    emulator = await start();
    let c = client(emulator);
    await c.createSender(QUEUE).sendMessages({ body: 'in-flight', messageId: 'restart-locked' });
    const [held] = await receiveCount(c.createReceiver(QUEUE), 1);
    expect(held?.messageId).toBe('restart-locked');
    await Promise.all(clients.splice(0).map((x) => x.close()));
    await emulator.stop();

    emulator = await start();
    c = client(emulator);
    const receiver = c.createReceiver(QUEUE);
    const [again] = await receiveCount(receiver, 1);
    expect(again?.messageId).toBe('restart-locked');
    await receiver.completeMessage(again!);
    await Promise.all(clients.splice(0).map((x) => x.close()));
    await emulator.stop();

    emulator = await start();
    expect(emulator.inspect(QUEUE).active).toBe(0);
  });
});
