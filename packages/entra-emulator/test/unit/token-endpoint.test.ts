import { randomUUID } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';

import { Directory } from '../../src/directory.js';
import { decodeJwt, newSigningKey, publicJwk, signJwt } from '../../src/jwt.js';
import { handleTokenRequest, type TokenEndpointContext } from '../../src/token-endpoint.js';
import { resourceOfScope, TokenSigner } from '../../src/tokens.js';

const tenantId = randomUUID();
const issuerKey = newSigningKey();
const federation = 'https://oidc.example/cluster';

function context(clockSkewSeconds = 0): TokenEndpointContext {
  const directory = new Directory();
  directory.addApplication({ clientId: 'app', secrets: ['s3cret'] });
  directory.addApplication({
    clientId: 'workload',
    federatedCredentials: [{ issuer: federation, subject: 'system:serviceaccount:ns:sa' }],
  });
  return {
    tenantId,
    directory,
    signer: new TokenSigner({ tenantId, lifetimeSeconds: 3600, clockSkewSeconds }),
    trustedIssuers: new Map([[federation, () => [publicJwk(issuerKey)]]]),
  };
}

const form = (fields: Record<string, string>) =>
  new URLSearchParams({ grant_type: 'client_credentials', ...fields });

function assertion(claims: Record<string, unknown>, key = issuerKey): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      iss: federation,
      sub: 'system:serviceaccount:ns:sa',
      aud: ['api://AzureADTokenExchange'],
      nbf: now,
      exp: now + 600,
      ...claims,
    },
    key,
  );
}

const assertionForm = (token: string) =>
  form({
    client_id: 'workload',
    scope: 'https://servicebus.azure.net//.default',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: token,
  });

describe('resourceOfScope', () => {
  it.each([
    ['https://servicebus.azure.net//.default', 'https://servicebus.azure.net/'],
    ['https://servicebus.azure.net/.default', 'https://servicebus.azure.net'],
    ['6dae42f8-4368-4678-94ff-3960e28e3630/.default', '6dae42f8-4368-4678-94ff-3960e28e3630'],
    ['openid profile', undefined],
    ['/.default', undefined],
  ])('%s -> %s', (scope, resource) => {
    expect(resourceOfScope(scope)).toBe(resource);
  });
});

describe('the client credentials grant', () => {
  it('answers an unknown tenant with AADSTS90002', () => {
    const res = handleTokenRequest(context(), randomUUID(), form({ client_id: 'app' }));
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/^AADSTS90002: Tenant '.*' not found/);
  });

  it('refuses a scope without /.default with AADSTS1002012', () => {
    const res = handleTokenRequest(
      context(),
      tenantId,
      form({ client_id: 'app', client_secret: 's3cret', scope: 'https://servicebus.azure.net' }),
    );
    expect(res.body).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
  });

  it('refuses a client without a secret or assertion with AADSTS7000218', () => {
    const res = handleTokenRequest(
      context(),
      tenantId,
      form({ client_id: 'app', scope: 'x/.default' }),
    );
    expect(res).toMatchObject({
      status: 401,
      body: { error: 'invalid_client', error_codes: [7000218] },
    });
  });

  it('stamps tokens with a skewed clock: expires_in stays the lifetime, exp is in the past', () => {
    const res = handleTokenRequest(
      context(-7200),
      tenantId,
      form({ client_id: 'app', client_secret: 's3cret', scope: 'x/.default' }),
    );
    expect(res.body.expires_in).toBe(3600);
    const exp = decodeJwt(res.body.access_token as string)!.payload.exp as number;
    expect(exp).toBeLessThan(Date.now() / 1000);
  });
});

describe('federated credentials', () => {
  it('issues a token for a matching, valid assertion', () => {
    const res = handleTokenRequest(context(), tenantId, assertionForm(assertion({})));
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token as string)!.payload.appidacr).toBe('2');
  });

  it('refuses an assertion signed by an unknown key with AADSTS700027', () => {
    const res = handleTokenRequest(
      context(),
      tenantId,
      assertionForm(assertion({}, newSigningKey())),
    );
    expect(res.body.error_codes).toEqual([700027]);
  });

  it('refuses an expired assertion with AADSTS700024', () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const res = handleTokenRequest(
      context(),
      tenantId,
      assertionForm(assertion({ nbf: past - 600, exp: past })),
    );
    expect(res.body.error_codes).toEqual([700024]);
  });

  it('refuses an assertion for another audience with AADSTS70021', () => {
    const res = handleTokenRequest(context(), tenantId, assertionForm(assertion({ aud: 'other' })));
    expect(res.body.error_description).toMatch(/^AADSTS70021: .*Assertion Audience: 'other'/);
  });
});
