/**
 * Service-account tokens: the legacy token Secret gets `token`, `ca.crt` and `namespace` filled in
 * by the controller (the seed's flow), and TokenRequest issues expiring tokens (< 10 min -> 422).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  eventually,
  expectApiError,
  ON_EMULATOR,
  openTarget,
  uniq,
  type Target,
} from './support/target.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget('tokens');
});
afterAll(async () => {
  await t?.close();
});

function decode(b64: string | undefined): string {
  return Buffer.from(b64 ?? '', 'base64').toString('utf8');
}

describe('kubernetes.io/service-account-token Secret', () => {
  it('gets token, ca.crt and namespace shortly after creation, and the token authenticates', async () => {
    const sa = uniq('legacy');
    await t.admin.core.createNamespacedServiceAccount({
      namespace: t.namespace,
      body: { metadata: { name: sa } },
    });
    const secretName = `${sa}-token`;
    const created = await t.admin.core.createNamespacedSecret({
      namespace: t.namespace,
      body: {
        metadata: { name: secretName, annotations: { 'kubernetes.io/service-account.name': sa } },
        type: 'kubernetes.io/service-account-token',
      },
    });
    expect(created.type).toBe('kubernetes.io/service-account-token');
    const filled = await eventually(
      async () => {
        const s = await t.admin.core.readNamespacedSecret({
          name: secretName,
          namespace: t.namespace,
        });
        if (!s.data?.token) throw new Error('token not populated yet');
        return s;
      },
      ON_EMULATOR ? 5_000 : 60_000,
    );
    expect(decode(filled.data!.namespace)).toBe(t.namespace);
    expect(decode(filled.data!['ca.crt'])).toContain('-----BEGIN CERTIFICATE-----');
    expect(filled.metadata!.annotations!['kubernetes.io/service-account.uid']).toMatch(
      /^[0-9a-f-]{36}$/,
    );
    const token = decode(filled.data!.token);
    expect(token.split('.')).toHaveLength(3); // a JWT
    const who = await t.clientsFor(token).authn.createSelfSubjectReview({ body: {} });
    expect(who.status!.userInfo!.username).toBe(`system:serviceaccount:${t.namespace}:${sa}`);
  });

  it('422 when the service-account annotation is missing', async () => {
    const e = await expectApiError(
      t.admin.core.createNamespacedSecret({
        namespace: t.namespace,
        body: { metadata: { name: uniq('noanno') }, type: 'kubernetes.io/service-account-token' },
      }),
    );
    expect(e.code).toBe(422);
    const causes = (e.status!.details as { causes: { reason: string; field: string }[] }).causes;
    expect(causes).toEqual([
      expect.objectContaining({
        reason: 'FieldValueRequired',
        field: 'metadata.annotations[kubernetes.io/service-account.name]',
      }),
    ]);
  });
});

describe('TokenRequest (serviceaccounts/<name>/token)', () => {
  it('issues a token with the requested lifetime that authenticates as the service account', async () => {
    const before = Date.now();
    const tr = await t.admin.core.createNamespacedServiceAccountToken({
      name: t.serviceAccount,
      namespace: t.namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    expect(tr.status!.token).toBeTruthy();
    const exp = new Date(tr.status!.expirationTimestamp as unknown as string).getTime();
    expect(exp).toBeGreaterThan(before + 3500_000);
    expect(exp).toBeLessThan(Date.now() + 3700_000);
    const who = await t
      .clientsFor(tr.status!.token ?? '')
      .authn.createSelfSubjectReview({ body: {} });
    expect(who.status!.userInfo!.username).toBe(
      `system:serviceaccount:${t.namespace}:${t.serviceAccount}`,
    );
  });

  it('rejects lifetimes under 10 minutes with 422 on spec.expirationSeconds', async () => {
    const e = await expectApiError(
      t.admin.core.createNamespacedServiceAccountToken({
        name: t.serviceAccount,
        namespace: t.namespace,
        body: { spec: { audiences: [], expirationSeconds: 60 } },
      }),
    );
    expect(e.code).toBe(422);
    expect(e.status!.reason).toBe('Invalid');
    const causes = (
      e.status!.details as { causes: { reason: string; field: string; message: string }[] }
    ).causes;
    expect(causes[0]).toMatchObject({
      reason: 'FieldValueInvalid',
      field: 'spec.expirationSeconds',
    });
    expect(causes[0]!.message).toMatch(
      /^Invalid value: 60: may not specify a duration less than 10 minutes/,
    );
  });

  it('404 for a service account that does not exist', async () => {
    const e = await expectApiError(
      t.admin.core.createNamespacedServiceAccountToken({
        name: 'nobody',
        namespace: t.namespace,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      }),
    );
    expect(e.code).toBe(404);
    expect(e.status!.message).toBe('serviceaccounts "nobody" not found');
  });

  it('a token for another audience does not authenticate against the API server', async () => {
    const tr = await t.admin.core.createNamespacedServiceAccountToken({
      name: t.serviceAccount,
      namespace: t.namespace,
      body: { spec: { audiences: ['https://example.invalid/other'], expirationSeconds: 3600 } },
    });
    const e = await expectApiError(
      t.clientsFor(tr.status!.token ?? '').core.listNamespacedPod({ namespace: t.namespace }),
    );
    expect(e.code).toBe(401);
  });
});
