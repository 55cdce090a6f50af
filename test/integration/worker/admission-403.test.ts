import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from '@jest/globals';

import {
  sendJson,
  startTestApiServer,
  status,
  type TestApiServer,
} from '../../unit/clusters/support/https-api-server.js';
import { challenge, eventually, QUEUE, Stack } from './stack.js';

/**
 * 403s on a pod create are mostly about the pod, not the cluster (specs/kube-api.md, "403
 * Forbidden: who said it"): a used-up quota is capacity, a policy denial is the message's
 * dead letter, and neither may wedge the fleet by opening circuit breakers.
 */
describe('worker: 403s from admission', () => {
  let stack: Stack | undefined;
  let server: TestApiServer | undefined;
  afterEach(async () => {
    await stack?.stop();
    await server?.close();
    stack = undefined;
    server = undefined;
  });

  it('waits while the ResourceQuota is used up, and creates as pods end: no breaker, no budget spent', async () => {
    stack = await Stack.start({
      clusters: [{ name: 'alpha', lifecycle: { scheduleMs: 20, startMs: 50, runMs: 1_500 } }],
      // A budget far shorter than the waits: spending it would hand messages back.
      config: { worker: { transientRetryBudgetMs: 1_000 } },
    });
    const alpha = stack.k8s.cluster('alpha');
    await stack.adminApi('alpha').createNamespacedResourceQuota({
      namespace: alpha.namespace,
      // Room for one default pod (limits.cpu 1): the second meets "exceeded quota".
      body: { metadata: { name: 'challenges' }, spec: { hard: { 'limits.cpu': '1' } } },
    });
    const app = await stack.startWorker();
    await stack.send(
      ...['q-1', 'q-2', 'q-3', 'q-4', 'q-5', 'q-6'].map((messageId) => ({
        messageId,
        body: challenge('web-1', 'busybox:1.36'),
      })),
    );

    await eventually('six pods, one at a time', () => stack!.pods().length === 6, 60_000);
    await eventually('all settled', async () => {
      const text = await app.metrics.registry.getSingleMetricAsString(
        'podbus_messages_settled_total',
      );
      return text.includes('outcome="created"} 6');
    });
    const settled = await app.metrics.registry.getSingleMetricAsString(
      'podbus_messages_settled_total',
    );
    expect(settled).not.toContain('outcome="abandoned"');
    expect(stack.logLines.filter((l) => l.includes('cluster circuit breaker open'))).toEqual([]);
    const retries = await app.metrics.registry.getSingleMetricAsString(
      'podbus_transient_retries_total',
    );
    expect(retries).toContain('kind="no-capacity"');
    expect(retries).not.toContain('kind="all-candidates-failed"');
  });

  it('dead-letters a pod a policy denies at once, with the rule in the server’s words', async () => {
    const denials: Record<string, object> = {
      'psa-1': status(
        403,
        'Forbidden',
        'pods "psa-1" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "web-1-01" must set securityContext.runAsNonRoot=true)',
        { name: 'psa-1', kind: 'pods' },
      ),
      'webhook-1': {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'admission webhook "audit.example.com" denied the request: caller presented Authorization: Bearer abcdefghijklmnopqrstuvwxyz',
        reason: 'Forbidden',
        code: 403,
      },
    };
    server = await startTestApiServer({
      handler: (req, res) => {
        if (req.method === 'POST') {
          const name = (JSON.parse(req.body) as { metadata: { name: string } }).metadata.name;
          return sendJson(res, 403, denials[name]);
        }
        if (req.url.includes('watch=true')) return res.writeHead(200).end();
        if (/\/pods\?/.test(req.url) || req.url.endsWith('/pods')) {
          return sendJson(res, 200, {
            kind: 'PodList',
            apiVersion: 'v1',
            metadata: { resourceVersion: '1' },
            items: [],
          });
        }
        return sendJson(res, 404, status(404, 'NotFound', 'pods "x" not found', { kind: 'pods' }));
      },
    });
    stack = await Stack.start({ clusters: [{ name: 'alpha' }] });
    const caFile = join(stack.dir, 'strict-ca.pem');
    await writeFile(caFile, server.caPem);
    await stack.rewriteConfig((config) => {
      config.clusters = [
        {
          name: 'strict',
          server: server!.url,
          token: 'strict-token',
          caFile,
          namespace: 'challenges',
        },
      ];
    });
    const app = await stack.startWorker();
    await stack.send(
      { messageId: 'psa-1', body: challenge('web-1', 'busybox:1.36') },
      { messageId: 'webhook-1', body: challenge('web-1', 'busybox:1.36') },
    );

    const letters = await eventually('two dead letters', async () => {
      const found = await stack!.deadLetters();
      return found.length === 2 && found;
    });
    const byId = Object.fromEntries(
      letters.map((m) => [
        m.messageId,
        [m.deadLetterReason, m.deadLetterErrorDescription, m.deliveryCount],
      ]),
    );
    expect(byId).toEqual({
      'psa-1': [
        'PodRejected',
        'cluster strict rejected the pod: 403 pods "psa-1" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "web-1-01" must set securityContext.runAsNonRoot=true)',
        0,
      ],
      'webhook-1': [
        'PodRejected',
        'cluster strict rejected the pod: 403 admission webhook "audit.example.com" denied the request: caller presented Authorization: Bearer [REDACTED]',
        0,
      ],
    });
    // One create each: no retry, no failover, the cluster still healthy.
    const creates = server.requests.filter(
      (r) => r.method === 'POST' && r.url.startsWith('/api/v1/namespaces/challenges/pods'),
    );
    expect(creates).toHaveLength(2);
    expect(app.pool.status()).toMatchObject([{ name: 'strict', breaker: 'closed' }]);
    expect(stack.sb.inspect(QUEUE)).toMatchObject({ active: 0, locked: 0 });
  });

  it('against the emulator’s own admission: Pod Security restricted and a LimitRange refuse at once', async () => {
    stack = await Stack.start({ clusters: [{ name: 'alpha' }, { name: 'beta' }] });
    const alpha = stack.k8s.cluster('alpha');
    const beta = stack.k8s.cluster('beta');
    const alphaApi = stack.adminApi('alpha');
    const namespace = await alphaApi.readNamespace({ name: alpha.namespace });
    namespace.metadata!.labels = {
      ...namespace.metadata!.labels,
      'pod-security.kubernetes.io/enforce': 'restricted',
    };
    await alphaApi.replaceNamespace({ name: alpha.namespace, body: namespace });
    await stack.adminApi('beta').createNamespacedLimitRange({
      namespace: beta.namespace,
      body: {
        metadata: { name: 'small' },
        spec: { limits: [{ type: 'Container', max: { cpu: '500m' } }] },
      },
    });
    const app = await stack.startWorker();
    await stack.send(
      { messageId: 'psa-2', body: { ...challenge('web-1', 'busybox:1.36'), cluster: 'alpha' } },
      { messageId: 'limits-2', body: { ...challenge('web-1', 'busybox:1.36'), cluster: 'beta' } },
    );

    const letters = await eventually('two dead letters', async () => {
      const found = await stack!.deadLetters();
      return found.length === 2 && found;
    });
    const byId = Object.fromEntries(
      letters.map((m) => [m.messageId, [m.deadLetterReason, m.deliveryCount]]),
    );
    expect(byId).toEqual({ 'psa-2': ['PodRejected', 0], 'limits-2': ['PodRejected', 0] });
    const description = (id: string) =>
      letters.find((m) => m.messageId === id)!.deadLetterErrorDescription;
    expect(description('psa-2')).toMatch(
      /^cluster alpha rejected the pod: 403 pods "psa-2" is forbidden: violates PodSecurity "restricted:latest": .*runAsNonRoot != true/,
    );
    expect(description('limits-2')).toBe(
      'cluster beta rejected the pod: 403 pods "limits-2" is forbidden: maximum cpu usage per Container is 500m, but limit is 1',
    );
    expect(stack.pods()).toEqual([]);
    expect(app.pool.status().map((c) => c.breaker)).toEqual(['closed', 'closed']);
  });
});
