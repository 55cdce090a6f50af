import { afterEach, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';

import type { WorkerApp } from '../../../src/app/worker-app.js';
import { plainKubeConfig } from '../../support/plain-core-api.js';
import { annotation, challenge, eventually, type Stack } from '../worker/stack.js';
import { RESULTS_QUEUE, resultsStack, takeResults } from './support/results-stack.js';

/**
 * One publisher per cluster across replicas, with several workers in one process (each its own
 * ResultsService identity, Service Bus connection and cluster clients), through the real
 * client-node against the emulator's Leases: a leader whose lease is lost stops and another
 * takes over; a leader that stops hands over at once; a result sent twice by two leaders is
 * dropped by the results queue's duplicate detection.
 */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const ALPHA = [{ name: 'alpha', lifecycle: { scheduleMs: 20, startMs: 50, runMs: 200 } }];

async function metric(
  app: WorkerApp,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await app.metrics.registry.getSingleMetricAsString(name);
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const leads = async (app: WorkerApp) =>
  (await metric(app, 'podbus_results_leader', { cluster: 'alpha' })) === 1;
const sent = (app: WorkerApp) => metric(app, 'podbus_results_sent_total', { cluster: 'alpha' });

/** Starts a worker whose cluster entry uses `token` (its own credentials for the cluster). */
async function workerWithToken(s: Stack, token: string): Promise<WorkerApp> {
  const original = await s.rewriteConfig(() => undefined).then(() => s.config().clusters[0]!.token);
  await s.rewriteConfig((c) => {
    (c.clusters as { token: string }[])[0]!.token = token;
  });
  try {
    return await s.startWorker();
  } finally {
    await s.rewriteConfig((c) => {
      (c.clusters as { token: string }[])[0]!.token = original!;
    });
  }
}

function lease(s: Stack) {
  const c = s.k8s.cluster('alpha');
  return plainKubeConfig({ server: c.server, caPem: c.caPem, token: c.adminToken })
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'podbus-results', namespace: c.namespace });
}

describe('results leadership', () => {
  it('a leader whose lease is lost stops sending; another replica takes over', async () => {
    stack = await resultsStack({ clusters: ALPHA });
    const cluster = stack.k8s.cluster('alpha');
    const tokenA = cluster.issueToken({ namespace: cluster.namespace, serviceAccount: 'podbus' });
    const a = await workerWithToken(stack, tokenA);
    await eventually('a leads', () => leads(a));
    const b = await stack.startWorker();

    await stack.send({ messageId: 'l-1', body: challenge('c-1', 'registry.example/app:1') });
    expect((await takeResults(stack, RESULTS_QUEUE, 1)).map((m) => m.correlationId)).toEqual([
      'l-1',
    ]);
    expect(await sent(a)).toBe(1);
    expect(await leads(b)).toBe(false);

    // A loses the API server (its token is revoked): it cannot renew, and stops at its deadline.
    cluster.revokeToken(tokenA);
    await eventually('a stops leading', async () => !(await leads(a)), 20_000);
    await eventually('b leads', () => leads(b), 20_000);
    expect((await lease(stack)).spec?.holderIdentity).toBe(b.results!.identity);

    await stack.send({ messageId: 'l-2', body: challenge('c-2', 'registry.example/app:1') });
    expect((await takeResults(stack, RESULTS_QUEUE, 1)).map((m) => m.correlationId)).toEqual([
      'l-2',
    ]);
    expect([await sent(a), await sent(b)]).toEqual([1, 1]);
  });

  it('a leader that stops releases the lease, and the next replica takes it', async () => {
    stack = await resultsStack({ clusters: ALPHA });
    const a = await stack.startWorker();
    await eventually('a leads', () => leads(a));
    const b = await stack.startWorker();
    const before = await lease(stack);
    await a.stop();
    // Released (no holder), or already taken by b: never still a's.
    expect((await lease(stack)).spec?.holderIdentity).not.toBe(a.results!.identity);
    await eventually('b leads', () => leads(b));
    const after = await lease(stack);
    expect(after.spec?.holderIdentity).toBe(b.results!.identity);
    expect(after.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
  });

  it('sent but not marked, then a new leader: sent again, the same messageId, dropped by the queue', async () => {
    stack = await resultsStack({ clusters: ALPHA });
    const cluster = stack.k8s.cluster('alpha');
    // A's account may do everything but patch pods: its results go out, its marks fail.
    const admin = plainKubeConfig({
      server: cluster.server,
      caPem: cluster.caPem,
      token: cluster.adminToken,
    });
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const namespace = cluster.namespace;
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'no-patch' },
        rules: [
          {
            apiGroups: [''],
            resources: ['pods'],
            verbs: ['create', 'get', 'list', 'watch', 'delete'],
          },
          {
            apiGroups: ['coordination.k8s.io'],
            resources: ['leases'],
            verbs: ['get', 'create', 'update'],
          },
        ],
      },
    });
    const tokenA = cluster.issueToken({ namespace, serviceAccount: 'no-patch' });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'no-patch' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'no-patch' },
        subjects: [{ kind: 'ServiceAccount', name: 'no-patch', namespace }],
      },
    });
    const a = await workerWithToken(stack, tokenA);
    await eventually('a leads', () => leads(a));
    await stack.send({ messageId: 'd-1', body: challenge('c-1', 'registry.example/app:1') });
    await eventually('a failed to mark d-1', () =>
      stack!.logLines.some(
        (l) => l.includes('marking the pod as reported failed') && l.includes('"d-1"'),
      ),
    );
    expect(await sent(a)).toBe(1); // it does not send again itself

    await a.stop();
    const b = await stack.startWorker();
    await eventually('b sent d-1 again and marked it', async () => {
      const pod = cluster.getPod(namespace, 'd-1');
      return (await sent(b)) === 1 && annotation(pod!, 'podbus.io/result-sent') !== undefined;
    });
    const sentLines = stack.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'result sent' && l.messageId === 'd-1');
    expect(sentLines.map((l) => l.resultMessageId)).toEqual([
      `podbus-result-${sentLines[0]!.uid as string}`,
      `podbus-result-${sentLines[0]!.uid as string}`,
    ]);
    // Two sends, one message: duplicate detection on the results queue dropped the repeat.
    expect(
      (await takeResults(stack, RESULTS_QUEUE, 1, { quietMs: 2_000 })).map((m) => m.correlationId),
    ).toEqual(['d-1']);
  });
});
