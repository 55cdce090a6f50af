/**
 * ClusterPool against the Kubernetes API emulator (real client-node, real HTTPS): breaker
 * open/half-open/closed on a cluster that goes down and comes back, the cross-cluster duplicate
 * lookup, and the watch-backed active-pod count.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';

import type { BreakerStateChange } from '../../../src/clusters/circuit-breaker.js';
import { ClusterClient } from '../../../src/clusters/cluster-client.js';
import { ClusterPool } from '../../../src/clusters/cluster-pool.js';
import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '@podbus/kubernetes-emulator';
import { entryFor, eventually, testPod } from './support/entries.js';

let emu: KubernetesEmulator;
let alpha: EmulatedCluster;
let beta: EmulatedCluster;
let pool: ClusterPool | undefined;
let other: ClusterClient | undefined;

beforeAll(async () => {
  emu = await startKubernetesEmulator({
    clusters: [
      { name: 'alpha', lifecycle: { runMs: 600_000 } },
      { name: 'beta', lifecycle: { runMs: 600_000 } },
    ],
    seed: 2,
  });
  alpha = emu.cluster('alpha');
  beta = emu.cluster('beta');
});

afterAll(async () => {
  await emu?.stop();
});

afterEach(async () => {
  await pool?.close();
  await other?.close();
  pool = undefined;
  other = undefined;
  await alpha.faults.clear();
  await beta.faults.clear();
});

const fastClient = {
  requestTimeoutMs: 2000,
  retry: { maxAttempts: 2, backoff: { baseMs: 10, maxMs: 50, jitter: 'full' as const } },
};

describe('circuit breaker', () => {
  test('cluster down -> breaker opens -> after recovery a half-open probe closes it', async () => {
    let now = 0;
    const changes: BreakerStateChange[] = [];
    pool = new ClusterPool({
      entries: [entryFor(alpha), entryFor(beta)],
      strategy: 'round-robin',
      breaker: { failureThreshold: 2, openMs: 10_000 },
      client: fastClient,
      now: () => now,
    });
    pool.events.on('breakerStateChanged', (c) => changes.push(c));
    const a = pool.client('alpha')!;
    await alpha.faults.set({ down: true });
    await expect(a.getPod('p')).rejects.toMatchObject({ kind: 'connection' });
    await expect(a.getPod('p')).rejects.toMatchObject({ kind: 'connection' });
    expect(pool.status().find((s) => s.name === 'alpha')?.breaker).toBe('open');
    await expect(a.getPod('p')).rejects.toMatchObject({ kind: 'circuit-open' });
    expect(pool.candidates('m').candidates).toEqual(['beta']);

    await alpha.faults.clear();
    now += 10_000;
    expect([...pool.candidates('m').candidates].sort()).toEqual(['alpha', 'beta']);
    await expect(a.getPod('p')).resolves.toBeUndefined(); // the probe
    expect(pool.status().find((s) => s.name === 'alpha')?.breaker).toBe('closed');
    expect(changes.map((c) => `${c.cluster}:${c.to}`)).toEqual([
      'alpha:open',
      'alpha:half-open',
      'alpha:closed',
    ]);
  });
});

describe('active pods (watch-backed)', () => {
  test('the count follows pods created and deleted by another client; capacity and waiting', async () => {
    pool = new ClusterPool({
      entries: [entryFor(alpha, { maxActivePods: 3 })],
      strategy: 'least-loaded',
      client: fastClient,
    });
    pool.start();
    await eventually(() => pool!.status()[0]!.synced, 'first list');
    const base = pool.status()[0]!.activePods;
    expect(base).toBeLessThan(3);

    other = new ClusterClient({ entry: entryFor(alpha), ...fastClient });
    const pods = [testPod('other'), testPod('other'), testPod('other')].slice(0, 3 - base);
    for (const p of pods) await other.createPod(p);
    await eventually(() => pool!.status()[0]!.activePods === 3, 'count to reach 3');
    expect(pool.hasCapacity()).toBe(false);
    expect(pool.candidates('m').skipped).toEqual([{ name: 'alpha', reason: 'full' }]);

    const waiting = pool.waitForCapacity(AbortSignal.timeout(10_000));
    await other.deletePod(pods[0]!.metadata!.name!);
    await waiting;
    await eventually(() => pool!.status()[0]!.activePods === 2, 'count back to 2');

    // A pod finishing (terminal phase) frees its slot too.
    alpha.setPodPhase(alpha.namespace, pods[1]!.metadata!.name!, 'Succeeded');
    await eventually(() => pool!.status()[0]!.activePods === 1, 'count after Succeeded');
  });

  test('a create through the pool counts at once, before the watch reports it', async () => {
    pool = new ClusterPool({
      entries: [entryFor(beta, { maxActivePods: 100 })],
      strategy: 'hash',
      client: fastClient,
    });
    pool.start();
    await eventually(() => pool!.status()[0]!.synced, 'first list');
    const before = pool.status()[0]!.activePods;
    await pool.client('beta')!.createPod(testPod('mine'));
    expect(pool.status()[0]!.activePods).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(pool.status()[0]!.activePods).toBe(before + 1); // the watch event did not add another
  });

  test('an expired resourceVersion (ERROR 410 on resume) makes the tracker relist', async () => {
    const small = await startKubernetesEmulator({
      clusters: [{ name: 'gamma', lifecycle: { runMs: 600_000 } }],
      watch: { historySize: 2 },
      seed: 3,
    });
    const infos: string[] = [];
    const warnings: string[] = [];
    const logger = {
      debug: () => undefined,
      info: (_o: object, msg: string) => infos.push(msg),
      warn: (_o: object, msg: string) => warnings.push(msg),
      error: () => undefined,
    };
    const gamma = small.cluster('gamma');
    const p = new ClusterPool({
      entries: [entryFor(gamma)],
      strategy: 'hash',
      client: fastClient,
      logger,
      tracker: { backoff: { baseMs: 20, maxMs: 100, jitter: 'equal' } },
    });
    try {
      // Pods created by another client, so only the list and the watch can count them.
      const c = new ClusterClient({ entry: entryFor(gamma), ...fastClient });
      const pods = [testPod('h'), testPod('h'), testPod('h')];
      for (const pod of pods) await c.createPod(pod);
      p.start();
      await eventually(() => p.status()[0]!.synced, 'first list');
      const last = testPod('h');
      await c.createPod(last); // seen through the watch: it is live
      pods.push(last);
      await eventually(() => p.status()[0]!.activePods === 4, 'watch to be live');
      await c.close();
      // Cut the watch, then let more than historySize events happen while it is down.
      await gamma.faults.set({ down: true });
      await eventually(() => warnings.includes('pod watch failed'), 'the watch to notice');
      for (const pod of pods.slice(0, 3)) {
        gamma.setPodPhase(gamma.namespace, pod.metadata!.name!, 'Succeeded');
      }
      await gamma.faults.clear();
      await eventually(() => p.status()[0]!.activePods === 1, 'count after relist');
      expect(infos).toContain('pod watch: relisting');
    } finally {
      await p.close();
      await small.stop();
    }
  });

  test('the watch survives the cluster going down and coming back', async () => {
    pool = new ClusterPool({
      entries: [entryFor(alpha)],
      strategy: 'hash',
      client: fastClient,
      tracker: { backoff: { baseMs: 50, maxMs: 200, jitter: 'equal' } },
    });
    pool.start();
    await eventually(() => pool!.status()[0]!.synced, 'first list');
    const before = pool.status()[0]!.activePods;
    await alpha.faults.set({ down: true });
    await new Promise((r) => setTimeout(r, 300));
    await alpha.faults.clear();
    other = new ClusterClient({ entry: entryFor(alpha), ...fastClient });
    await other.createPod(testPod('after-outage'));
    await eventually(() => pool!.status()[0]!.activePods === before + 1, 'count after reconnect');
  });
});
