/**
 * Authentication and authorization: 401 for an unknown token (body and client-node surface),
 * 403 Status with the upstream message for RBAC denials, SelfSubjectAccessReview and
 * SelfSubjectReview answers for the least-privilege service account.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, fetch } from 'undici';

import { expectApiError, openTarget, uniq, type Target } from './support/target.js';

let t: Target;
let agent: Agent;
beforeAll(async () => {
  t = await openTarget('auth');
  agent = new Agent({ connect: { ca: t.caPem } });
});
afterAll(async () => {
  await agent?.close();
  await t?.close();
});

const SA_USER = (t: Target): string => `system:serviceaccount:${t.namespace}:${t.serviceAccount}`;

describe('401 Unauthorized', () => {
  it('answers an unknown bearer token with the Unauthorized Status', async () => {
    const res = await fetch(`${t.server}/api/v1/namespaces/${t.namespace}/pods`, {
      headers: { Authorization: 'Bearer not-a-valid-token', Accept: 'application/json' },
      dispatcher: agent,
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('surfaces in client-node as ApiException code 401 with an undefined body', async () => {
    const bad = t.clientsFor('not-a-valid-token');
    const e = await expectApiError(bad.core.listNamespacedPod({ namespace: t.namespace }));
    expect(e.code).toBe(401);
    expect(e.body).toBeUndefined();
  });

  it('checks authentication before anything else (401 even for a missing namespace)', async () => {
    const bad = t.clientsFor('not-a-valid-token');
    const e = await expectApiError(
      bad.core.createNamespacedPod({
        namespace: uniq('missing'),
        body: { metadata: { name: 'x' }, spec: { containers: [] } },
      }),
    );
    expect(e.code).toBe(401);
  });
});

describe('403 Forbidden (RBAC)', () => {
  it('denies listing pods in another namespace with the upstream message', async () => {
    const e = await expectApiError(t.sa.core.listNamespacedPod({ namespace: 'default' }));
    expect(e.code).toBe(403);
    expect(e.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `pods is forbidden: User "${SA_USER(t)}" cannot list resource "pods" in API group "" in the namespace "default"`,
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
  });

  it('names the object when the request has a name', async () => {
    const e = await expectApiError(
      t.sa.core.readNamespacedSecret({ name: 'some-secret', namespace: t.namespace }),
    );
    expect(e.code).toBe(403);
    expect(e.status!.message).toBe(
      `secrets "some-secret" is forbidden: User "${SA_USER(t)}" cannot get resource "secrets" in API group "" in the namespace "${t.namespace}"`,
    );
    expect(e.status!.details).toEqual({ name: 'some-secret', kind: 'secrets' });
  });

  it('qualifies resources of named groups and reports cluster scope', async () => {
    const e = await expectApiError(t.sa.rbac.listClusterRole());
    expect(e.code).toBe(403);
    expect(e.status!.message).toBe(
      `clusterroles.rbac.authorization.k8s.io is forbidden: User "${SA_USER(t)}" cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope`,
    );
    expect(e.status!.details).toEqual({ group: 'rbac.authorization.k8s.io', kind: 'clusterroles' });
  });

  it('checks authorization before the namespace exists (403, not 404)', async () => {
    const e = await expectApiError(
      t.sa.core.createNamespacedPod({
        namespace: uniq('missing'),
        body: { metadata: { name: 'x' }, spec: { containers: [] } },
      }),
    );
    expect(e.code).toBe(403);
  });

  it('allows what the Role grants: create, get, list, delete pods in its namespace', async () => {
    const name = uniq('allowed');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const list = await t.sa.core.listNamespacedPod({ namespace: t.namespace });
    expect(list.items.map((p) => p.metadata!.name)).toContain(name);
    await t.sa.core.deleteNamespacedPod({ name, namespace: t.namespace, gracePeriodSeconds: 0 });
  });
});

describe('SelfSubjectAccessReview / SelfSubjectReview', () => {
  it('answers allowed for pods in the namespace, not allowed elsewhere', async () => {
    const ask = (namespace: string, verb: string, resource = 'pods') =>
      t.sa.authz.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { namespace, verb, resource } } },
      });
    const yes = await ask(t.namespace, 'create');
    expect(yes.status!.allowed).toBe(true);
    expect(yes.kind).toBe('SelfSubjectAccessReview');
    const no = await ask('default', 'create');
    expect(no.status!.allowed).toBe(false);
    const secrets = await ask(t.namespace, 'list', 'secrets');
    expect(secrets.status!.allowed).toBe(false);
  });

  it('reports the service account identity', async () => {
    const review = await t.sa.authn.createSelfSubjectReview({ body: {} });
    expect(review.status!.userInfo!.username).toBe(SA_USER(t));
    expect(review.status!.userInfo!.groups).toEqual(
      expect.arrayContaining([
        'system:serviceaccounts',
        `system:serviceaccounts:${t.namespace}`,
        'system:authenticated',
      ]),
    );
  });
});
