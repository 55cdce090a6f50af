import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';

import { parseChallengeMessage } from '../../../src/message/parse-challenge-message.js';
import { buildPod } from '../../../src/pod/build-pod.js';
import { policyForConfig } from '../../../src/policy/policy.js';
import { plainCoreApi } from '../../support/plain-core-api.js';
import { challenge, eventually, QUEUE, Stack } from './stack.js';

describe('worker: what can never succeed is dead-lettered with a reason', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('dead-letters poison messages with reasons a person can act on, and survives them', async () => {
    stack = await Stack.start();
    await stack.startWorker();
    const sender = stack.serviceBus.createSender(QUEUE);
    await sender.sendMessages([
      { messageId: 'not-json', body: Buffer.from('{"challengeId": "x", "containers": [') },
      { messageId: 'no-containers', body: { challengeId: 'web-1' } },
      { messageId: 'bad-image', body: challenge('web-1', 'evil.example/miner:latest') },
      {
        messageId: 'unknown-cluster',
        body: { ...challenge('web-1', 'busybox'), cluster: 'gamma' },
      },
      { messageId: 'fine', body: challenge('web-1', 'busybox:1.36') },
    ]);
    await sender.sendMessages({ messageId: 'huge', body: Buffer.alloc(70_000, 'a') });
    await sender.close();

    const letters: ServiceBusReceivedMessage[] = [];
    await eventually('five dead letters', async () => {
      letters.push(...(await stack!.deadLetters()));
      return letters.length >= 5;
    });
    const byId = Object.fromEntries(
      letters.map((m) => [
        m.messageId,
        { reason: m.deadLetterReason, description: m.deadLetterErrorDescription },
      ]),
    );
    expect(byId['not-json']).toMatchObject({ reason: 'InvalidJson' });
    expect(byId['no-containers']).toMatchObject({ reason: 'SchemaViolation' });
    expect(byId['no-containers']!.description).toContain('containers');
    expect(byId['bad-image']).toMatchObject({ reason: 'PolicyViolation' });
    expect(byId['bad-image']!.description).toContain('evil.example/miner');
    expect(byId['unknown-cluster']).toEqual({
      reason: 'PolicyViolation',
      description:
        'cluster "gamma" is not one of the configured clusters (alpha, beta); fix the message\'s cluster field or leave it out',
    });
    expect(byId['huge']).toMatchObject({ reason: 'PolicyViolation' });
    expect(byId['huge']!.description).toContain('policy.maxBodyBytes');
    expect(Object.keys(byId).sort()).toEqual(
      ['bad-image', 'huge', 'no-containers', 'not-json', 'unknown-cluster'].sort(),
    );
    // The worker kept going: the good messages became pods.
    await eventually('pods for the valid messages', () =>
      stack!.podNames().some((n) => n.endsWith('/fine')),
    );
    expect(
      stack.podNames().filter((n) => n.endsWith('/not-json') || n.endsWith('/bad-image')),
    ).toEqual([]);
  });

  it('dead-letters MessageIdConflict when the pod name is taken by a different request', async () => {
    stack = await Stack.start();
    // Another message (different body) already produced pod "clash-1" on beta.
    const config = stack.config();
    const earlier = buildPod(
      {
        messageId: 'clash-1',
        challengeId: 'other',
        containers: [{ image: 'busybox:1.36', env: [] }],
        labels: {},
      },
      config,
    );
    const beta = stack.k8s.cluster('beta');
    await createWithAdmin(beta.server, beta.caPem, beta.adminToken, beta.namespace, earlier);

    await stack.startWorker();
    await stack.send({ messageId: 'clash-1', body: challenge('web-1', 'busybox:1.36') });
    const [letter] = await eventually('a dead letter', async () => {
      const found = await stack!.deadLetters();
      return found.length > 0 && found;
    });
    expect(letter!.deadLetterReason).toBe('MessageIdConflict');
    expect(letter!.deadLetterErrorDescription).toContain(
      'pod clash-1 on cluster beta was created from a different request under the same message ID',
    );
    expect(stack.podNames()).toEqual(['beta/clash-1']);
  });

  it('a redelivery after a crash between create and complete makes no second pod', async () => {
    stack = await Stack.start({ lockDuration: 'PT5S' });
    // "Worker 1": receives the message, creates its pod on alpha, and dies before completing.
    await stack.send({ messageId: 'crash-1', body: challenge('web-1', 'busybox:1.36') });
    const crashed = stack.serviceBus.createReceiver(QUEUE); // peekLock
    const [message] = await crashed.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    expect(message?.messageId).toBe('crash-1');
    const config = stack.config();
    const parsed = parseChallengeMessage(
      { messageId: 'crash-1', body: JSON.stringify(message!.body) },
      policyForConfig(config),
    );
    if (!parsed.ok) throw new Error(parsed.description);
    const alpha = stack.k8s.cluster('alpha');
    await createWithAdmin(
      alpha.server,
      alpha.caPem,
      alpha.adminToken,
      alpha.namespace,
      buildPod(parsed.request, config),
    );
    await crashed.close(); // no settlement: the lock expires and the broker redelivers

    // "Worker 2" with round-robin would pick alpha first, then beta; the lookup must find
    // the pod on alpha whichever cluster comes first.
    const app = await stack.startWorker({ 'selection.strategy': 'round-robin' });
    await eventually(
      'the redelivery settled',
      async () => {
        const text = await app.metrics.registry.getSingleMetricAsString(
          'podbus_messages_settled_total',
        );
        return text.includes('outcome="duplicate"} 1');
      },
      30_000,
    );
    expect(stack.podNames()).toEqual(['alpha/crash-1']);
    expect(stack.sb.inspect(QUEUE)).toMatchObject({ active: 0, locked: 0 });
    expect(await stack.deadLetters()).toEqual([]);
  });
});

/** Creates a pod as the cluster admin would (the test's "other party"), over real HTTPS. */
async function createWithAdmin(
  server: string,
  caPem: string,
  token: string,
  namespace: string,
  pod: V1Pod,
): Promise<void> {
  await plainCoreApi({ server, caPem, token }).createNamespacedPod({ namespace, body: pod });
}
