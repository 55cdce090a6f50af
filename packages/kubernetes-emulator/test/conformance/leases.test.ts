/**
 * coordination.k8s.io/v1 Leases as client-go's leader election uses them (resourcelock.LeaseLock:
 * get, create, update with the resourceVersion it read), with the real server's answers: a stale
 * renewal is 409 Conflict, an update without a resourceVersion 422, a millisecond timestamp 400
 * (MicroTime wants six fraction digits), a PUT to a missing lease creates it. The service account
 * has the podbus Role (leases get/create/update, nothing more).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { V1MicroTime, Watch, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';

import {
  codeOf,
  eventually,
  expectApiError,
  openTarget,
  uniq,
  type Target,
} from './support/target.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget('leases');
});
afterAll(async () => {
  await t?.close();
});

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** One candidate of a leader election, making the calls client-go's LeaseLock makes. */
class Candidate {
  constructor(
    readonly identity: string,
    private readonly api: CoordinationV1Api,
    private readonly namespace: string,
    private readonly lease: string,
    private readonly durationSeconds = 15,
  ) {}

  /** tryAcquireOrRenew: true when this candidate holds the lease afterwards. */
  async tryAcquireOrRenew(now = Date.now()): Promise<boolean> {
    let current: V1Lease;
    try {
      current = await this.api.readNamespacedLease({ name: this.lease, namespace: this.namespace });
    } catch (e) {
      if (codeOf(e) !== 404) throw e;
      await this.api.createNamespacedLease({
        namespace: this.namespace,
        body: {
          metadata: { name: this.lease },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.durationSeconds,
            acquireTime: new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: 0,
          },
        },
      });
      return true;
    }
    const spec = current.spec ?? {};
    const expires = Date.parse(String(spec.renewTime)) + (spec.leaseDurationSeconds ?? 0) * 1000;
    if (spec.holderIdentity && spec.holderIdentity !== this.identity && expires > now) return false;
    const takeover = spec.holderIdentity !== this.identity;
    await this.api.replaceNamespacedLease({
      name: this.lease,
      namespace: this.namespace,
      body: {
        metadata: current.metadata,
        spec: {
          ...spec,
          holderIdentity: this.identity,
          leaseDurationSeconds: this.durationSeconds,
          acquireTime: takeover ? new V1MicroTime(now) : spec.acquireTime,
          renewTime: new V1MicroTime(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover ? 1 : 0),
        },
      },
    });
    return true;
  }
}

function staleMessage(name: string): string {
  return `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`;
}

describe('leader election', () => {
  it('creates, renews with the resourceVersion read, refuses a stale renewal, hands over after expiry', async () => {
    const name = uniq('leader');
    const api = t.sa.coordination;
    const a = new Candidate('replica-a', api, t.namespace, name);
    const b = new Candidate('replica-b', api, t.namespace, name);

    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    const seenByB = await api.readNamespacedLease({ name, namespace: t.namespace });
    expect(seenByB.spec).toMatchObject({
      holderIdentity: 'replica-a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
    expect(String(seenByB.spec!.renewTime)).toMatch(MICRO_TIME);

    expect(await a.tryAcquireOrRenew()).toBe(true);
    const renewed = await api.readNamespacedLease({ name, namespace: t.namespace });
    expect(renewed.metadata!.resourceVersion).not.toBe(seenByB.metadata!.resourceVersion);

    // B writes what it read before A renewed: optimistic concurrency refuses it.
    const e = await expectApiError(
      api.replaceNamespacedLease({
        name,
        namespace: t.namespace,
        body: { ...seenByB, spec: { ...seenByB.spec, holderIdentity: 'replica-b' } },
      }),
    );
    expect(e.code).toBe(409);
    expect(e.status).toMatchObject({
      reason: 'Conflict',
      message: staleMessage(name),
      details: { name, group: 'coordination.k8s.io', kind: 'leases' },
    });

    // Once A stops renewing, B takes over (its clock is past renewTime + duration).
    expect(await b.tryAcquireOrRenew(Date.now() + 16_000)).toBe(true);
    const taken = await api.readNamespacedLease({ name, namespace: t.namespace });
    expect(taken.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });
});

describe('what the server refuses', () => {
  it('an update without metadata.resourceVersion: 422, as for every type without unconditional updates', async () => {
    const name = uniq('norv');
    const api = t.sa.coordination;
    await api.createNamespacedLease({
      namespace: t.namespace,
      body: { metadata: { name }, spec: { holderIdentity: 'x', leaseDurationSeconds: 10 } },
    });
    const e = await expectApiError(
      api.replaceNamespacedLease({
        name,
        namespace: t.namespace,
        body: { metadata: { name }, spec: { holderIdentity: 'y', leaseDurationSeconds: 10 } },
      }),
    );
    expect(e.code).toBe(422);
    expect(e.status).toMatchObject({
      reason: 'Invalid',
      message: `leases.coordination.k8s.io "${name}" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update`,
      details: {
        name,
        group: 'coordination.k8s.io',
        kind: 'leases',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: 0: must be specified for an update',
            field: 'metadata.resourceVersion',
          },
        ],
      },
    });
  });

  it('a renewTime with millisecond precision (a plain Date): 400 with Go time parse error', async () => {
    const name = uniq('millis');
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const e = await expectApiError(
      t.sa.coordination.createNamespacedLease({
        namespace: t.namespace,
        body: {
          metadata: { name },
          spec: { holderIdentity: 'x', renewTime: date as unknown as V1MicroTime },
        },
      }),
    );
    expect(e.code).toBe(400);
    expect(e.status).toMatchObject({
      reason: 'BadRequest',
      message:
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-01-02T03:04:05.678Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".678Z" as ".000000"',
    });
  });

  it('a non-positive leaseDurationSeconds: 422', async () => {
    const name = uniq('zero');
    const e = await expectApiError(
      t.sa.coordination.createNamespacedLease({
        namespace: t.namespace,
        body: { metadata: { name }, spec: { leaseDurationSeconds: 0 } },
      }),
    );
    expect(e.code).toBe(422);
    expect(e.status!.message).toBe(
      `Lease.coordination.k8s.io "${name}" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0`,
    );
  });

  it('the podbus Role grants get/create/update only: list and delete are 403', async () => {
    const user = `system:serviceaccount:${t.namespace}:podbus`;
    const list = await expectApiError(
      t.sa.coordination.listNamespacedLease({ namespace: t.namespace }),
    );
    expect(list.code).toBe(403);
    expect(list.status!.message).toBe(
      `leases.coordination.k8s.io is forbidden: User "${user}" cannot list resource "leases" in API group "coordination.k8s.io" in the namespace "${t.namespace}"`,
    );
    const del = await expectApiError(
      t.sa.coordination.deleteNamespacedLease({ name: 'any', namespace: t.namespace }),
    );
    expect(del.code).toBe(403);
    expect(del.status!.details).toEqual({
      name: 'any',
      group: 'coordination.k8s.io',
      kind: 'leases',
    });
  });
});

describe('create on update', () => {
  it('a PUT to a lease that does not exist creates it: 201', async () => {
    const name = uniq('put');
    const created = await t.sa.coordination.replaceNamespacedLeaseWithHttpInfo({
      name,
      namespace: t.namespace,
      body: { metadata: { name }, spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 5 } },
    });
    expect(created.httpStatusCode).toBe(201);
    expect(created.data.metadata!.uid).toBeTruthy();
    expect(created.data.spec!.holderIdentity).toBe('replica-a');
  });
});

describe('list and watch', () => {
  it('a watch from a list resourceVersion sees ADDED, MODIFIED, DELETED in order', async () => {
    const api = t.admin.coordination;
    const list = await api.listNamespacedLease({ namespace: t.namespace });
    const name = uniq('watched');
    const seen: { type: string; rv: string; holder?: string }[] = [];
    const controller = await new Watch(t.admin.kc).watch(
      `/apis/coordination.k8s.io/v1/namespaces/${t.namespace}/leases`,
      { resourceVersion: list.metadata!.resourceVersion, fieldSelector: `metadata.name=${name}` },
      (type, obj: V1Lease) =>
        seen.push({
          type,
          rv: obj.metadata!.resourceVersion!,
          holder: obj.spec?.holderIdentity,
        }),
      () => undefined,
    );
    try {
      const created = await api.createNamespacedLease({
        namespace: t.namespace,
        body: { metadata: { name }, spec: { holderIdentity: 'one' } },
      });
      await api.replaceNamespacedLease({
        name,
        namespace: t.namespace,
        body: { ...created, spec: { holderIdentity: 'two' } },
      });
      await api.deleteNamespacedLease({ name, namespace: t.namespace });
      await eventually(async () => {
        if (seen.length < 3) throw new Error(`events so far: ${JSON.stringify(seen)}`);
      }, 10_000);
    } finally {
      controller.abort();
    }
    expect(seen.map((e) => `${e.type}:${e.holder}`)).toEqual([
      'ADDED:one',
      'MODIFIED:two',
      'DELETED:two',
    ]);
    const rvs = seen.map((e) => Number(e.rv));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
  });
});

describe('kubectl', () => {
  it('api-resources lists leases; get leases prints the holder', async () => {
    const resources = await t.kubectl([
      'api-resources',
      '--api-group=coordination.k8s.io',
      '-o',
      'name',
    ]);
    expect(resources.code).toBe(0);
    expect(resources.stdout.split('\n')).toContain('leases.coordination.k8s.io');
    const name = uniq('shown');
    await t.admin.coordination.createNamespacedLease({
      namespace: t.namespace,
      body: { metadata: { name }, spec: { holderIdentity: 'replica-7' } },
    });
    const r = await t.kubectl(['get', 'leases', name]);
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'HOLDER', 'AGE']);
    expect(row!.split(/\s+/).slice(0, 2)).toEqual([name, 'replica-7']);
  });
});
