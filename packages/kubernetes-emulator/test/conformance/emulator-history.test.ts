/**
 * Emulator-only: the pod creation history a soak harness reads once cleanup has deleted the
 * pods: every pod each cluster ever stored (name, namespace, uid, labels and annotations as
 * created, createdAt, deletedAt), in-process and over the admin endpoint, whatever deleted them
 * (a graceful delete, an immediate one, their namespace).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
  type PodHistoryEntry,
} from '../../src/index.js';
import { eventually, uniq, waitForPod } from './support/target.js';

const MESSAGE_ID = 'podbus.io/message-id';

let emulator: KubernetesEmulator;
let east: EmulatedCluster;
let west: EmulatedCluster;
let agent: Agent;

function core(c: EmulatedCluster, token: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: c.name,
      server: c.server,
      caData: Buffer.from(c.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: `${c.name}-${token.slice(0, 8)}`, token },
  );
  return kc.makeApiClient(CoreV1Api);
}

function pod(name: string, messageId: string): V1Pod {
  return {
    metadata: {
      name,
      labels: { 'app.kubernetes.io/managed-by': 'podbus' },
      annotations: { [MESSAGE_ID]: messageId },
    },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'busybox:sleep-infinity' }],
    },
  };
}

async function history(
  via: EmulatedCluster,
  path: string,
  token: string,
): Promise<{ status: number; body: { cluster?: string; pods?: PodHistoryEntry[] } }> {
  const res = await fetch(`${via.server}${path}`, {
    headers: { Authorization: `Bearer ${token}` },
    dispatcher: agent,
  });
  return { status: res.status, body: (await res.json()) as { pods?: PodHistoryEntry[] } };
}

beforeAll(async () => {
  const lifecycle = { scheduleMs: 10, startMs: 40, terminateMs: 50 };
  emulator = await startKubernetesEmulator({
    clusters: [
      { name: 'east', lifecycle },
      { name: 'west', lifecycle },
    ],
  });
  east = emulator.cluster('east');
  west = emulator.cluster('west');
  agent = new Agent({ connect: { ca: [east.caPem, west.caPem] } });
});
afterAll(async () => {
  await agent?.close();
  await emulator?.stop();
});

describe('pod creation history', () => {
  it('keeps every pod ever created, with its deletion, after cleanup deleted them', async () => {
    const eastPods = core(east, east.serviceAccountToken);
    const westPods = core(west, west.serviceAccountToken);
    const ns = east.namespace;
    const a = uniq('m1-a');
    const b = uniq('m2-b');
    const dup = uniq('m1-dup');
    await eastPods.createNamespacedPod({ namespace: ns, body: pod(a, 'm1') });
    await eastPods.createNamespacedPod({ namespace: ns, body: pod(b, 'm2') });
    await westPods.createNamespacedPod({ namespace: west.namespace, body: pod(dup, 'm1') });

    // Cleanup as podbus would do it: graceful for a running pod, immediate for another.
    await waitForPod(eastPods, ns, a, (p) => p.status?.phase === 'Running');
    await eastPods.deleteNamespacedPod({ name: a, namespace: ns });
    await eastPods.deleteNamespacedPod({ name: b, namespace: ns, gracePeriodSeconds: 0 });
    // And a namespace that goes with its pods.
    const admin = core(east, east.adminToken);
    const scratch = uniq('scratch');
    await admin.createNamespace({ body: { metadata: { name: scratch } } });
    await eventually(
      () => admin.readNamespacedServiceAccount({ name: 'default', namespace: scratch }),
      5_000,
    );
    await admin.createNamespacedPod({ namespace: scratch, body: pod('leftover', 'm3') });
    await admin.deleteNamespace({ name: scratch });
    await eventually(async () => {
      if (east.podHistory().some((e) => e.deletedAt === undefined))
        throw new Error('not all deleted yet');
    }, 10_000);

    const entries = east.podHistory();
    expect(entries.map((e) => e.name)).toEqual([a, b, 'leftover']);
    expect(east.listPods().map((p) => p.metadata.name)).toEqual([]);
    for (const e of entries) {
      expect(e.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(e.deletedAt!)).toBeGreaterThanOrEqual(Date.parse(e.createdAt));
      expect(e.labels).toEqual({ 'app.kubernetes.io/managed-by': 'podbus' });
    }
    expect(entries[0]).toMatchObject({ namespace: ns, annotations: { [MESSAGE_ID]: 'm1' } });
    expect(entries[2]).toMatchObject({ namespace: scratch, annotations: { [MESSAGE_ID]: 'm3' } });
    expect(east.podHistory(scratch).map((e) => e.name)).toEqual(['leftover']);

    // What a soak harness counts: pods created per message across clusters.
    const perMessage: Record<string, number> = {};
    for (const c of [east, west])
      for (const e of c.podHistory(c.namespace)) {
        const id = e.annotations[MESSAGE_ID] ?? '';
        perMessage[id] = (perMessage[id] ?? 0) + 1;
      }
    expect(perMessage).toEqual({ m1: 2, m2: 1 });
    const live = west.podHistory()[0]!;
    expect(live.name).toBe(dup);
    expect(live.deletedAt).toBeUndefined();
  });

  it('is served on the admin endpoint, on any cluster of the emulator, to the admin token', async () => {
    const own = await history(east, '/_emulator/history/pods', east.adminToken);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ cluster: 'east', pods: east.podHistory() });
    const filtered = await history(
      east,
      `/_emulator/history/pods?namespace=${east.namespace}`,
      east.adminToken,
    );
    expect(filtered.body.pods).toEqual(east.podHistory(east.namespace));
    const viaWest = await history(west, '/_emulator/clusters/east/history/pods', east.adminToken);
    expect(viaWest.body).toEqual(own.body);
    expect((await history(east, '/_emulator/history/pods', east.serviceAccountToken)).status).toBe(
      401,
    );
  });
});
