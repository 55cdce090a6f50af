import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  decodeJwt,
  SERVICE_BUS_RESOURCE,
  startEntraEmulator,
  type EntraEmulator,
} from '../../src/index.js';

/**
 * The unmodified @azure/identity credentials against the endpoint, in this process: MSAL's
 * discovery and token requests with `authorityHost` + `disableInstanceDiscovery`, the endpoint's
 * CA trusted through the credentials' own `tlsOptions` (core-rest-pipeline).
 */
const SERVICE_BUS_SCOPE = 'https://servicebus.azure.net//.default';
const AKS_SCOPE = '6dae42f8-4368-4678-94ff-3960e28e3630/.default';

let entra: EntraEmulator;
const app = { clientId: randomUUID(), objectId: randomUUID(), secret: 'the-secret-value' };
const workload = { clientId: randomUUID(), objectId: randomUUID() };
const subject = 'system:serviceaccount:podbus:podbus';

beforeAll(async () => {
  entra = await startEntraEmulator({
    applications: [
      {
        clientId: app.clientId,
        objectId: app.objectId,
        secrets: [app.secret],
        roles: ['Azure Service Bus Data Sender'],
      },
    ],
    managedIdentities: [{ clientId: randomUUID(), groups: ['aks-admins'] }],
  });
  entra.addApplication({
    clientId: workload.clientId,
    objectId: workload.objectId,
    federatedCredentials: [{ issuer: entra.federationIssuer, subject }],
  });
});

afterAll(() => entra.close());

const common = () => ({
  authorityHost: entra.authorityHost,
  disableInstanceDiscovery: true,
  tlsOptions: { ca: entra.caPem },
  retryOptions: { maxRetries: 0 },
});

function claimsOf(token: string): Record<string, unknown> {
  return decodeJwt(token)!.payload;
}

describe('ClientSecretCredential', () => {
  it('gets a v1 access token for Service Bus with the Entra claims', async () => {
    const credential = new ClientSecretCredential(
      entra.tenantId,
      app.clientId,
      app.secret,
      common(),
    );
    const token = await credential.getToken(SERVICE_BUS_SCOPE);
    const claims = claimsOf(token.token);
    expect(claims).toMatchObject({
      aud: SERVICE_BUS_RESOURCE,
      iss: `https://sts.windows.net/${entra.tenantId}/`,
      tid: entra.tenantId,
      oid: app.objectId,
      appid: app.clientId,
      appidacr: '1',
      roles: ['Azure Service Bus Data Sender'],
      ver: '1.0',
    });
    expect(decodeJwt(token.token)!.header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const now = Date.now() / 1000;
    expect(claims.nbf as number).toBeLessThanOrEqual(now);
    expect(claims.exp as number).toBeGreaterThan(now + 3000);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it('refuses a wrong secret with AADSTS7000215', async () => {
    const credential = new ClientSecretCredential(entra.tenantId, app.clientId, 'wrong', common());
    await expect(credential.getToken(SERVICE_BUS_SCOPE)).rejects.toThrow(/AADSTS7000215/);
  });

  it('refuses an unknown application with AADSTS700016', async () => {
    const credential = new ClientSecretCredential(entra.tenantId, randomUUID(), 'x', common());
    await expect(credential.getToken(AKS_SCOPE)).rejects.toThrow(/AADSTS700016/);
  });
});

describe('WorkloadIdentityCredential', () => {
  it('exchanges the projected service-account token for an AKS token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entra-wi-'));
    const tokenFilePath = join(dir, 'azure-identity-token');
    writeFileSync(tokenFilePath, entra.federatedToken(subject));
    const credential = new WorkloadIdentityCredential({
      ...common(),
      tenantId: entra.tenantId,
      clientId: workload.clientId,
      tokenFilePath,
    });
    const token = await credential.getToken(AKS_SCOPE);
    expect(claimsOf(token.token)).toMatchObject({
      aud: '6dae42f8-4368-4678-94ff-3960e28e3630',
      oid: workload.objectId,
      appidacr: '2',
    });
  });

  it('refuses an assertion for another subject with AADSTS70021', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entra-wi-'));
    const tokenFilePath = join(dir, 'azure-identity-token');
    writeFileSync(tokenFilePath, entra.federatedToken('system:serviceaccount:other:other'));
    const credential = new WorkloadIdentityCredential({
      ...common(),
      tenantId: entra.tenantId,
      clientId: workload.clientId,
      tokenFilePath,
    });
    await expect(credential.getToken(AKS_SCOPE)).rejects.toThrow(/AADSTS70021/);
  });
});

describe('ManagedIdentityCredential (App Service protocol through IDENTITY_ENDPOINT)', () => {
  it('gets a token for the system-assigned identity', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, entra.managedIdentityEnv);
    try {
      const credential = new ManagedIdentityCredential({ tlsOptions: { ca: entra.caPem } });
      const token = await credential.getToken(SERVICE_BUS_SCOPE);
      expect(claimsOf(token.token)).toMatchObject({
        aud: SERVICE_BUS_RESOURCE,
        groups: ['aks-admins'],
        tid: entra.tenantId,
      });
    } finally {
      process.env = saved;
    }
  });
});
