import { describe, expect, it } from '@jest/globals';

import { sleep, within, useConformanceTarget } from './helpers.js';

const QUEUE = 'conf-compete';
const MESSAGES = 200;

describe('Service Bus conformance: competing consumers', () => {
  const { pool } = useConformanceTarget(QUEUE);

  it('two receivers on separate connections never hold the same message', async () => {
    const ids = Array.from({ length: MESSAGES }, (_, i) => `compete-${i}-${Date.now()}`);
    const sender = pool.client().createSender(QUEUE);
    for (let i = 0; i < MESSAGES; i += 50) {
      await sender.sendMessages(
        ids.slice(i, i + 50).map((messageId) => ({ body: messageId, messageId })),
      );
    }

    const inFlight = new Map<string, string>();
    const overlaps: string[] = [];
    const processedBy = new Map<string, string[]>();
    const errors: string[] = [];
    let allDone!: () => void;
    const finished = new Promise<void>((r) => (allDone = r));
    let processed = 0;

    const subscriptions = ['A', 'B'].map((name) => {
      const receiver = pool.client().createReceiver(QUEUE);
      return receiver.subscribe(
        {
          processMessage: async (m) => {
            const id = String(m.messageId);
            const holder = inFlight.get(id);
            if (holder) overlaps.push(`${id} held by ${holder} and ${name}`);
            inFlight.set(id, name);
            await sleep(Math.random() * 5);
            inFlight.delete(id);
            processedBy.set(id, [...(processedBy.get(id) ?? []), name]);
            if (++processed === MESSAGES) allDone();
          },
          processError: async (args) => {
            errors.push(`${args.errorSource}: ${args.error.message}`);
          },
        },
        { maxConcurrentCalls: 8, autoCompleteMessages: true },
      );
    });

    expect(await within(finished, 30_000)).toBe(true);
    await sleep(300); // last auto-completes
    await Promise.all(subscriptions.map((s) => s.close()));

    expect(errors).toEqual([]);
    expect(overlaps).toEqual([]);
    expect(processedBy.size).toBe(MESSAGES);
    const duplicates = [...processedBy].filter(([, by]) => by.length > 1);
    expect(duplicates).toEqual([]);
    const perReceiver = { A: 0, B: 0 };
    for (const [, by] of processedBy) perReceiver[by[0] as 'A' | 'B']++;
    expect(perReceiver.A).toBeGreaterThan(0);
    expect(perReceiver.B).toBeGreaterThan(0);
    expect(await pool.client().createReceiver(QUEUE).peekMessages(5)).toHaveLength(0);
  }, 45_000);
});
