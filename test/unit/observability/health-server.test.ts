import { afterEach, describe, expect, it } from '@jest/globals';

import { startHealthServer, type HealthServer } from '../../../src/observability/health-server.js';
import { WorkerMetrics } from '../../../src/observability/metrics.js';

describe('health server', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function get(path: string): Promise<{ status: number; body: string; type: string }> {
    const res = await fetch(`http://127.0.0.1:${server!.port}${path}`);
    return {
      status: res.status,
      body: await res.text(),
      type: res.headers.get('content-type') ?? '',
    };
  }

  it('reports ready only when every readiness check passes, naming the failing ones', async () => {
    let receiverAttached = false;
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: new WorkerMetrics({ defaultMetrics: false }).registry,
      readiness: [
        {
          name: 'servicebus',
          check: () => (receiverAttached ? undefined : 'receiver not attached'),
        },
        { name: 'clusters', check: () => undefined },
      ],
    });

    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toEqual({
      status: 'not ready',
      failures: [{ name: 'servicebus', reason: 'receiver not attached' }],
    });

    receiverAttached = true;
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).status).toBe('ready');
  });

  it('scrubs secrets from the reasons /readyz gives', async () => {
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: new WorkerMetrics({ defaultMetrics: false }).registry,
      readiness: [
        {
          name: 'servicebus',
          check: () =>
            'Service Bus unreachable: Endpoint=sb://ns/;SharedAccessKeyName=root;SharedAccessKey=c2VjcmV0a2V5dmFsdWU=',
        },
        { name: 'clusters', check: () => 'a: 401 for Authorization: Bearer abcdefghijklmnop' },
      ],
    });
    const notReady = await get('/readyz');
    expect(JSON.parse(notReady.body)).toEqual({
      status: 'not ready',
      failures: [
        {
          name: 'servicebus',
          reason:
            'Service Bus unreachable: Endpoint=sb://ns/;SharedAccessKeyName=root;SharedAccessKey=[REDACTED]',
        },
        { name: 'clusters', reason: 'a: 401 for Authorization: Bearer [REDACTED]' },
      ],
    });
  });

  it('fails liveness when the event loop heartbeat is older than the allowed stall', async () => {
    let clock = 1_000_000;
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: new WorkerMetrics({ defaultMetrics: false }).registry,
      readiness: [],
      maxEventLoopStallMs: 5_000,
      heartbeatIntervalMs: 3_600_000, // the test moves the clock; the heartbeat must not race it
      now: () => clock,
    });
    expect((await get('/healthz')).status).toBe(200);

    clock += 6_000;
    const stalled = await get('/healthz');
    expect(stalled.status).toBe(503);
    expect(JSON.parse(stalled.body)).toEqual({ status: 'stalled', stalledMs: 6_000 });
  });

  it('serves Prometheus text with the podbus metrics', async () => {
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    metrics.messagesSettled.inc({ outcome: 'created' }, 3);
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: [],
    });
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    expect(res.body).toContain('podbus_messages_settled_total{outcome="created"} 3');
  });

  it('answers 404 with the known paths and 405 for non-GET methods', async () => {
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: new WorkerMetrics({ defaultMetrics: false }).registry,
      readiness: [],
    });
    const missing = await get('/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).paths).toEqual(['/healthz', '/readyz', '/metrics']);
    const post = await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
