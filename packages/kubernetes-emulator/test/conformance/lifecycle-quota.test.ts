/**
 * Pod lifecycle as the kubelet reports it (Succeeded/Failed with exit codes, DeadlineExceeded,
 * ErrImagePull, InvalidImageName, Unschedulable) and the ResourceQuota pod count answered with the real 403.
 * The pods are real busybox pods on a cluster; on the emulator the same specs carry its
 * conventions (env PODBUS_EMULATOR_EXIT_CODE / PODBUS_EMULATOR_RUN_MS).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  busyboxPod,
  eventually,
  expectApiError,
  ON_EMULATOR,
  openTarget,
  uniq,
  waitForPod,
  type Target,
} from './support/target.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget('lifecycle');
});
afterAll(async () => {
  await t?.close();
});

const terminal = (phase?: string): boolean => phase === 'Succeeded' || phase === 'Failed';

describe('pod lifecycle', () => {
  it('reaches Succeeded with exit code 0 and reason Completed', async () => {
    const name = uniq('ok');
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: busyboxPod(name) });
    const pod = await waitForPod(t.sa.core, t.namespace, name, (p) => terminal(p.status?.phase));
    expect(pod.status!.phase).toBe('Succeeded');
    expect(pod.spec!.nodeName).toBeTruthy();
    const cs = pod.status!.containerStatuses![0]!;
    expect(cs.name).toBe('main');
    expect(cs.state!.terminated!.exitCode).toBe(0);
    expect(cs.state!.terminated!.reason).toBe('Completed');
    expect(cs.ready).toBe(false);
    expect(pod.status!.startTime).toBeInstanceOf(Date);
    const scheduled = pod.status!.conditions!.find((c) => c.type === 'PodScheduled');
    expect(scheduled!.status).toBe('True');
  });

  it('reaches Failed with the container exit code and reason Error', async () => {
    const name = uniq('fail');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: busyboxPod(name, { exitCode: 3 }),
    });
    const pod = await waitForPod(t.sa.core, t.namespace, name, (p) => terminal(p.status?.phase));
    expect(pod.status!.phase).toBe('Failed');
    const term = pod.status!.containerStatuses![0]!.state!.terminated!;
    expect(term.exitCode).toBe(3);
    expect(term.reason).toBe('Error');
  });

  it('passes through Running with a pod IP before finishing', async () => {
    const name = uniq('running');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: busyboxPod(name, { runSeconds: ON_EMULATOR ? 2 : 5 }),
    });
    const running = await waitForPod(
      t.sa.core,
      t.namespace,
      name,
      (p) => p.status?.phase === 'Running',
    );
    expect(running.status!.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(running.status!.containerStatuses![0]!.state!.running).toBeDefined();
    expect(running.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('True');
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds', async () => {
    const name = uniq('deadline');
    const body = busyboxPod(name, { runSeconds: 60 });
    body.spec!.activeDeadlineSeconds = 1;
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body });
    const pod = await waitForPod(
      t.sa.core,
      t.namespace,
      name,
      (p) => terminal(p.status?.phase),
      ON_EMULATOR ? 10_000 : 180_000,
    );
    expect(pod.status!.phase).toBe('Failed');
    expect(pod.status!.reason).toBe('DeadlineExceeded');
    expect(pod.status!.message).toBe(
      'Pod was active on the node longer than the specified deadline',
    );
  });

  it('stays Pending with ErrImagePull/ImagePullBackOff for a registry that cannot be reached', async () => {
    const name = uniq('pull');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: {
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'unreachable.example/nothing:1' }],
        },
      },
    });
    const pod = await waitForPod(t.sa.core, t.namespace, name, (p) => {
      const reason = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      return reason === 'ErrImagePull' || reason === 'ImagePullBackOff';
    });
    expect(pod.status!.phase).toBe('Pending');
  });

  it('stays Pending with InvalidImageName for a reference the kubelet refuses (uppercase repository)', async () => {
    const name = uniq('badref');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: {
        metadata: { name },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'Busybox:1.36' }] },
      },
    });
    const pod = await waitForPod(
      t.sa.core,
      t.namespace,
      name,
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'InvalidImageName',
    );
    expect(pod.status!.phase).toBe('Pending');
    expect(pod.status!.containerStatuses![0]!.state!.waiting!.message).toBe(
      'Failed to apply default image tag "Busybox:1.36": couldn\'t parse image name "Busybox:1.36": invalid reference format: repository name (library/Busybox) must be lowercase',
    );
  });

  it('stays Pending with PodScheduled=False/Unschedulable when no node fits', async () => {
    const name = uniq('nofit');
    const body = busyboxPod(name);
    body.spec!.nodeSelector = { 'podbus.example/no-such-node': 'true' };
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body });
    const pod = await waitForPod(t.sa.core, t.namespace, name, (p) =>
      (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled'),
    );
    const cond = pod.status!.conditions!.find((c) => c.type === 'PodScheduled')!;
    expect(cond.status).toBe('False');
    expect(cond.reason).toBe('Unschedulable');
    expect(pod.status!.phase).toBe('Pending');
    expect(pod.spec!.nodeName).toBeUndefined();
  });
});

describe('ResourceQuota', () => {
  it('403 "exceeded quota" once the pod count is reached; terminal pods do not count', async () => {
    const ns = uniq('quota');
    await t.admin.core.createNamespace({ body: { metadata: { name: ns } } });
    try {
      await eventually(
        () => t.admin.core.readNamespacedServiceAccount({ name: 'default', namespace: ns }),
        30_000,
      );
      await t.admin.core.createNamespacedResourceQuota({
        namespace: ns,
        body: { metadata: { name: 'q' }, spec: { hard: { pods: '1' } } },
      });
      // The quota controller must have computed status before admission enforces it.
      await eventually(
        async () => {
          const q = await t.admin.core.readNamespacedResourceQuota({ name: 'q', namespace: ns });
          if (q.status?.hard?.pods !== '1') throw new Error('quota status not computed yet');
        },
        ON_EMULATOR ? 5_000 : 60_000,
        200,
      );
      const first = uniq('q1');
      await t.admin.core.createNamespacedPod({
        namespace: ns,
        body: busyboxPod(first, { runSeconds: 600 }),
      });
      const second = uniq('q2');
      const e = await expectApiError(
        t.admin.core.createNamespacedPod({ namespace: ns, body: busyboxPod(second) }),
      );
      expect(e.code).toBe(403);
      expect(e.status!.reason).toBe('Forbidden');
      expect(e.status!.message).toBe(
        `pods "${second}" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`,
      );
      expect(e.status!.details).toEqual({ name: second, kind: 'pods' });
      const quota = await eventually(
        async () => {
          const q = await t.admin.core.readNamespacedResourceQuota({ name: 'q', namespace: ns });
          if (q.status?.used?.pods !== '1') throw new Error('used not updated yet');
          return q;
        },
        ON_EMULATOR ? 5_000 : 60_000,
        200,
      );
      expect(quota.status!.hard).toEqual({ pods: '1' });
    } finally {
      await t.admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
    }
  });
});
