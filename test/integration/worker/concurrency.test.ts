import { afterEach, describe, expect, it } from '@jest/globals';

import { challenge, eventually, Stack } from './stack.js';

describe('worker: concurrency against a slow API server', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('has every message’s create in flight at once, each on a connection of its own', async () => {
    // An API server that takes 1.5 s per request: 24 messages handled at once need 24 creates
    // in flight at once, so 24 connections beside the watch's (HTTP/1.1: one request each).
    stack = await Stack.start({ clusters: [{ name: 'slow', faults: { latencyMs: 1_500 } }] });
    await stack.startWorker({
      'serviceBus.maxConcurrentCalls': 24,
      'worker.clusterRequestTimeoutMs': 20_000,
    });
    const opened = stack.k8s.cluster('slow').stats.connections;
    await stack.send(
      ...Array.from({ length: 24 }, (_, i) => ({
        messageId: `slow-${i}`,
        body: challenge('slow', 'busybox:1.36'),
      })),
    );

    await eventually('24 pods', () => stack!.pods().length === 24, 60_000);
    expect(stack.k8s.cluster('slow').stats.connections - opened).toBeGreaterThanOrEqual(24);
  }, 90_000);
});
