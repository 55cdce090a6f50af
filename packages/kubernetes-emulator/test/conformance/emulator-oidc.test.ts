/**
 * Emulator-only: bearer tokens from an OIDC issuer configured as kube-apiserver's structured
 * authentication configuration, end to end with client-node and kubectl. The issuer is a
 * stand-in for Microsoft Entra ID (support/oidc-issuer.ts: discovery and JWKS over HTTPS with
 * its own CA, Entra-shaped access tokens for the AKS server application), configured as a
 * cluster using Entra ID would be: audience 6dae42f8-..., the tenant required in `tid`, the user
 * named by `oid`, groups by object id. RBAC then applies as to any user; bad tokens are 401.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';

import {
  startKubernetesEmulator,
  type AuthenticationConfiguration,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../src/index.js';
import { AKS_SERVER_APP, startEntraStandIn, type EntraStandIn } from './support/oidc-issuer.js';
import { expectApiError, uniq } from './support/target.js';

const run = promisify(execFile);

let entra: EntraStandIn;
let emulator: KubernetesEmulator;
let aks: EmulatedCluster;
let agent: Agent;

function entraConfig(): AuthenticationConfiguration {
  return {
    apiVersion: 'apiserver.config.k8s.io/v1beta1',
    kind: 'AuthenticationConfiguration',
    jwt: [
      {
        issuer: {
          url: entra.issuer,
          discoveryURL: entra.discoveryURL,
          certificateAuthority: entra.caPem,
          audiences: [AKS_SERVER_APP],
        },
        claimValidationRules: [{ claim: 'tid', requiredValue: entra.tenant }],
        claimMappings: {
          username: { claim: 'oid', prefix: '' },
          groups: { claim: 'groups', prefix: '' },
        },
      },
    ],
  };
}

function clientsFor(c: EmulatedCluster, token: string) {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: c.name,
      server: c.server,
      caData: Buffer.from(c.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: `u-${uniq('t')}`, token },
  );
  return {
    core: kc.makeApiClient(CoreV1Api),
    authn: kc.makeApiClient(AuthenticationV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
  };
}

/** The raw answer to GET /api/v1/namespaces/<ns>/pods with `token`. */
async function rawList(
  c: EmulatedCluster,
  token: string,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${c.server}/api/v1/namespaces/${c.namespace}/pods`, {
    headers: { Authorization: `Bearer ${token}` },
    dispatcher: agent,
  });
  return { status: res.status, body: await res.json() };
}

const servicePrincipal = {
  oid: '5b3a1c2e-0f4d-4e8a-9c7b-1a2b3c4d5e6f',
  appid: '0c9a8b7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d',
  groups: ['2f4e6d8c-0a1b-4c3d-9e8f-7a6b5c4d3e2f'],
};

beforeAll(async () => {
  entra = await startEntraStandIn();
  emulator = await startKubernetesEmulator({
    clusters: [{ name: 'aks', authenticationConfig: entraConfig() }],
  });
  aks = emulator.cluster('aks');
  agent = new Agent({ connect: { ca: aks.caPem } });
});
afterAll(async () => {
  await agent?.close();
  await emulator?.stop();
  await entra?.close();
});

describe('an Entra ID access token for the AKS server application', () => {
  it('authenticates as its oid with its groups (SelfSubjectReview, as kubectl auth whoami)', async () => {
    const { authn } = clientsFor(aks, entra.token(servicePrincipal));
    const review = await authn.createSelfSubjectReview({ body: {} });
    expect(review.status!.userInfo).toEqual({
      username: servicePrincipal.oid,
      groups: [...servicePrincipal.groups, 'system:authenticated'],
    });
  });

  it('is authorized by RBAC like any user: 403 until bound, then what its RoleBinding grants', async () => {
    const token = entra.token(servicePrincipal);
    const sp = clientsFor(aks, token);
    const denied = await expectApiError(sp.core.listNamespacedPod({ namespace: aks.namespace }));
    expect(denied.code).toBe(403);
    expect(denied.status!.message).toBe(
      `pods is forbidden: User "${servicePrincipal.oid}" cannot list resource "pods" in API group "" in the namespace "${aks.namespace}"`,
    );
    const admin = clientsFor(aks, aks.adminToken);
    await admin.rbac.createNamespacedRoleBinding({
      namespace: aks.namespace,
      body: {
        metadata: { name: 'podbus-entra' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'podbus' },
        subjects: [
          { kind: 'User', name: servicePrincipal.oid, apiGroup: 'rbac.authorization.k8s.io' },
        ],
      },
    });
    const created = await sp.core.createNamespacedPod({
      namespace: aks.namespace,
      body: {
        metadata: { name: uniq('entra') },
        spec: { containers: [{ name: 'main', image: 'busybox' }] },
      },
    });
    expect(created.metadata!.uid).toBeTruthy();
    expect((await expectApiError(sp.core.listNamespacedPod({ namespace: 'default' }))).code).toBe(
      403,
    );
  });

  it('a RoleBinding to a group (by object id) applies to every member', async () => {
    const group = '8e7d6c5b-4a39-4281-9f0e-d1c2b3a4f5e6';
    const member = clientsFor(
      aks,
      entra.token({ oid: 'c0ffee00-1111-2222-3333-444455556666', groups: [group] }),
    );
    expect(
      (await expectApiError(member.core.listNamespacedConfigMap({ namespace: aks.namespace })))
        .code,
    ).toBe(403);
    await clientsFor(aks, aks.adminToken).rbac.createNamespacedRoleBinding({
      namespace: aks.namespace,
      body: {
        metadata: { name: 'readers' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'Group', name: group, apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
    const list = await member.core.listNamespacedConfigMap({ namespace: aks.namespace });
    expect(list.items.map((c) => c.metadata!.name)).toContain('kube-root-ca.crt');
  });

  it('works with kubectl --token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'podbus-oidc-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      await emulator.writeKubeconfig(kubeconfig);
      const { stdout } = await run(
        'kubectl',
        [
          '--kubeconfig',
          kubeconfig,
          '--context',
          'aks',
          '--token',
          entra.token(servicePrincipal),
          'auth',
          'whoami',
          '-o',
          'json',
        ],
        { timeout: 60_000 },
      );
      const review = JSON.parse(stdout) as { status: { userInfo: { username: string } } };
      expect(review.status.userInfo.username).toBe(servicePrincipal.oid);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a TokenReview of it answers for the API server audience', async () => {
    const admin = clientsFor(aks, aks.adminToken);
    const review = await admin.authn.createTokenReview({
      body: { spec: { token: entra.token(servicePrincipal) } },
    });
    expect(review.status).toMatchObject({
      authenticated: true,
      user: { username: servicePrincipal.oid },
      audiences: ['https://kubernetes.default.svc.cluster.local'],
    });
  });
});

describe('tokens the cluster refuses: 401, as for any bad token', () => {
  const unauthorized = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Unauthorized',
    reason: 'Unauthorized',
    code: 401,
  };

  it.each([
    [
      'expired',
      () => entra.token({ ...servicePrincipal, exp: Math.floor(Date.now() / 1000) - 60 }),
    ],
    [
      'for another audience (Azure Resource Manager)',
      () => entra.token({ ...servicePrincipal, aud: 'https://management.core.windows.net/' }),
    ],
    ['of another tenant', () => entra.token({ ...servicePrincipal, tid: 'another-tenant' })],
    [
      'signed by a key the issuer never published',
      () => entra.token(servicePrincipal, { key: 'stranger' }),
    ],
    [
      'from an issuer not configured (Entra v2 issuer)',
      () =>
        entra.token({
          ...servicePrincipal,
          iss: `https://login.microsoftonline.com/${entra.tenant}/v2.0`,
        }),
    ],
  ])('%s', async (_what, token) => {
    const answer = await rawList(aks, token());
    expect(answer).toEqual({ status: 401, body: unauthorized });
    const e = await expectApiError(
      clientsFor(aks, token()).core.listNamespacedPod({ namespace: aks.namespace }),
    );
    expect(e.code).toBe(401);
  });

  it('an ES256 token is refused with the default --oidc-signing-algs, accepted when ES256 is allowed', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issuer = 'https://issuer.example/';
    const es256 = (() => {
      const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'e1' })).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: issuer, aud: 'emulator', sub: 'robot', exp: now + 600 };
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      const sig = sign('sha256', Buffer.from(`${header}.${payload}`), {
        key: ec.privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      return `${header}.${payload}.${sig.toString('base64url')}`;
    })();
    const jwt = {
      issuer: {
        url: issuer,
        audiences: ['emulator'],
        jwks: { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'e1' }] },
      },
      claimMappings: { username: { claim: 'sub', prefix: 'oidc:' } },
    };
    const two = await startKubernetesEmulator({
      clusters: [
        { name: 'rs-only', authenticationConfig: { jwt: [jwt] } },
        {
          name: 'with-es',
          authenticationConfig: { jwt: [jwt] },
          oidcSigningAlgs: ['RS256', 'ES256'],
        },
      ],
    });
    try {
      const rsOnly = clientsFor(two.cluster('rs-only'), es256);
      expect((await expectApiError(rsOnly.authn.createSelfSubjectReview({ body: {} }))).code).toBe(
        401,
      );
      const withEs = clientsFor(two.cluster('with-es'), es256);
      const review = await withEs.authn.createSelfSubjectReview({ body: {} });
      expect(review.status!.userInfo!.username).toBe('oidc:robot');
    } finally {
      await two.stop();
    }
  });
});

describe('key rotation and reconfiguration', () => {
  it('a token signed with a newly published key is accepted: the keys are fetched again', async () => {
    const before = entra.jwksRequests;
    entra.rotate();
    const { authn } = clientsFor(aks, entra.token(servicePrincipal));
    const review = await authn.createSelfSubjectReview({ body: {} });
    expect(review.status!.userInfo!.username).toBe(servicePrincipal.oid);
    expect(entra.jwksRequests).toBe(before + 1);
    // Tokens of the previous key stay valid while it is published.
    const old = clientsFor(aks, entra.token(servicePrincipal, { key: 'retired' }));
    await expect(old.authn.createSelfSubjectReview({ body: {} })).resolves.toBeDefined();
  });

  it('the admin endpoint shows, refuses, replaces and removes the configuration', async () => {
    const admin = async (method: string, body?: unknown) => {
      const res = await fetch(`${aks.server}/_emulator/authentication-config`, {
        method,
        headers: { Authorization: `Bearer ${aks.adminToken}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: agent,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const shown = await admin('GET');
    expect(shown).toEqual({ status: 200, body: { config: entraConfig(), keyFetchErrors: {} } });
    const bad = await admin('PUT', {
      jwt: [
        { ...entraConfig().jwt[0], issuer: { ...entraConfig().jwt[0]!.issuer, url: 'http://x' } },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe(
      'authentication config is invalid: jwt[0].issuer.url: Invalid value: "http://x": URL scheme must be https',
    );
    const token = entra.token(servicePrincipal);
    expect((await admin('DELETE')).body).toEqual({ config: null, keyFetchErrors: {} });
    expect((await rawList(aks, token)).status).toBe(401);
    expect((await admin('PUT', entraConfig())).status).toBe(200);
    const review = await clientsFor(aks, token).authn.createSelfSubjectReview({ body: {} });
    expect(review.status!.userInfo!.username).toBe(servicePrincipal.oid);
  });
});
