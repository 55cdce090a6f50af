/**
 * Pod creation: the 201 response with server defaults, and the failures of the checks that run
 * on create (400 namespace mismatch, 404 missing namespace, 422 validation with causes, 409).
 * Target-agnostic: runs on the emulator or on PODBUS_CONFORMANCE_KUBECONFIG.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';

import { busyboxPod, expectApiError, openTarget, uniq, type Target } from './support/target.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget('create');
});
afterAll(async () => {
  await t?.close();
});

function pod(name: string, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name, labels: { messageId: name } },
    spec: { containers: [{ name: 'c1', image: 'busybox' }], ...extra },
  };
}

describe('POST pods: 201 with server defaults', () => {
  it('fills metadata, spec, container defaults and resets status to exactly Pending + qosClass', async () => {
    const name = uniq('defaults');
    const body = pod(name, {
      containers: [
        { name: 'c1', image: 'busybox' },
        { name: 'c2', image: 'busybox:1.36' },
      ],
    });
    (body as { status?: unknown }).status = { phase: 'Running', podIP: '1.2.3.4' };
    const created = await t.sa.core.createNamespacedPod({ namespace: t.namespace, body });

    const meta = created.metadata!;
    expect(meta.name).toBe(name);
    expect(meta.namespace).toBe(t.namespace);
    expect(meta.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(meta.resourceVersion).toMatch(/^\d+$/);
    expect(meta.creationTimestamp).toBeInstanceOf(Date);
    expect(Math.abs(meta.creationTimestamp!.getTime() - Date.now())).toBeLessThan(120_000);
    const mf = meta.managedFields ?? [];
    expect(mf).toHaveLength(1);
    // manager = User-Agent up to the first '/': client-node sends kubernetes-client-javascript/2.x
    expect(mf[0]!.manager).toBe('kubernetes-client-javascript');
    expect(mf[0]!.operation).toBe('Update');
    expect(mf[0]!.fieldsType).toBe('FieldsV1');

    expect(created.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });

    const spec = created.spec!;
    expect(spec.restartPolicy).toBe('Always');
    expect(spec.terminationGracePeriodSeconds).toBe(30);
    expect(spec.dnsPolicy).toBe('ClusterFirst');
    expect(spec.schedulerName).toBe('default-scheduler');
    expect(spec.serviceAccountName).toBe('default');
    expect(spec.securityContext).toEqual({});
    expect(spec.enableServiceLinks).toBe(true);
    expect(spec.priority).toBe(0);
    expect(spec.preemptionPolicy).toBe('PreemptLowerPriority');
    const tolerations = (spec.tolerations ?? []).map((x) => [
      x.key,
      x.operator,
      x.effect,
      x.tolerationSeconds,
    ]);
    expect(tolerations).toEqual(
      expect.arrayContaining([
        ['node.kubernetes.io/not-ready', 'Exists', 'NoExecute', 300],
        ['node.kubernetes.io/unreachable', 'Exists', 'NoExecute', 300],
      ]),
    );
    const apiAccess = (spec.volumes ?? []).find((v) => v.name.startsWith('kube-api-access-'));
    expect(apiAccess?.name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
    expect(apiAccess?.projected?.sources?.length).toBe(3);

    const [c1, c2] = spec.containers;
    expect(c1!.terminationMessagePath).toBe('/dev/termination-log');
    expect(c1!.terminationMessagePolicy).toBe('File');
    expect(c1!.imagePullPolicy).toBe('Always'); // untagged
    expect(c2!.imagePullPolicy).toBe('IfNotPresent'); // tagged, not :latest
    expect(c1!.volumeMounts).toEqual([
      {
        name: apiAccess!.name,
        readOnly: true,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      },
    ]);

    const read = await t.sa.core.readNamespacedPod({ name, namespace: t.namespace });
    expect(read.metadata!.uid).toBe(meta.uid);
  });

  it('expands generateName with 5 characters from the upstream alphabet', async () => {
    const body: V1Pod = {
      metadata: { generateName: 'gen-' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    };
    const created = await t.sa.core.createNamespacedPod({ namespace: t.namespace, body });
    expect(created.metadata!.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(created.metadata!.generateName).toBe('gen-');
  });

  it('computes qosClass Guaranteed and defaults requests from limits', async () => {
    const name = uniq('qos');
    const created = await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: pod(name, {
        containers: [
          { name: 'c', image: 'busybox', resources: { limits: { cpu: '100m', memory: '64Mi' } } },
        ],
      }),
    });
    expect(created.status!.qosClass).toBe('Guaranteed');
    expect(created.spec!.containers[0]!.resources!.requests).toEqual({
      cpu: '100m',
      memory: '64Mi',
    });
  });

  it('coerces a negative terminationGracePeriodSeconds to 1 instead of rejecting it', async () => {
    const created = await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: pod(uniq('grace'), { terminationGracePeriodSeconds: -5 }),
    });
    expect(created.spec!.terminationGracePeriodSeconds).toBe(1);
  });
});

describe('POST pods: failures in the upstream order', () => {
  it('409 AlreadyExists with the real Status body on the same name', async () => {
    const name = uniq('dup');
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: pod(name) });
    const e = await expectApiError(
      t.sa.core.createNamespacedPod({ namespace: t.namespace, body: pod(name) }),
    );
    expect(e.code).toBe(409);
    expect(e.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `pods "${name}" already exists`,
      reason: 'AlreadyExists',
      details: { name, kind: 'pods' },
      code: 409,
    });
  });

  it('422 Invalid for a bad pod name, with a FieldValueInvalid cause on metadata.name', async () => {
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: t.namespace, body: pod('Bad_Name') }),
    );
    expect(e.code).toBe(422);
    expect(e.status!.reason).toBe('Invalid');
    expect(e.status!.message).toMatch(
      /^Pod "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": /,
    );
    const details = e.status!.details as {
      name: string;
      kind: string;
      causes: { reason: string; field: string }[];
    };
    expect(details.name).toBe('Bad_Name');
    expect(details.kind).toBe('Pod');
    expect(details.causes).toEqual([
      expect.objectContaining({ reason: 'FieldValueInvalid', field: 'metadata.name' }),
    ]);
  });

  it('422 lists every error: labels, container name/duplicate/image, restartPolicy, deadline', async () => {
    const name = uniq('invalid');
    const body: V1Pod = {
      metadata: { name, labels: { 'bad key!': 'v', ok: 'bad value!' } },
      spec: {
        restartPolicy: 'Sometimes',
        activeDeadlineSeconds: 0,
        containers: [
          { name: 'Upper', image: 'busybox' },
          { name: 'dup', image: 'busybox' },
          { name: 'dup', image: '' },
        ],
      },
    };
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: t.namespace, body }),
    );
    expect(e.code).toBe(422);
    const causes = (
      e.status!.details as { causes: { reason: string; field: string; message: string }[] }
    ).causes;
    const pairs = causes.map((c) => `${c.reason} ${c.field}`);
    expect(pairs).toEqual(
      expect.arrayContaining([
        'FieldValueInvalid metadata.labels',
        'FieldValueInvalid spec.containers[0].name',
        'FieldValueDuplicate spec.containers[2].name',
        'FieldValueRequired spec.containers[2].image',
        'FieldValueNotSupported spec.restartPolicy',
        'FieldValueInvalid spec.activeDeadlineSeconds',
      ]),
    );
    const restart = causes.find((c) => c.field === 'spec.restartPolicy');
    expect(restart!.message).toBe(
      'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    );
    expect(causes.find((c) => c.field === 'spec.activeDeadlineSeconds')!.message).toBe(
      'Invalid value: 0: must be between 1 and 2147483647, inclusive',
    );
    expect(e.status!.message).toMatch(new RegExp(`^Pod "${name}" is invalid: \\[`));
  });

  it('422 for a pod without containers', async () => {
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({
        namespace: t.namespace,
        body: { metadata: { name: uniq('empty') }, spec: { containers: [] } },
      }),
    );
    expect(e.code).toBe(422);
    const causes = (e.status!.details as { causes: { reason: string; field: string }[] }).causes;
    expect(causes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: 'FieldValueRequired', field: 'spec.containers' }),
      ]),
    );
  });

  it('422, not a 500, for a patch that leaves a null container', async () => {
    // A real API server decodes the patched JSON into a Pod and answers a failure with 422
    // (patch.go: field "patch", Invalid); the emulator says which container fields are missing.
    const name = uniq('null-container');
    await t.admin.core.createNamespacedPod({
      namespace: t.namespace,
      body: busyboxPod(name),
    });
    const e = await expectApiError(
      t.admin.core.patchNamespacedPod({
        name,
        namespace: t.namespace,
        body: [{ op: 'replace', path: '/spec/containers/0', value: null }],
      }),
    );
    expect(e.code).toBe(422);
  });

  it('422 when neither name nor generateName is given', async () => {
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({
        namespace: t.namespace,
        body: { metadata: {}, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      }),
    );
    expect(e.code).toBe(422);
    const causes = (
      e.status!.details as { causes: { reason: string; field: string; message: string }[] }
    ).causes;
    expect(causes[0]).toEqual({
      reason: 'FieldValueRequired',
      field: 'metadata.name',
      message: 'Required value: name or generateName is required',
    });
  });

  it('400 BadRequest when the object namespace differs from the URL namespace', async () => {
    const body = pod(uniq('mismatch'));
    body.metadata!.namespace = 'default';
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: t.namespace, body }),
    );
    expect(e.code).toBe(400);
    expect(e.status!.reason).toBe('BadRequest');
    expect(e.status!.message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  });

  it('404 NotFound naming the namespace when it does not exist (checked before validation)', async () => {
    const missing = uniq('nope');
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: missing, body: pod('Bad_Name') }),
    );
    expect(e.code).toBe(404);
    expect(e.status).toMatchObject({
      reason: 'NotFound',
      message: `namespaces "${missing}" not found`,
      details: { name: missing, kind: 'namespaces' },
    });
  });

  it('404 NotFound for a missing pod, and DELETE returns the pod', async () => {
    const e = await expectApiError(
      t.sa.core.readNamespacedPod({ name: 'does-not-exist', namespace: t.namespace }),
    );
    expect(e.code).toBe(404);
    expect(e.status!.message).toBe('pods "does-not-exist" not found');
    const name = uniq('del');
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: pod(name) });
    const deleted = await t.sa.core.deleteNamespacedPod({ name, namespace: t.namespace });
    expect(deleted.metadata!.name).toBe(name);
    expect(deleted.kind).toBe('Pod');
  });
});
