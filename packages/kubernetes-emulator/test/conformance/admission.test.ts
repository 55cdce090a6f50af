/**
 * Admission that says no as kube-apiserver 1.32 does: PodSecurity (enforce 403, warn header,
 * label validation, warnings when a namespace is tightened), LimitRange (stored defaults,
 * container defaults, min/max/ratio 403s) and ResourceQuota on compute resources ("must
 * specify", "exceeded quota"), in the plugins' order (LimitRanger mutates before quota
 * validates). Target-agnostic: no kubelet is needed, pods only have to be admitted.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';

import {
  eventually,
  expectApiError,
  ON_EMULATOR,
  openTarget,
  uniq,
  type Target,
} from './support/target.js';

let t: Target;
const namespaces: string[] = [];

beforeAll(async () => {
  t = await openTarget('admission');
});
afterAll(async () => {
  for (const ns of namespaces)
    await t.admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
  await t?.close();
});

/** A fresh namespace with `labels`, once its default service account exists. */
async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const name = uniq('adm');
  await t.admin.core.createNamespace({ body: { metadata: { name, labels } } });
  namespaces.push(name);
  await eventually(
    () => t.admin.core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
    30_000,
  );
  return name;
}

// client-node's model calls LimitRangeItem.default `_default` (and serializes it as `default`).

/** A pod that keeps running (so it keeps counting against quota) on either target. */
function pod(name: string, container: Record<string, unknown> = {}, spec = {}): V1Pod {
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'main',
          image: 'busybox:1.36',
          command: ['sleep', '600'],
          env: [{ name: 'PODBUS_EMULATOR_RUN_MS', value: '600000' }],
          ...container,
        },
      ],
      ...spec,
    },
  } as V1Pod;
}

const RESTRICTED_PLAIN_POD =
  'allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false), ' +
  'unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"]), ' +
  'runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true), ' +
  'seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';

const RESTRICTED_CONTAINER = {
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    runAsUser: 1000,
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

/** Waits until the quota controller has computed status (admission needs it on a real server). */
async function quotaReady(ns: string, name: string, key: string): Promise<void> {
  await eventually(
    async () => {
      const q = await t.admin.core.readNamespacedResourceQuota({ name, namespace: ns });
      if (q.status?.used?.[key] === undefined) throw new Error('quota status not computed yet');
    },
    ON_EMULATOR ? 5_000 : 60_000,
    200,
  );
}

describe('PodSecurity admission', () => {
  it('enforce=restricted refuses a plain pod with every violation, in upstream order', async () => {
    const ns = await namespace({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: ns, body: pod('plain') }),
    );
    expect(e.code).toBe(403);
    expect(e.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `pods "plain" is forbidden: violates PodSecurity "restricted:latest": ${RESTRICTED_PLAIN_POD}`,
      reason: 'Forbidden',
      details: { name: 'plain', kind: 'pods' },
      code: 403,
    });
    const ok = await t.admin.core.createNamespacedPod({
      namespace: ns,
      body: pod('hardened', RESTRICTED_CONTAINER),
    });
    expect(ok.metadata!.name).toBe('hardened');
  });

  it('enforce=baseline refuses host namespaces and privileged containers, naming the version', async () => {
    const ns = await namespace({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/enforce-version': 'v1.30',
    });
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({
        namespace: ns,
        body: pod(
          'root',
          { securityContext: { privileged: true }, ports: [{ containerPort: 80, hostPort: 8080 }] },
          { hostNetwork: true },
        ),
      }),
    );
    expect(e.code).toBe(403);
    expect(e.status!.message).toBe(
      'pods "root" is forbidden: violates PodSecurity "baseline:v1.30": host namespaces (hostNetwork=true), ' +
        'hostPort (container "main" uses hostPort 8080), ' +
        'privileged (container "main" must not set securityContext.privileged=true)',
    );
  });

  it('warn=restricted admits the pod and answers with the Warning header', async () => {
    const ns = await namespace({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    const res = await t.admin.core.createNamespacedPodWithHttpInfo({
      namespace: ns,
      body: pod('warned'),
    });
    expect(res.httpStatusCode).toBe(201);
    expect(res.headers.warning).toBe(
      `299 - "would violate PodSecurity \\"restricted:latest\\": ${RESTRICTED_PLAIN_POD.replace(/"/g, '\\"')}"`,
    );
    // kubectl prints it on stderr.
    const run = await t.kubectl([
      '-n',
      ns,
      'run',
      'warned-too',
      '--image=busybox:1.36',
      '--restart=Never',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      `Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "warned-too" must set securityContext.allowPrivilegeEscalation=false)`,
    );
  });

  it('refuses a namespace with an invalid level (422)', async () => {
    const name = uniq('adm-bad');
    const e = await expectApiError(
      t.admin.core.createNamespace({
        body: { metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'strict' } } },
      }),
    );
    expect(e.code).toBe(422);
    expect(e.status!.reason).toBe('Invalid');
    expect(e.status!.message).toBe(
      `Namespace "${name}" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted`,
    );
  });

  it('warns about existing pods when a namespace is tightened', async () => {
    const ns = await namespace();
    await t.admin.core.createNamespacedPod({ namespace: ns, body: pod('existing') });
    const label = await t.kubectl([
      'label',
      'namespace',
      ns,
      'pod-security.kubernetes.io/enforce=restricted',
    ]);
    expect(label.code).toBe(0);
    expect(label.stderr).toContain(
      `Warning: existing pods in namespace "${ns}" violate the new PodSecurity enforce level "restricted:latest"`,
    );
    expect(label.stderr).toContain(
      'Warning: existing: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
    );
  });
});

describe('LimitRange', () => {
  it('stores the defaults SetDefaults_LimitRangeItem adds', async () => {
    const ns = await namespace();
    const lr = await t.admin.core.createNamespacedLimitRange({
      namespace: ns,
      body: {
        metadata: { name: 'bounds' },
        spec: {
          limits: [
            { type: 'Container', max: { cpu: '2', memory: '1Gi' }, min: { cpu: '50m' } },
            { type: 'Container', _default: { cpu: '0.5' } },
          ],
        },
      },
    });
    const [first, second] = lr.spec!.limits;
    expect(first!.max).toEqual({ cpu: '2', memory: '1Gi' });
    expect(first!._default).toEqual({ cpu: '2', memory: '1Gi' });
    expect(first!.defaultRequest).toEqual({ cpu: '2', memory: '1Gi' });
    expect(second!._default).toEqual({ cpu: '500m' });
    expect(second!.defaultRequest).toEqual({ cpu: '500m' });
  });

  it('fills in requests and limits of a pod that has none, with the annotation', async () => {
    const ns = await namespace();
    await t.admin.core.createNamespacedLimitRange({
      namespace: ns,
      body: {
        metadata: { name: 'defaults' },
        spec: {
          limits: [
            {
              type: 'Container',
              _default: { cpu: '500m', memory: '256Mi' },
              defaultRequest: { cpu: '100m' },
            },
          ],
        },
      },
    });
    const created = await t.admin.core.createNamespacedPod({
      namespace: ns,
      body: pod('defaulted', { resources: { limits: { memory: '128Mi' } } }),
    });
    expect(created.spec!.containers[0]!.resources).toEqual({
      limits: { cpu: '500m', memory: '128Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    });
    expect(created.metadata!.annotations!['kubernetes.io/limit-ranger']).toBe(
      'LimitRanger plugin set: cpu request for container main; cpu limit for container main',
    );
    expect(created.status!.qosClass).toBe('Burstable');
  });

  it.each([
    [
      { limits: { cpu: '3' } },
      { max: { cpu: '2' } },
      'maximum cpu usage per Container is 2, but limit is 3',
    ],
    [
      { requests: { memory: '32Mi' }, limits: { memory: '64Mi' } },
      { min: { memory: '48Mi' } },
      'minimum memory usage per Container is 48Mi, but request is 32Mi',
    ],
    [
      { requests: { cpu: '250m' }, limits: { cpu: '1' } },
      { maxLimitRequestRatio: { cpu: '2' } },
      'cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000',
    ],
  ])('refuses %j under %j with 403', async (resources, item, reason) => {
    const ns = await namespace();
    await t.admin.core.createNamespacedLimitRange({
      namespace: ns,
      body: { metadata: { name: 'bounds' }, spec: { limits: [{ type: 'Container', ...item }] } },
    });
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: ns, body: pod('bounded', { resources }) }),
    );
    expect(e.code).toBe(403);
    expect(e.status!.reason).toBe('Forbidden');
    expect(e.status!.message).toBe(`pods "bounded" is forbidden: ${reason}`);
    expect(e.status!.details).toEqual({ name: 'bounded', kind: 'pods' });
  });
});

describe('ResourceQuota on compute resources', () => {
  it('403 "failed quota ... must specify" for a pod without the resource', async () => {
    const ns = await namespace();
    await t.admin.core.createNamespacedResourceQuota({
      namespace: ns,
      body: { metadata: { name: 'compute' }, spec: { hard: { 'requests.cpu': '1' } } },
    });
    await quotaReady(ns, 'compute', 'requests.cpu');
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: ns, body: pod('bare') }),
    );
    expect(e.code).toBe(403);
    expect(e.status!.message).toBe(
      'pods "bare" is forbidden: failed quota: compute: must specify requests.cpu',
    );
    expect(e.status!.details).toEqual({ name: 'bare', kind: 'pods' });
  });

  it('403 "exceeded quota" with requested, used and limited of the exceeded resource', async () => {
    const ns = await namespace();
    await t.admin.core.createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: 'compute' },
        spec: { hard: { 'requests.cpu': '1', 'limits.cpu': '2', pods: '10' } },
      },
    });
    await quotaReady(ns, 'compute', 'requests.cpu');
    const resources = { requests: { cpu: '0.6' }, limits: { cpu: '1' } };
    await t.admin.core.createNamespacedPod({ namespace: ns, body: pod('first', { resources }) });
    const e = await expectApiError(
      t.admin.core.createNamespacedPod({ namespace: ns, body: pod('second', { resources }) }),
    );
    expect(e.code).toBe(403);
    expect(e.status!.message).toBe(
      'pods "second" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1',
    );
    const quota = await eventually(
      async () => {
        const q = await t.admin.core.readNamespacedResourceQuota({
          name: 'compute',
          namespace: ns,
        });
        if (q.status?.used?.['limits.cpu'] !== '1') throw new Error('used not updated yet');
        return q;
      },
      ON_EMULATOR ? 5_000 : 60_000,
      200,
    );
    expect(quota.status!.used).toEqual({ 'limits.cpu': '1', pods: '1', 'requests.cpu': '600m' });
  });

  it('LimitRange defaults are applied before quota checks them', async () => {
    const ns = await namespace();
    await t.admin.core.createNamespacedLimitRange({
      namespace: ns,
      body: {
        metadata: { name: 'defaults' },
        spec: { limits: [{ type: 'Container', _default: { cpu: '200m', memory: '64Mi' } }] },
      },
    });
    await t.admin.core.createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: 'compute' },
        spec: { hard: { 'requests.cpu': '1', 'limits.memory': '1Gi' } },
      },
    });
    await quotaReady(ns, 'compute', 'requests.cpu');
    const created = await t.admin.core.createNamespacedPod({ namespace: ns, body: pod('bare') });
    expect(created.spec!.containers[0]!.resources!.requests).toEqual({
      cpu: '200m',
      memory: '64Mi',
    });
    await eventually(
      async () => {
        const q = await t.admin.core.readNamespacedResourceQuota({
          name: 'compute',
          namespace: ns,
        });
        expect(q.status!.used).toEqual({ 'limits.memory': '64Mi', 'requests.cpu': '200m' });
      },
      ON_EMULATOR ? 5_000 : 60_000,
      200,
    );
  });
});
