/**
 * Emulator-only: how the simulated kubelet and scheduler record events (the parts a real cluster
 * does too, but with timings a test cannot wait for there): the image cache (IfNotPresent pulls
 * once per node, Always every time), repeats folded into `count` as client-go's correlator does,
 * crash-loop BackOff, the event TTL (DELETED when it ends), and clusters that record none.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  KubeConfig,
  Watch,
  type CoreV1Event,
  type V1Pod,
} from '@kubernetes/client-node';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../src/index.js';
import { eventually, uniq } from './support/target.js';

let emulator: KubernetesEmulator;

function clients(c: EmulatedCluster): { kc: KubeConfig; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: c.name,
      server: c.server,
      caData: Buffer.from(c.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: `admin-${c.name}`, token: c.adminToken },
  );
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

const lifecycle = { scheduleMs: 10, startMs: 40, runMs: 200, terminateMs: 50 };

beforeAll(async () => {
  emulator = await startKubernetesEmulator({
    clusters: [
      { name: 'events', lifecycle },
      { name: 'short-ttl', lifecycle, events: { ttlSeconds: 1 } },
      { name: 'silent', lifecycle, events: { record: false } },
    ],
  });
});
afterAll(async () => {
  await emulator?.stop();
});

function pod(name: string, image: string, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }], ...extra },
  };
}

async function eventsOf(core: CoreV1Api, namespace: string, name: string): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name},involvedObject.kind=Pod`,
  });
  return list.items;
}

async function waitFor(
  core: CoreV1Api,
  namespace: string,
  name: string,
  ok: (events: CoreV1Event[]) => boolean,
): Promise<CoreV1Event[]> {
  return eventually(async () => {
    const events = await eventsOf(core, namespace, name);
    if (!ok(events)) throw new Error(`events so far: ${events.map((e) => e.reason).join(',')}`);
    return events;
  }, 10_000);
}

const has = (reason: string) => (events: CoreV1Event[]) => events.some((e) => e.reason === reason);

describe('the node image cache', () => {
  it('IfNotPresent pulls an image once per node; Always pulls it every time', async () => {
    const c = emulator.cluster('events');
    const { core } = clients(c);
    const ns = c.namespace;
    const image = `registry.example/cached:${uniq('v')}`;
    const first = uniq('first');
    await core.createNamespacedPod({ namespace: ns, body: pod(first, image) });
    const firstEvents = await waitFor(core, ns, first, has('Started'));
    expect(firstEvents.map((e) => e.reason)).toContain('Pulling');
    const second = uniq('second');
    await core.createNamespacedPod({ namespace: ns, body: pod(second, image) });
    const secondEvents = await waitFor(core, ns, second, has('Started'));
    expect(secondEvents.map((e) => e.reason)).not.toContain('Pulling');
    expect(secondEvents.find((e) => e.reason === 'Pulled')!.message).toBe(
      `Container image "${image}" already present on machine`,
    );
    const always = uniq('always');
    const body = pod(always, image);
    body.spec!.containers[0]!.imagePullPolicy = 'Always';
    await core.createNamespacedPod({ namespace: ns, body });
    const alwaysEvents = await waitFor(core, ns, always, has('Started'));
    expect(alwaysEvents.map((e) => e.reason)).toContain('Pulling');
  });
});

describe('repeated events', () => {
  it('a repeat of the same kubelet event bumps count and lastTimestamp of one event (MODIFIED)', async () => {
    const c = emulator.cluster('events');
    const { core } = clients(c);
    const name = uniq('backoff');
    await core.createNamespacedPod({
      namespace: c.namespace,
      body: pod(name, 'unreachable.example/nothing:1'),
    });
    const events = await waitFor(core, c.namespace, name, (list) =>
      list.some((e) => e.message === 'Error: ErrImagePull' && (e.count ?? 0) >= 2),
    );
    const errors = events.filter((e) => e.message === 'Error: ErrImagePull');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.firstTimestamp).toBeInstanceOf(Date);
    expect(errors[0]!.lastTimestamp!.getTime()).toBeGreaterThanOrEqual(
      errors[0]!.firstTimestamp!.getTime(),
    );
  });

  it('a crash-looping container gets BackOff and, on each restart, Pulled/Created/Started again', async () => {
    const c = emulator.cluster('events');
    const { core } = clients(c);
    const name = uniq('crashloop');
    await core.createNamespacedPod({
      namespace: c.namespace,
      body: pod(name, 'registry.example/app:exit-1', { restartPolicy: 'Always' }),
    });
    const events = await waitFor(core, c.namespace, name, (list) =>
      list.some((e) => e.reason === 'Started' && (e.count ?? 0) >= 2),
    );
    const uid = (await core.readNamespacedPod({ name, namespace: c.namespace })).metadata!.uid;
    expect(events.find((e) => e.reason === 'BackOff')).toMatchObject({
      type: 'Warning',
      message: `Back-off restarting failed container main in pod ${name}_${c.namespace}(${uid})`,
    });
    await core.deleteNamespacedPod({ name, namespace: c.namespace, gracePeriodSeconds: 0 });
  });
});

describe('event TTL', () => {
  it('an event is DELETED ttlSeconds after its last write', async () => {
    const c = emulator.cluster('short-ttl');
    const { core, kc } = clients(c);
    const name = uniq('expires');
    const list = await core.listNamespacedEvent({ namespace: c.namespace });
    const seen: string[] = [];
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${c.namespace}/events`,
      {
        resourceVersion: list.metadata!.resourceVersion,
        fieldSelector: `involvedObject.name=${name}`,
      },
      (type, e: CoreV1Event) => seen.push(`${type}:${e.reason}`),
      () => undefined,
    );
    try {
      await core.createNamespacedPod({ namespace: c.namespace, body: pod(name, 'busybox') });
      await eventually(async () => {
        if (!seen.includes('DELETED:Scheduled')) throw new Error(`so far: ${seen.join(',')}`);
      }, 15_000);
    } finally {
      controller.abort();
    }
    expect(seen.indexOf('ADDED:Scheduled')).toBeLessThan(seen.indexOf('DELETED:Scheduled'));
  });
});

describe('events: { record: false }', () => {
  it('records no events; the pods run as usual', async () => {
    const c = emulator.cluster('silent');
    const { core } = clients(c);
    const name = uniq('quiet');
    await core.createNamespacedPod({ namespace: c.namespace, body: pod(name, 'busybox') });
    await eventually(async () => {
      const p = await core.readNamespacedPod({ name, namespace: c.namespace });
      if (p.status?.phase !== 'Succeeded') throw new Error('not done yet');
    }, 10_000);
    expect(await eventsOf(core, c.namespace, name)).toEqual([]);
  });
});
