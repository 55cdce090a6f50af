import { afterEach, describe, expect, it } from '@jest/globals';

import { challenge, eventually, Stack } from './stack.js';

describe('worker: messages become pods', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('creates one pod per message for the seed and camelCase forms, then completes them', async () => {
    stack = await Stack.start();
    const app = await stack.startWorker();
    await stack.send(
      {
        messageId: 'seed-1',
        body: {
          ChallengeId: 'web-101',
          Containers: [{ Name: 'registry.example/challenges/web:1' }],
        },
      },
      {
        messageId: 'camel-1',
        body: challenge('net-201', 'registry.example/challenges/srv:2', 'busybox:1.36'),
      },
    );

    const pods = await eventually('two pods', () => {
      const all = stack!.pods();
      return all.length === 2 && all;
    });
    await eventually('queue drained', () => {
      const q = stack!.sb.inspect('challenges');
      return q.active === 0 && q.locked === 0;
    });

    const seed = pods.find((p) => p.pod.metadata.name === 'seed-1')!.pod;
    expect(seed.metadata).toMatchObject({
      labels: {
        messageId: 'seed-1',
        challengeId: 'web-101',
        'app.kubernetes.io/managed-by': 'podbus',
      },
    });
    const spec = seed.spec as {
      containers: { name: string; image: string; imagePullPolicy: string }[];
    };
    expect(spec).toMatchObject({ restartPolicy: 'Never', terminationGracePeriodSeconds: 0 });
    expect(spec.containers).toEqual([
      expect.objectContaining({
        name: 'web-101-01',
        image: 'registry.example/challenges/web:1',
        imagePullPolicy: 'Always',
      }),
    ]);
    const camel = pods.find((p) => p.pod.metadata.name === 'camel-1')!.pod;
    expect(
      (camel.spec as { containers: { name: string }[] }).containers.map((c) => c.name),
    ).toEqual(['net-201-01', 'net-201-02']);
    // round-robin spread them over both clusters
    expect(new Set(pods.map((p) => p.cluster))).toEqual(new Set(['alpha', 'beta']));
    expect(await stack.deadLetters()).toEqual([]);

    const metrics = await app.metrics.registry.getSingleMetricAsString(
      'podbus_messages_settled_total',
    );
    expect(metrics).toContain('podbus_messages_settled_total{outcome="created"} 2');
  });
});

describe('worker: duplicate lookups for first deliveries', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('answer from the live watch caches (no GET per message), and still catch a sender’s duplicate', async () => {
    stack = await Stack.start();
    // Results and cleanup off: their leader election reads a Lease every retry period, which
    // the emulator's GET count would include.
    await stack.startWorker({
      'selection.strategy': 'least-loaded',
      'cleanup.ttlSecondsAfterFinished': 'never',
      'cleanup.stuckPendingSeconds': 'never',
    });
    const gets = () => stack!.k8s.clusters.reduce((n, c) => n + (c.stats.byVerb.get ?? 0), 0);
    // Let both trackers list and start watching before the first message.
    await new Promise((r) => setTimeout(r, 500));
    const before = gets();

    await stack.send(
      ...Array.from({ length: 6 }, (_, i) => ({
        messageId: `cached-${i}`,
        body: challenge('web-1', 'busybox:1.36'),
      })),
    );
    await eventually('six pods', () => stack!.pods().length === 6);
    expect(gets() - before).toBe(0);

    // The sender sends cached-0 again (a retried send): a new message, deliveryCount 0.
    await stack.send({ messageId: 'cached-0', body: challenge('web-1', 'busybox:1.36') });
    await eventually('the duplicate settled', () => stack!.sb.inspect('challenges').active === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.pods()).toHaveLength(6);
    expect(gets() - before).toBe(1); // one read, on the cluster whose cache holds the name
  });
});
