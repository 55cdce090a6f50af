import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from '@jest/globals';

import { challenge, eventually, Stack } from './stack.js';

const README = new URL('../../../README.md', import.meta.url);

/** The metric names the README's metrics table promises. */
function readmeMetricNames(): string[] {
  const text = readFileSync(README, 'utf8');
  return [...text.matchAll(/^\| `(podbus_[a-z_]+)`/gm)].map((m) => m[1]!);
}

describe('worker: /readyz, /healthz and /metrics', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  async function get(port: number, path: string) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, text: await res.text() };
  }

  it('is ready while receiving, serves every metric the README lists, and reports open breakers', async () => {
    stack = await Stack.start();
    const app = await stack.startWorker({ 'http.enabled': true, 'http.port': 0 });
    const port = app.health!.port;

    expect((await get(port, '/healthz')).status).toBe(200);
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);

    await stack.send({ messageId: 'metrics-1', body: challenge('web-1', 'busybox:1.36') });
    await eventually('a pod', () => stack!.pods().length === 1);
    // The pod exists before the message is completed: wait for the settlement to be counted.
    const metrics = await eventually('the message settled', async () => {
      const text = (await get(port, '/metrics')).text;
      return text.includes('podbus_messages_settled_total{outcome="created"}') && text;
    });
    const names = readmeMetricNames();
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const name of names) expect(metrics).toContain(`# TYPE ${name} `);
    expect(metrics).toContain('podbus_messages_settled_total{outcome="created"} 1');
    expect(metrics).toMatch(
      /podbus_pod_create_duration_seconds_count\{cluster="(alpha|beta)",result="ok"\} 1/,
    );

    // Every cluster goes away: messages fail against them until the breakers open.
    for (const c of stack.k8s.clusters) await c.faults.set({ down: true });
    await stack.send(
      ...Array.from({ length: 4 }, (_, i) => ({
        messageId: `down-${i}`,
        body: challenge('web-1', 'busybox:1.36'),
      })),
    );
    const notReady = await eventually(
      'not ready',
      async () => {
        const r = await get(port, '/readyz');
        return r.status === 503 && r;
      },
      40_000,
    );
    expect(JSON.parse(notReady.text).failures).toContainEqual({
      name: 'clusters',
      reason: 'every cluster circuit breaker is open',
    });
    expect((await get(port, '/metrics')).text).toMatch(
      /podbus_cluster_healthy\{cluster="alpha"\} 0/,
    );
  });

  it('is not ready when the Service Bus receiver fails', async () => {
    stack = await Stack.start();
    const app = await stack.startWorker({ 'http.enabled': true, 'http.port': 0 });
    const port = app.health!.port;
    expect((await get(port, '/readyz')).status).toBe(200);

    await stack.sb.stop();
    const notReady = await eventually(
      'not ready',
      async () => {
        const r = await get(port, '/readyz');
        return r.status === 503 && r;
      },
      30_000,
    );
    expect(JSON.parse(notReady.text).failures).toEqual([
      expect.objectContaining({ name: 'servicebus' }),
    ]);

    // Stopping must not wait out the SDK's 60 s operation timeout on every close: each step is
    // bounded (5 s), so the worker stays inside its pod's termination grace period.
    const stopping = Date.now();
    await app.stop();
    expect(Date.now() - stopping).toBeLessThan(20_000);
    expect(stack.logLines.join('')).toMatch(
      /closing the (subscription|receiver|Service Bus client) timed out; going on/,
    );
  });
});
