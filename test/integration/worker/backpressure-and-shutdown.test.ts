import { afterEach, describe, expect, it } from '@jest/globals';

import { challenge, eventually, QUEUE, Stack } from './stack.js';

const messages = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    messageId: `${prefix}-${i}`,
    body: challenge('web-1', 'busybox:1.36'),
  }));

describe('worker: capacity and shutdown', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('takes no further messages while every cluster is full, and resumes when a pod finishes', async () => {
    stack = await Stack.start({
      clusters: [
        { name: 'alpha', maxActivePods: 1 },
        { name: 'beta', maxActivePods: 1 },
      ],
      config: { serviceBus: { maxConcurrentCalls: 2 } },
    });
    await stack.startWorker();
    await stack.send(...messages('cap', 5));

    await eventually('two pods, one per cluster', () => stack!.pods().length === 2);
    // Give the worker every chance to (wrongly) take more.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(stack.pods()).toHaveLength(2);
    expect(stack.sb.inspect(QUEUE)).toMatchObject({ active: 3, locked: 0 });

    // A pod finishes and frees one slot. The two handlers waiting at the gate may both return
    // their credit (then one extra message is taken and held, its lock renewed, never
    // abandoned), or the second may find the gate closed again by the first one's create.
    // Either way exactly one new pod, at most one message held, the rest still in the queue.
    const [first] = stack.pods();
    stack.k8s
      .cluster(first!.cluster)
      .setPodPhase(first!.pod.metadata.namespace, first!.pod.metadata.name, 'Succeeded');
    await eventually('a third pod once capacity frees', () => stack!.pods().length === 3, 20_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(stack.pods()).toHaveLength(3);
    const queue = stack.sb.inspect(QUEUE);
    expect(queue.deadLettered).toBe(0);
    expect(queue.active + queue.locked).toBe(2);
    expect(queue.locked).toBeLessThanOrEqual(1);

    // The next free slot is taken at once (event-driven, no backoff wait).
    const running = stack.pods().find((p) => p.pod.status.phase !== 'Succeeded')!;
    stack.k8s
      .cluster(running.cluster)
      .setPodPhase(running.pod.metadata.namespace, running.pod.metadata.name, 'Succeeded');
    await eventually('a fourth pod', () => stack!.pods().length === 4, 5_000);
  });

  it('on stop, finishes in-flight creates and settles them before closing', async () => {
    stack = await Stack.start({ config: { serviceBus: { maxConcurrentCalls: 4 } } });
    for (const c of stack.k8s.clusters) await c.faults.set({ latencyMs: 1_000 });
    // hash: a first delivery goes straight to its create (no lookup), so creates are in flight.
    const app = await stack.startWorker({ 'selection.strategy': 'hash' });
    await stack.send(...messages('drain', 4));
    await eventually('four messages in flight', () => app.worker.inFlightCount === 4);

    const stopping = Date.now();
    await app.stop();
    expect(Date.now() - stopping).toBeLessThan(5_000); // within shutdownGraceMs
    expect(app.worker.currentState).toBe('stopped');
    expect(stack.pods()).toHaveLength(4);
    expect(stack.sb.inspect(QUEUE)).toMatchObject({ active: 0, locked: 0 });
  });

  it('on stop, never hands back a message whose create is still in flight: its lock lapses', async () => {
    stack = await Stack.start({
      clusters: [{ name: 'alpha' }],
      lockDuration: 'PT10S',
      config: { worker: { shutdownGraceMs: 500 } },
    });
    // hash: the first delivery goes straight to its create, which the API server then holds.
    const first = await stack.startWorker({ 'selection.strategy': 'hash' });
    const alpha = stack.k8s.cluster('alpha');
    await alpha.faults.set({ latencyMs: 4_000 });
    await stack.send({ messageId: 'late-1', body: challenge('web-1', 'busybox:1.36') });
    await eventually('the create in flight', () => first.worker.inFlightCount === 1);

    await first.stop();
    // Not abandoned (another replica would have it at once, and might miss the pod the create
    // is about to make): still locked, left to lapse.
    expect(stack.sb.inspect(QUEUE)).toMatchObject({ active: 0, locked: 1 });
    const settled = await first.metrics.registry.getSingleMetricAsString(
      'podbus_messages_settled_total',
    );
    expect(settled).not.toContain('outcome="abandoned"');

    // Whether or not the held create landed, the redelivery after the lock lapsed (not before)
    // looks first, and the message ends with exactly one pod.
    await alpha.faults.clear();
    const second = await stack.startWorker({ 'selection.strategy': 'hash' });
    await eventually(
      'the redelivery settled',
      async () =>
        /outcome="(created|duplicate)"\} 1/.test(
          await second.metrics.registry.getSingleMetricAsString('podbus_messages_settled_total'),
        ),
      30_000,
    );
    expect(stack.podNames()).toEqual(['alpha/late-1']);
    expect(stack.sb.inspect(QUEUE)).toMatchObject({ active: 0, locked: 0, deadLettered: 0 });
  });

  it('on stop, hands waiting messages straight back instead of holding them', async () => {
    stack = await Stack.start();
    for (const c of stack.k8s.clusters) await c.faults.set({ down: true });
    const app = await stack.startWorker();
    await stack.send(...messages('handback', 2));
    await eventually('messages waiting in flight', () => app.worker.inFlightCount === 2);

    const stopping = Date.now();
    await app.stop();
    expect(Date.now() - stopping).toBeLessThan(3_000);
    // Abandoned: back in the queue at once (no lock left to expire), nothing dead-lettered.
    expect(stack.sb.inspect(QUEUE)).toMatchObject({ active: 2, locked: 0, deadLettered: 0 });
    const receiver = stack.serviceBus.createReceiver(QUEUE);
    const back = await receiver.receiveMessages(2, { maxWaitTimeInMs: 3_000 });
    expect(back.map((m) => m.deliveryCount)).toEqual([1, 1]);
    expect(back[0]!.applicationProperties?.['podbus-last-error']).toContain(
      'shutting down while waiting',
    );
    await receiver.close();
  });
});
