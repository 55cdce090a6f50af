import { afterEach, describe, expect, it } from '@jest/globals';

import { challenge, eventually, QUEUE, Stack } from './stack.js';

const messages = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    messageId: `${prefix}-${i}`,
    body: challenge('web-1', 'busybox:1.36'),
  }));

describe('worker: cluster outages', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('fails over to the healthy cluster when one is down', async () => {
    stack = await Stack.start();
    await stack.k8s.cluster('alpha').faults.set({ down: true });
    await stack.startWorker({ 'selection.strategy': 'round-robin' });
    await stack.send(...messages('failover', 6));

    await eventually('six pods', () => stack!.pods().length === 6, 30_000);
    expect(new Set(stack.pods().map((p) => p.cluster))).toEqual(new Set(['beta']));
    await eventually('queue drained', () => stack!.sb.inspect(QUEUE).active === 0);
    expect(await stack.deadLetters()).toEqual([]);
  });

  it('when every cluster is down, messages wait and then flow when one returns; none dead-lettered', async () => {
    stack = await Stack.start({ maxDeliveryCount: 2 });
    for (const c of stack.k8s.clusters) await c.faults.set({ down: true });
    const app = await stack.startWorker();
    await stack.send(...messages('outage', 4));

    // Long enough for several lock durations (5 s) and retries to pass.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(stack.pods()).toEqual([]);
    const during = stack.sb.inspect(QUEUE);
    expect(during.deadLettered).toBe(0);
    expect(during.active + during.locked).toBe(4);

    await stack.k8s.cluster('beta').faults.clear();
    await eventually('four pods after the outage', () => stack!.pods().length === 4, 40_000);
    await eventually(
      'queue drained',
      () => stack!.sb.inspect(QUEUE).active + stack!.sb.inspect(QUEUE).locked === 0,
    );
    expect(await stack.deadLetters()).toEqual([]);
    const retries = await app.metrics.registry.getSingleMetricAsString(
      'podbus_transient_retries_total',
    );
    expect(retries).toMatch(/podbus_transient_retries_total\{kind="[a-z-]+"\} [1-9]/);
  });

  it('honours an API server’s 429 Retry-After before creating', async () => {
    stack = await Stack.start({ clusters: [{ name: 'alpha' }] });
    await stack.startWorker();
    await stack.k8s.cluster('alpha').faults.set({ throttle: { retryAfterSeconds: 2 } });
    const sent = Date.now();
    await stack.send({ messageId: 'throttled-1', body: challenge('web-1', 'busybox:1.36') });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(stack.pods()).toEqual([]); // still being told to wait
    await stack.k8s.cluster('alpha').faults.set({ throttle: null as never });
    await eventually('the pod', () => stack!.pods().length === 1, 20_000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(2_000);
  });
});
