import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';

import type { WorkerApp } from '../../../src/app/worker-app.js';
import { challenge, eventually, type Stack } from '../worker/stack.js';
import { RESULTS_QUEUE, resultsStack, takeResults } from './support/results-stack.js';

/**
 * Cleanup deletes podbus's pods once their result is sent (finished: after the TTL; stuck:
 * stuckPendingSeconds after creation), and nothing else: pods of others in the same namespace,
 * finished or stuck, are never touched.
 */
let stack: Stack;
let worker: WorkerApp;
beforeAll(async () => {
  stack = await resultsStack({
    clusters: [{ name: 'alpha', lifecycle: { scheduleMs: 20, startMs: 50, runMs: 200 } }],
    config: {
      // No replica dies here, so no message comes back for a deleted pod: no minimum age.
      cleanup: { ttlSecondsAfterFinished: 0, stuckPendingSeconds: 3, minimumAgeSeconds: 0 },
    },
  });
  worker = await stack.startWorker();
});
afterAll(async () => {
  await stack.stop();
});

/** A pod someone else runs in the challenges namespace (no podbus label). */
function theirs(name: string, image: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }] },
  };
}

const podNames = () =>
  stack.k8s
    .cluster('alpha')
    .listPods('challenges')
    .map((p) => p.metadata.name)
    .sort();

describe('cleanup', () => {
  it("deletes finished and stuck podbus pods after their results; never anyone else's", async () => {
    const admin = stack.adminApi('alpha');
    for (const pod of [
      theirs('theirs-done', 'registry.example/app:1'),
      theirs('theirs-stuck', 'unreachable.example/app:1'),
      theirs('theirs-labelled', 'registry.example/app:1', {
        'app.kubernetes.io/managed-by': 'helm',
      }),
    ]) {
      await admin.createNamespacedPod({ namespace: 'challenges', body: pod });
    }
    await stack.send(
      { messageId: 'c-done', body: challenge('c-1', 'registry.example/app:1') },
      { messageId: 'c-stuck', body: challenge('c-2', 'unreachable.example/app:1') },
    );

    const results = await takeResults(stack, RESULTS_QUEUE, 2);
    expect(results.map((m) => [m.correlationId, m.subject]).sort()).toEqual([
      ['c-done', 'succeeded'],
      ['c-stuck', 'image-pull-failed'],
    ]);
    await eventually('podbus pods deleted', () => !podNames().some((n) => n.startsWith('c-')));

    // Everyone else's pods are still there, finished or stuck, however long we wait.
    expect(stack.k8s.cluster('alpha').getPod('challenges', 'theirs-done')?.status.phase).toBe(
      'Succeeded',
    );
    expect(podNames()).toEqual(['theirs-done', 'theirs-labelled', 'theirs-stuck']);

    const history = stack.k8s.cluster('alpha').podHistory('challenges');
    const deleted = history
      .filter((h) => h.deletedAt !== undefined)
      .map((h) => h.name)
      .sort();
    expect(deleted).toEqual(['c-done', 'c-stuck']);
    const text = await worker.metrics.registry.getSingleMetricAsString('podbus_pods_deleted_total');
    expect(text).toContain('podbus_pods_deleted_total{cluster="alpha",reason="finished"} 1');
    expect(text).toContain('podbus_pods_deleted_total{cluster="alpha",reason="stuck"} 1');
  });
});
