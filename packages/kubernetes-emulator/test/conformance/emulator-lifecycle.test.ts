/**
 * Emulator-only: simulated node capacity, the image outcome conventions, restarts, graceful
 * deletion as watches see it (with the simulated kubelet's own steps), repeated deletes,
 * bookmarks, the state-inspection helpers and connection reuse with a
 * shared keep-alive dispatcher.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  KubeConfig,
  Observable,
  Watch,
  type ConfigurationOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { Agent } from 'undici';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../src/index.js';
import { eventually, uniq, waitForPod } from './support/target.js';

let emulator: KubernetesEmulator;
let c: EmulatedCluster;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  emulator = await startKubernetesEmulator({
    clusters: [
      {
        name: 'small',
        nodeCapacityPods: 2,
        lifecycle: { scheduleMs: 10, startMs: 40, runMs: 300, terminateMs: 150 },
      },
      // Containers that take 3 s to stop: graceful deletes stay pending long enough to meet.
      { name: 'slow-stop', lifecycle: { scheduleMs: 10, startMs: 40, terminateMs: 3_000 } },
    ],
    watch: { bookmarkIntervalMs: 200 },
  });
  c = emulator.cluster('small');
  kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: 'small',
      server: c.server,
      caData: Buffer.from(c.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: 'sa', token: c.serviceAccountToken },
  );
  core = kc.makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await emulator?.stop();
});

function podWith(
  name: string,
  image: string,
  extra: Partial<V1Pod['spec']> = {},
  env: Record<string, string> = {},
): V1Pod {
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      containers: [
        { name: 'main', image, env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) },
      ],
      ...extra,
    },
  };
}

async function create(pod: V1Pod): Promise<string> {
  const created = await core.createNamespacedPod({ namespace: c.namespace, body: pod });
  return created.metadata!.name!;
}

const ns = (): string => c.namespace;

describe('node capacity', () => {
  it('keeps pods beyond capacity Pending/Unschedulable and schedules them when a slot frees', async () => {
    const a = await create(podWith(uniq('cap-a'), 'busybox:sleep-infinity'));
    const b = await create(podWith(uniq('cap-b'), 'busybox:sleep-infinity'));
    await waitForPod(core, ns(), a, (p) => p.status?.phase === 'Running');
    await waitForPod(core, ns(), b, (p) => p.status?.phase === 'Running');
    const third = await create(podWith(uniq('cap-c'), 'busybox'));
    const waiting = await waitForPod(core, ns(), third, (p) =>
      (p.status?.conditions ?? []).some(
        (x) => x.type === 'PodScheduled' && x.reason === 'Unschedulable',
      ),
    );
    const cond = waiting.status!.conditions!.find((x) => x.type === 'PodScheduled')!;
    expect(cond.status).toBe('False');
    expect(cond.message).toContain('Too many pods');
    expect(waiting.spec!.nodeName).toBeUndefined();
    await core.deleteNamespacedPod({ name: a, namespace: ns(), gracePeriodSeconds: 0 });
    const done = await waitForPod(core, ns(), third, (p) => p.status?.phase === 'Succeeded');
    expect(done.spec!.nodeName).toBe('small-control-plane');
    await core.deleteNamespacedPod({ name: b, namespace: ns(), gracePeriodSeconds: 0 });
  });
});

describe('image outcome conventions', () => {
  it('exit-<N> in the image reference fails the pod with exit code N', async () => {
    const name = await create(podWith(uniq('exit'), 'registry.example/app:exit-7'));
    const pod = await waitForPod(core, ns(), name, (p) => p.status?.phase === 'Failed');
    expect(pod.status!.containerStatuses![0]!.state!.terminated).toMatchObject({
      exitCode: 7,
      reason: 'Error',
    });
  });

  it('oomkilled in the image reference ends with exit 137, reason OOMKilled', async () => {
    const name = await create(podWith(uniq('oom'), 'example/oomkilled:1'));
    const pod = await waitForPod(core, ns(), name, (p) => p.status?.phase === 'Failed');
    expect(pod.status!.containerStatuses![0]!.state!.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });
  });

  it('env PODBUS_EMULATOR_RUN_MS sets the run time; multi-container pods finish with their last container', async () => {
    const name = uniq('multi');
    await create({
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'fast',
            image: 'busybox',
            env: [{ name: 'PODBUS_EMULATOR_RUN_MS', value: '50' }],
          },
          {
            name: 'slow',
            image: 'busybox',
            env: [
              { name: 'PODBUS_EMULATOR_RUN_MS', value: '600' },
              { name: 'PODBUS_EMULATOR_EXIT_CODE', value: '2' },
            ],
          },
        ],
      },
    });
    const mid = await waitForPod(core, ns(), name, (p) =>
      (p.status?.containerStatuses ?? []).some((s) => s.name === 'fast' && s.state?.terminated),
    );
    expect(mid.status!.phase).toBe('Running');
    const pod = await waitForPod(core, ns(), name, (p) => p.status?.phase === 'Failed');
    const byName = Object.fromEntries(
      pod.status!.containerStatuses!.map((s) => [s.name, s.state!.terminated!.exitCode]),
    );
    expect(byName).toEqual({ fast: 0, slow: 2 });
  });

  it('restartPolicy Always restarts an exiting container and the pod stays Running', async () => {
    const name = await create(
      podWith(uniq('always'), 'busybox:exit-1', { restartPolicy: 'Always' }),
    );
    const pod = await waitForPod(
      core,
      ns(),
      name,
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      10_000,
    );
    expect(pod.status!.phase).toBe('Running');
    expect(pod.status!.containerStatuses![0]!.lastState!.terminated!.exitCode).toBe(1);
    await core.deleteNamespacedPod({ name, namespace: ns(), gracePeriodSeconds: 0 });
  });
});

describe('graceful deletion', () => {
  it('a running pod: marked (grace 30), stopped by the kubelet (Failed, exit 143), deleted with grace 0', async () => {
    const name = await create(podWith(uniq('graceful'), 'busybox:sleep-infinity'));
    const running = await waitForPod(core, ns(), name, (p) => p.status?.phase === 'Running');
    const seen: string[] = [];
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns()}/pods`,
      {
        resourceVersion: running.metadata!.resourceVersion,
        fieldSelector: `metadata.name=${name}`,
      },
      (type, obj: V1Pod) => {
        const meta = obj.metadata!;
        const exit = obj.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
        seen.push(
          `${type} grace=${meta.deletionGracePeriodSeconds} ${obj.status?.phase}${exit === undefined ? '' : ` exit=${exit}`}`,
        );
      },
      () => undefined,
    );
    try {
      const deleted = await core.deleteNamespacedPod({ name, namespace: ns() });
      expect(deleted.metadata!.deletionTimestamp).toBeInstanceOf(Date);
      expect(deleted.metadata!.deletionGracePeriodSeconds).toBe(30);
      await eventually(async () => {
        if (!seen.some((e) => e.startsWith('DELETED'))) throw new Error(seen.join(', '));
      }, 5_000);
    } finally {
      controller.abort();
    }
    expect(seen).toEqual([
      'MODIFIED grace=30 Running',
      'MODIFIED grace=30 Failed exit=143',
      'MODIFIED grace=0 Failed exit=143',
      'DELETED grace=0 Failed exit=143',
    ]);
  });
});

describe('a pod already being deleted', () => {
  let slow: CoreV1Api;
  let slowNs: string;
  const kc2 = new KubeConfig();
  beforeAll(() => {
    const s2 = emulator.cluster('slow-stop');
    kc2.loadFromClusterAndUser(
      {
        name: s2.name,
        server: s2.server,
        caData: Buffer.from(s2.caPem).toString('base64'),
        skipTLSVerify: false,
      },
      { name: 'slow-admin', token: s2.adminToken },
    );
    slow = kc2.makeApiClient(CoreV1Api);
    slowNs = s2.namespace;
  });

  async function running(prefix: string): Promise<string> {
    const name = uniq(prefix);
    await slow.createNamespacedPod({
      namespace: slowNs,
      body: podWith(name, 'busybox:sleep-infinity'),
    });
    await waitForPod(slow, slowNs, name, (p) => p.status?.phase === 'Running');
    return name;
  }

  it('keeps its deadline for a longer grace period, moves it for a shorter one, goes for 0', async () => {
    const name = await running('again');
    const first = await slow.deleteNamespacedPod({
      name,
      namespace: slowNs,
      gracePeriodSeconds: 30,
    });
    const deadline = first.metadata!.deletionTimestamp!.getTime();
    const longer = await slow.deleteNamespacedPod({
      name,
      namespace: slowNs,
      gracePeriodSeconds: 60,
    });
    expect(longer.metadata!.resourceVersion).toBe(first.metadata!.resourceVersion);
    expect(longer.metadata!.deletionGracePeriodSeconds).toBe(30);
    const shorter = await slow.deleteNamespacedPod({
      name,
      namespace: slowNs,
      gracePeriodSeconds: 10,
    });
    expect(shorter.metadata!.deletionGracePeriodSeconds).toBe(10);
    expect(shorter.metadata!.deletionTimestamp!.getTime()).toBe(deadline - 20_000);
    const now = await slow.deleteNamespacedPod({ name, namespace: slowNs, gracePeriodSeconds: 0 });
    expect(now.metadata!.deletionGracePeriodSeconds).toBe(0);
    await expect(slow.readNamespacedPod({ name, namespace: slowNs })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('containers the grace period cut short end with exit 137', async () => {
    const name = await running('cut');
    const before = await slow.readNamespacedPod({ name, namespace: slowNs });
    const exits: (number | undefined)[] = [];
    const controller = await new Watch(kc2).watch(
      `/api/v1/namespaces/${slowNs}/pods`,
      { resourceVersion: before.metadata!.resourceVersion, fieldSelector: `metadata.name=${name}` },
      (type, obj: V1Pod) =>
        exits.push(obj.status?.containerStatuses?.[0]?.state?.terminated?.exitCode),
      () => undefined,
    );
    try {
      // 1 s of grace against 3 s to stop: SIGKILL.
      await slow.deleteNamespacedPod({ name, namespace: slowNs, gracePeriodSeconds: 1 });
      await eventually(async () => {
        if (!exits.includes(137)) throw new Error(`exits so far: ${exits.join(',')}`);
      }, 5_000);
    } finally {
      controller.abort();
    }
  });
});

describe('bookmarks', () => {
  it('sends BOOKMARK events carrying only kind, apiVersion and metadata.resourceVersion', async () => {
    const bookmarks: unknown[] = [];
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns()}/pods`,
      { allowWatchBookmarks: true, resourceVersion: '0' },
      (type, obj) => {
        if (type === 'BOOKMARK') bookmarks.push(obj);
      },
      () => undefined,
    );
    try {
      await eventually(async () => {
        if (bookmarks.length === 0) throw new Error('no bookmark yet');
      }, 3_000);
    } finally {
      controller.abort();
    }
    expect(bookmarks[0]).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    });
  });
});

describe('state inspection helpers', () => {
  it('listPods/getPod show stored pods and setPodPhase forces a terminal phase', async () => {
    const name = await create(podWith(uniq('forced'), 'busybox:sleep-infinity'));
    expect(c.listPods(ns()).map((p) => p.metadata.name)).toContain(name);
    c.setPodPhase(ns(), name, 'Failed', {
      exitCode: 9,
      reason: 'Evicted',
      message: 'forced by test',
    });
    const pod = c.getPod(ns(), name)!;
    expect(pod.status.phase).toBe('Failed');
    expect(pod.status.reason).toBe('Evicted');
    const read = await core.readNamespacedPod({ name, namespace: ns() });
    expect(read.status!.containerStatuses![0]!.state!.terminated!.exitCode).toBe(9);
  });
});

describe('keep-alive', () => {
  it('a shared undici Agent injected through middleware reuses connections', async () => {
    const agent = new Agent({ connect: { ca: c.caPem } });
    const opts = {
      middlewareMergeStrategy: 'append',
      middleware: [
        {
          pre: (ctx: { setDispatcher: (d: unknown) => void }) => {
            ctx.setDispatcher(agent);
            return new Observable(Promise.resolve(ctx));
          },
          post: (r: unknown) => new Observable(Promise.resolve(r)),
        },
      ],
    } as unknown as ConfigurationOptions;
    try {
      const before = c.stats.connections;
      for (let i = 0; i < 10; i++)
        await core.listNamespacedPod({ namespace: ns(), limit: 1 }, opts);
      expect(c.stats.connections - before).toBeLessThanOrEqual(2);
    } finally {
      await agent.close();
    }
  });
});
