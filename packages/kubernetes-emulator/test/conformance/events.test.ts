/**
 * core/v1 Events about pods, as the scheduler and the kubelet record them and as `podbus status`,
 * `kubectl describe pod` and `kubectl get events` read them: listed and watched with
 * `fieldSelector=involvedObject.name=<pod>,involvedObject.kind=Pod` by the podbus service
 * account (its Role has events list/watch). Scheduled, Pulling/Pulled, Created, Started; the
 * image pull failure pair Failed/BackOff; InspectFailed for an invalid image name;
 * FailedScheduling; Killing. The pods are busybox pods
 * (see lifecycle-quota.test.ts); texts are the kubelet's and scheduler's, 1.32.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Watch, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';

import {
  busyboxPod,
  eventually,
  ON_EMULATOR,
  openTarget,
  uniq,
  waitForPod,
  type Target,
} from './support/target.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget('events');
});
afterAll(async () => {
  await t?.close();
});

const WAIT = ON_EMULATOR ? 10_000 : 180_000;

interface Seen {
  type: string;
  reason: string;
  message: string;
  from: string;
  fieldPath?: string;
}

function seen(e: CoreV1Event): Seen {
  return {
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: e.message ?? '',
    from: e.source?.component || e.reportingComponent || '',
    fieldPath: e.involvedObject.fieldPath,
  };
}

/** The pod's events in the order the server lists them, as the podbus service account reads them. */
async function eventsOf(pod: string): Promise<Seen[]> {
  const list = await t.sa.core.listNamespacedEvent({
    namespace: t.namespace,
    fieldSelector: `involvedObject.name=${pod},involvedObject.kind=Pod`,
  });
  return list.items.map(seen);
}

/** Waits until the pod has an event with `reason` (and, if given, `message`); returns all. */
async function waitForEvent(pod: string, reason: string, message?: string): Promise<Seen[]> {
  return eventually(
    async () => {
      const events = await eventsOf(pod);
      if (
        !events.some((e) => e.reason === reason && (message === undefined || e.message === message))
      )
        throw new Error(`no ${reason} event yet: ${JSON.stringify(events)}`);
      return events;
    },
    WAIT,
    ON_EMULATOR ? 30 : 500,
  );
}

describe('a pod that runs', () => {
  it('gets Scheduled from the scheduler, then Pulled, Created and Started from the kubelet', async () => {
    const name = uniq('runs');
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: busyboxPod(name) });
    const events = await waitForEvent(name, 'Started');
    const pod = await t.sa.core.readNamespacedPod({ name, namespace: t.namespace });
    const scheduled = events.find((e) => e.reason === 'Scheduled');
    expect(scheduled).toEqual({
      type: 'Normal',
      reason: 'Scheduled',
      message: `Successfully assigned ${t.namespace}/${name} to ${pod.spec!.nodeName}`,
      from: 'default-scheduler',
      fieldPath: undefined,
    });
    const kubelet = events.filter((e) => e.from === 'kubelet');
    for (const e of kubelet)
      expect(e).toMatchObject({ type: 'Normal', fieldPath: 'spec.containers{main}' });
    const reasons = kubelet.map((e) => e.reason);
    expect(reasons.indexOf('Pulled')).toBeLessThan(reasons.indexOf('Created'));
    expect(reasons.indexOf('Created')).toBeLessThan(reasons.indexOf('Started'));
    const pulled = kubelet.find((e) => e.reason === 'Pulled')!.message;
    expect(
      pulled === 'Container image "busybox:1.36" already present on machine' ||
        pulled.startsWith('Successfully pulled image "busybox:1.36" in '),
    ).toBe(true);
    expect(kubelet.find((e) => e.reason === 'Created')!.message).toBe('Created container main');
    expect(kubelet.find((e) => e.reason === 'Started')!.message).toBe('Started container main');
  });

  it('a watch with the involvedObject field selector sees them arrive', async () => {
    const name = uniq('watched');
    const list = await t.sa.core.listNamespacedEvent({ namespace: t.namespace });
    const arrived: string[] = [];
    const controller = await new Watch(t.sa.kc).watch(
      `/api/v1/namespaces/${t.namespace}/events`,
      {
        resourceVersion: list.metadata!.resourceVersion,
        fieldSelector: `involvedObject.name=${name},involvedObject.kind=Pod`,
      },
      (type, obj: CoreV1Event) => arrived.push(`${type}:${obj.reason}`),
      () => undefined,
    );
    try {
      await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: busyboxPod(name) });
      await eventually(async () => {
        if (!arrived.includes('ADDED:Started')) throw new Error(`so far: ${arrived.join(', ')}`);
      }, WAIT);
    } finally {
      controller.abort();
    }
    expect(arrived).toEqual(expect.arrayContaining(['ADDED:Scheduled', 'ADDED:Created']));
  });
});

describe('pods that cannot start', () => {
  it('an image that cannot be pulled: Pulling, Failed (the error, then Error: ErrImagePull), BackOff and Error: ImagePullBackOff', async () => {
    const name = uniq('nopull');
    const image = 'unreachable.example/nothing:1';
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: {
        metadata: { name },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }] },
      },
    });
    const events = await waitForEvent(name, 'Failed', 'Error: ImagePullBackOff');
    const kubelet = events.filter((e) => e.from === 'kubelet');
    for (const e of kubelet) expect(e.fieldPath).toBe('spec.containers{main}');
    expect(kubelet).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'Normal',
          reason: 'Pulling',
          message: `Pulling image "${image}"`,
        }),
        expect.objectContaining({
          type: 'Warning',
          reason: 'Failed',
          message: expect.stringMatching(
            /^Failed to pull image "unreachable\.example\/nothing:1": /,
          ),
        }),
        expect.objectContaining({
          type: 'Warning',
          reason: 'Failed',
          message: 'Error: ErrImagePull',
        }),
        expect.objectContaining({
          type: 'Normal',
          reason: 'BackOff',
          message: `Back-off pulling image "${image}"`,
        }),
      ]),
    );
  });

  it('an image reference the kubelet refuses: InspectFailed with the parse error, Failed: Error: InvalidImageName', async () => {
    const name = uniq('badref');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: {
        metadata: { name },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'Busybox:1.36' }] },
      },
    });
    const events = await waitForEvent(name, 'Failed', 'Error: InvalidImageName');
    expect(events.find((e) => e.reason === 'InspectFailed')).toEqual({
      type: 'Warning',
      reason: 'InspectFailed',
      message:
        'Failed to apply default image tag "Busybox:1.36": couldn\'t parse image name "Busybox:1.36": invalid reference format: repository name (library/Busybox) must be lowercase',
      from: 'kubelet',
      fieldPath: 'spec.containers{main}',
    });
  });

  it('a pod no node fits: FailedScheduling from the scheduler with the condition message', async () => {
    const name = uniq('nofit');
    const body: V1Pod = busyboxPod(name);
    body.spec!.nodeSelector = { 'podbus.example/no-such-node': 'true' };
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body });
    const events = await waitForEvent(name, 'FailedScheduling');
    const pod = await waitForPod(t.sa.core, t.namespace, name, (p) =>
      (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled'),
    );
    const condition = pod.status!.conditions!.find((c) => c.type === 'PodScheduled')!;
    expect(events.find((e) => e.reason === 'FailedScheduling')).toEqual({
      type: 'Warning',
      reason: 'FailedScheduling',
      message: condition.message,
      from: 'default-scheduler',
      fieldPath: undefined,
    });
  });
});

describe('a pod deleted while it runs', () => {
  it('gets Killing: Stopping container <name>', async () => {
    const name = uniq('killed');
    const body = busyboxPod(name, { runSeconds: 600 });
    body.spec!.terminationGracePeriodSeconds = 5;
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body });
    await waitForPod(t.sa.core, t.namespace, name, (p) => p.status?.phase === 'Running');
    await t.sa.core.deleteNamespacedPod({ name, namespace: t.namespace });
    const events = await waitForEvent(name, 'Killing');
    expect(events.find((e) => e.reason === 'Killing')).toEqual({
      type: 'Normal',
      reason: 'Killing',
      message: 'Stopping container main',
      from: 'kubelet',
      fieldPath: 'spec.containers{main}',
    });
  });
});

describe('kubectl', () => {
  it('describe pod lists the events; get events prints the server-side table', async () => {
    const name = uniq('described');
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: busyboxPod(name) });
    await waitForEvent(name, 'Started');
    const described = await t.kubectl(['describe', 'pod', name]);
    expect(described.code).toBe(0);
    const events = described.stdout.slice(described.stdout.indexOf('Events:'));
    expect(events).toMatch(/Type\s+Reason\s+Age\s+From\s+Message/);
    expect(events).toMatch(
      new RegExp(
        `Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned ${t.namespace}/${name} to `,
      ),
    );
    expect(events).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container main/);

    const table = await t.kubectl([
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${name}`,
    ]);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(rows.some((r) => /Normal\s+Started\s+pod\/\S+\s+Started container main/.test(r))).toBe(
      true,
    );
  });
});
