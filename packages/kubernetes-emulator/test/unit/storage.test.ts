import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, fetch } from 'undici';

import { DeltaDictionary, detach } from '../../src/delta-codec.js';
import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../src/index.js';
import { Collection, Compactor, StoredObject } from '../../src/store.js';

const sample = (name: string, phase = 'Pending'): string =>
  JSON.stringify({
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: name } },
    spec: {
      containers: [{ name: 'c', image: 'busybox', terminationMessagePath: '/dev/termination-log' }],
    },
    status: { phase, qosClass: 'BestEffort' },
  });

describe('delta codec', () => {
  it('round-trips and shrinks objects similar to the dictionary', () => {
    const dict = new DeltaDictionary(sample('template-1') + sample('template-2', 'Running'));
    for (const body of [sample('pod-123'), sample('other', 'Running'), sample('x', 'Succeeded')]) {
      const packed = dict.encode(body);
      expect(packed).toBeDefined();
      expect(packed!.length).toBeLessThan(body.length * 0.5);
      expect(dict.decode(packed!)).toBe(body);
    }
  });

  it('keeps non-ASCII literals intact and refuses inputs it cannot shrink', () => {
    const dict = new DeltaDictionary(sample('template'));
    const body = sample('é-ünïcode-✓');
    expect(dict.decode(dict.encode(body)!)).toBe(body);
    expect(dict.encode(JSON.stringify({ totally: 'different', x: [1, 2, 3] }))).toBeUndefined();
  });

  it('detach copies without changing content', () => {
    const big = 'x'.repeat(1000) + 'tail';
    expect(detach(big.slice(500))).toBe(big.slice(500));
  });
});

describe('compactor', () => {
  it('compresses versions once they are cold and the cluster is big enough', () => {
    const c = new Collection('Pod', 'v1', 10);
    let count = 0;
    const compactor = new Compactor({ coldAfterMs: 100, minObjects: 5, budgetMs: 50 }, () => count);
    const objs = Array.from(
      { length: 40 },
      (_, i) => new StoredObject('ns', `p${i}`, `u${i}`, i, undefined, {}, sample(`p${i}`)),
    );
    for (const o of objs) compactor.written(o, c);
    count = 1;
    compactor.sweep(Date.now() + 1000);
    expect(objs.some((o) => o.compressed)).toBe(false); // below minObjects: passed over
    const more = Array.from(
      { length: 40 },
      (_, i) => new StoredObject('ns', `q${i}`, `v${i}`, i, undefined, {}, sample(`q${i}`)),
    );
    for (const o of more) compactor.written(o, c);
    count = 100;
    compactor.sweep(Date.now() + 50); // not cold yet
    expect(more.some((o) => o.compressed)).toBe(false);
    compactor.sweep(Date.now() + 1000);
    const compressed = more.filter((o) => o.compressed);
    expect(compressed).toHaveLength(40);
    for (const o of more) expect(JSON.parse(o.body).metadata.name).toBe(o.name);
    expect(compactor.backlog).toBe(0);
    compactor.stop();
  });
});

describe('compressed objects through the API', () => {
  let emulator: KubernetesEmulator;
  let c: EmulatedCluster;
  let agent: Agent;
  beforeAll(async () => {
    emulator = await startKubernetesEmulator({
      clusters: [{ name: 'tiny', nodeCapacityPods: 1 }],
      storage: { compressAfterMs: 0, compressAboveObjects: 0 },
    });
    c = emulator.cluster('tiny');
    agent = new Agent({ connect: { ca: c.caPem } });
  });
  afterAll(async () => {
    await agent.close();
    await emulator.stop();
  });

  it('serves GET, list and watch replay of cold (compressed) pods unchanged', async () => {
    const call = (path: string, init: { method?: string; body?: string } = {}) =>
      fetch(`${c.server}${path}`, {
        method: init.method ?? 'GET',
        body: init.body,
        headers: { Authorization: `Bearer ${c.adminToken}`, 'Content-Type': 'application/json' },
        dispatcher: agent,
      });
    const startRv = (
      (await (await call(`/api/v1/namespaces/${c.namespace}/pods`)).json()) as {
        metadata: { resourceVersion: string };
      }
    ).metadata.resourceVersion;
    const created: Record<string, unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await call(`/api/v1/namespaces/${c.namespace}/pods`, {
        method: 'POST',
        body: JSON.stringify({
          metadata: { name: `cold-${i}`, labels: { i: String(i) } },
          spec: { containers: [{ name: 'c', image: 'busybox:sleep-infinity' }] },
        }),
      });
      created.push((await r.json()) as Record<string, unknown>);
    }
    // Let the compactor (100 ms ticks) go over everything.
    await new Promise((r) => setTimeout(r, 600));
    expect(c.stats.compactionBacklog).toBeLessThan(10);
    const got = (await (await call(`/api/v1/namespaces/${c.namespace}/pods/cold-7`)).json()) as {
      metadata: { labels: Record<string, string> };
    };
    expect(got.metadata.labels).toEqual({ i: '7' });
    const list = (await (
      await call(`/api/v1/namespaces/${c.namespace}/pods?labelSelector=i%3D42`)
    ).json()) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((p) => p.metadata.name)).toEqual(['cold-42']);
    const watch = await call(
      `/api/v1/namespaces/${c.namespace}/pods?watch=1&resourceVersion=${startRv}&timeoutSeconds=1`,
    );
    const lines = (await watch.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    const added = lines.filter((l) => l.type === 'ADDED').map((l) => l.object.metadata.name);
    expect(added).toHaveLength(50);
    expect(added[0]).toBe('cold-0');
  });
});
