/**
 * Pod deletion as kube-apiserver does it, as a safe cleanup meets it: every delete first marks
 * the pod (MODIFIED with deletionTimestamp and deletionGracePeriodSeconds); an unscheduled or
 * terminal pod gets grace 0 whatever was asked and goes at once (DELETED); a running pod stays
 * Terminating until its kubelet has stopped it; a DELETE with a uid precondition that does not
 * match is a 409 and deletes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Watch, type V1Pod } from '@kubernetes/client-node';

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
  t = await openTarget('deletion');
});
afterAll(async () => {
  await t?.close();
});

const WAIT = ON_EMULATOR ? 10_000 : 180_000;

interface Seen {
  type: string;
  deleting: boolean;
  grace: number | undefined;
  phase: string | undefined;
}

/** Watches one pod from `resourceVersion`; the events arrive in `seen`. */
async function watchPod(
  name: string,
  resourceVersion: string,
): Promise<{ seen: Seen[]; stop: () => void }> {
  const seen: Seen[] = [];
  const controller = await new Watch(t.sa.kc).watch(
    `/api/v1/namespaces/${t.namespace}/pods`,
    { resourceVersion, fieldSelector: `metadata.name=${name}` },
    (type, pod: V1Pod) =>
      seen.push({
        type,
        deleting: pod.metadata?.deletionTimestamp !== undefined,
        grace: pod.metadata?.deletionGracePeriodSeconds,
        phase: pod.status?.phase,
      }),
    () => undefined,
  );
  return { seen, stop: () => controller.abort() };
}

async function untilDeleted(seen: Seen[]): Promise<void> {
  await eventually(async () => {
    if (!seen.some((e) => e.type === 'DELETED')) throw new Error(JSON.stringify(seen));
  }, WAIT);
}

function withGrace(body: V1Pod, seconds: number): V1Pod {
  body.spec!.terminationGracePeriodSeconds = seconds;
  return body;
}

describe('pods deleted at once', () => {
  it('an unscheduled pod: grace 0 whatever its spec says, MODIFIED with the deletionTimestamp, then DELETED', async () => {
    const name = uniq('unscheduled');
    const body = withGrace(busyboxPod(name), 30);
    body.spec!.nodeSelector = { 'podbus.example/no-such-node': 'true' };
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body });
    const pending = await waitForPod(t.sa.core, t.namespace, name, (p) =>
      (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled'),
    );
    const w = await watchPod(name, pending.metadata!.resourceVersion!);
    try {
      const answer = await t.sa.core.deleteNamespacedPod({ name, namespace: t.namespace });
      expect(answer.metadata!.deletionTimestamp).toBeInstanceOf(Date);
      expect(answer.metadata!.deletionGracePeriodSeconds).toBe(0);
      await untilDeleted(w.seen);
    } finally {
      w.stop();
    }
    expect(w.seen).toEqual([
      { type: 'MODIFIED', deleting: true, grace: 0, phase: 'Pending' },
      { type: 'DELETED', deleting: true, grace: 0, phase: 'Pending' },
    ]);
  });

  it('a terminal pod: grace 0 as well', async () => {
    const name = uniq('finished');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: withGrace(busyboxPod(name), 30),
    });
    const done = await waitForPod(
      t.sa.core,
      t.namespace,
      name,
      (p) => p.status?.phase === 'Succeeded',
      WAIT,
    );
    const w = await watchPod(name, done.metadata!.resourceVersion!);
    try {
      const answer = await t.sa.core.deleteNamespacedPod({
        name,
        namespace: t.namespace,
        gracePeriodSeconds: 20,
      });
      expect(answer.metadata!.deletionGracePeriodSeconds).toBe(0);
      await untilDeleted(w.seen);
    } finally {
      w.stop();
    }
    expect(w.seen).toEqual([
      { type: 'MODIFIED', deleting: true, grace: 0, phase: 'Succeeded' },
      { type: 'DELETED', deleting: true, grace: 0, phase: 'Succeeded' },
    ]);
  });
});

describe('a running pod', () => {
  it('is marked with its grace period, stays Terminating while the kubelet stops it, then goes', async () => {
    const name = uniq('running');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: withGrace(busyboxPod(name, { runSeconds: 600 }), 30),
    });
    const running = await waitForPod(
      t.sa.core,
      t.namespace,
      name,
      (p) => p.status?.phase === 'Running',
      WAIT,
    );
    const w = await watchPod(name, running.metadata!.resourceVersion!);
    try {
      const answer = await t.sa.core.deleteNamespacedPod({
        name,
        namespace: t.namespace,
        gracePeriodSeconds: 5,
      });
      expect(answer.metadata!.deletionGracePeriodSeconds).toBe(5);
      expect(answer.metadata!.deletionTimestamp!.getTime()).toBeGreaterThan(Date.now() + 2_000);
      await untilDeleted(w.seen);
    } finally {
      w.stop();
    }
    expect(w.seen[0]).toEqual({ type: 'MODIFIED', deleting: true, grace: 5, phase: 'Running' });
    expect(w.seen[w.seen.length - 1]!.type).toBe('DELETED');
    expect(w.seen.every((e) => e.deleting)).toBe(true);
  });
});

describe('preconditions', () => {
  it('a uid that does not match: 409 with the storage error, and the pod stays', async () => {
    const name = uniq('guarded');
    const created = await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: busyboxPod(name, { runSeconds: 600 }),
    });
    const uid = created.metadata!.uid!;
    const other = '00000000-0000-0000-0000-000000000000';
    const e = await expectApiError(
      t.sa.core.deleteNamespacedPod({
        name,
        namespace: t.namespace,
        body: { preconditions: { uid: other } },
      }),
    );
    expect(e.code).toBe(409);
    expect(e.status).toMatchObject({
      reason: 'Conflict',
      message: `Operation cannot be fulfilled on pods "${name}": StorageError: invalid object, Code: 4, Key: /registry/pods/${t.namespace}/${name}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: ${other}, UID in object meta: ${uid}`,
      details: { name, kind: 'pods' },
    });
    const still = await t.sa.core.readNamespacedPod({ name, namespace: t.namespace });
    expect(still.metadata!.deletionTimestamp).toBeUndefined();
    const deleted = await t.sa.core.deleteNamespacedPod({
      name,
      namespace: t.namespace,
      gracePeriodSeconds: 0,
      body: { preconditions: { uid } },
    });
    expect(deleted.metadata!.uid).toBe(uid);
  });
});
