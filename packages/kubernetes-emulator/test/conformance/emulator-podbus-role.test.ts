/**
 * Emulator-only: the `podbus` Role every emulated cluster seeds for its service account is the
 * one deploy/target-cluster grants (pods, pods/log, events to read, leases for leader
 * election), and lease watches get BOOKMARKs like pod watches.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AuthorizationV1Api,
  CoordinationV1Api,
  KubeConfig,
  V1MicroTime,
  Watch,
} from '@kubernetes/client-node';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../src/index.js';
import { eventually, expectApiError, uniq } from './support/target.js';

let emulator: KubernetesEmulator;
let c: EmulatedCluster;

function config(token: string, user: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: c.name,
      server: c.server,
      caData: Buffer.from(c.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: user, token },
  );
  return kc;
}

beforeAll(async () => {
  emulator = await startKubernetesEmulator({
    clusters: [{ name: 'role' }],
    watch: { bookmarkIntervalMs: 200 },
  });
  c = emulator.cluster('role');
});
afterAll(async () => {
  await emulator?.stop();
});

describe('the seeded podbus Role', () => {
  it('lets the service account get, create and renew a lease in its namespace, and nothing else on leases', async () => {
    const leases = config(c.serviceAccountToken, 'sa').makeApiClient(CoordinationV1Api);
    const name = uniq('podbus-results');
    const created = await leases.createNamespacedLease({
      namespace: c.namespace,
      body: {
        metadata: { name },
        spec: { holderIdentity: 'replica-0', renewTime: new V1MicroTime() },
      },
    });
    const read = await leases.readNamespacedLease({ name, namespace: c.namespace });
    await leases.replaceNamespacedLease({
      name,
      namespace: c.namespace,
      body: { ...read, spec: { ...read.spec, renewTime: new V1MicroTime() } },
    });
    expect(created.metadata!.namespace).toBe(c.namespace);
    expect(
      (await expectApiError(leases.listNamespacedLease({ namespace: c.namespace }))).code,
    ).toBe(403);
    expect(
      (
        await expectApiError(
          leases.createNamespacedLease({ namespace: 'default', body: { metadata: { name } } }),
        )
      ).code,
    ).toBe(403);
  });

  it('shows the rules in a SelfSubjectRulesReview', async () => {
    const authz = config(c.serviceAccountToken, 'sa-rules').makeApiClient(AuthorizationV1Api);
    const review = await authz.createSelfSubjectRulesReview({
      body: { spec: { namespace: c.namespace } },
    });
    expect(review.status!.resourceRules).toEqual(
      expect.arrayContaining([
        {
          verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch'],
          apiGroups: [''],
          resources: ['pods'],
        },
        { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] },
        { verbs: ['list', 'watch'], apiGroups: [''], resources: ['events'] },
        {
          verbs: ['get', 'create', 'update'],
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
        },
      ]),
    );
  });
});

describe('lease watches', () => {
  it('send BOOKMARK events like pod watches', async () => {
    const bookmarks: unknown[] = [];
    const controller = await new Watch(config(c.adminToken, 'admin')).watch(
      `/apis/coordination.k8s.io/v1/namespaces/${c.namespace}/leases`,
      { allowWatchBookmarks: true, resourceVersion: '0' },
      (type, obj) => {
        if (type === 'BOOKMARK') bookmarks.push(obj);
      },
      () => undefined,
    );
    try {
      await eventually(async () => {
        if (bookmarks.length === 0) throw new Error('no bookmark yet');
      }, 5_000);
    } finally {
      controller.abort();
    }
    expect(bookmarks[0]).toEqual({
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    });
  });
});
