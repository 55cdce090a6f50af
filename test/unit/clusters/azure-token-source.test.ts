import type { AccessToken, TokenCredential } from '@azure/identity';
import { describe, expect, it, jest } from '@jest/globals';

import { DEFAULT_IDENTITY_SETTINGS } from '../../../src/azure/credential.js';
import {
  AZURE_RETRY_AFTER_FAILURE_MS,
  AZURE_TOKEN_TIMEOUT_MS,
  AzureTokenSource,
} from '../../../src/clusters/azure-token-source.js';
import { silentLogger } from '../../../src/clusters/logger.js';
import { AKS_SCOPE, type AzureClusterAuth } from '../../../src/clusters/cluster-entry.js';

const auth: AzureClusterAuth = {
  type: 'azure',
  credential: 'workload-identity',
  scope: AKS_SCOPE,
  identity: DEFAULT_IDENTITY_SETTINGS,
};
const HOUR = 3_600_000;

/** A TokenCredential (core-auth's interface) answering from a script. */
function credential(answers: (AccessToken | Error)[]) {
  const scopes: string[] = [];
  const fake: TokenCredential = {
    getToken: async (scope) => {
      scopes.push(String(scope));
      const next = answers.shift();
      if (next === undefined || next instanceof Error) throw next ?? new Error('no more tokens');
      return next;
    },
  };
  return { fake, scopes };
}

describe('AzureTokenSource', () => {
  it('asks for the AKS scope and renews five minutes before expiry', async () => {
    let now = 0;
    const { fake, scopes } = credential([
      { token: 'a', expiresOnTimestamp: HOUR },
      { token: 'b', expiresOnTimestamp: 2 * HOUR },
    ]);
    const source = new AzureTokenSource({
      cluster: 'aks',
      auth,
      now: () => now,
      credential: async () => fake,
    });
    expect(await source.current()).toBe('a');
    now = HOUR - 5 * 60_000 - 1;
    expect(await source.current()).toBe('a');
    now = HOUR - 5 * 60_000;
    expect(await source.current()).toBe('b');
    expect(scopes).toEqual([AKS_SCOPE, AKS_SCOPE]);
  });

  it('renews at the credential refresh time when it comes first', async () => {
    let now = 0;
    const { fake } = credential([
      { token: 'a', expiresOnTimestamp: 24 * HOUR, refreshAfterTimestamp: HOUR },
      { token: 'b', expiresOnTimestamp: 48 * HOUR },
    ]);
    const source = new AzureTokenSource({
      cluster: 'aks',
      auth,
      now: () => now,
      credential: async () => fake,
    });
    expect(await source.current()).toBe('a');
    now = HOUR;
    expect(await source.current()).toBe('b');
  });

  it('keeps a token that still works when a renewal fails', async () => {
    let now = 0;
    const { fake } = credential([
      { token: 'a', expiresOnTimestamp: HOUR },
      new Error('Entra ID unreachable'),
    ]);
    const source = new AzureTokenSource({
      cluster: 'aks',
      auth,
      now: () => now,
      credential: async () => fake,
    });
    await source.current();
    now = HOUR - 60_000;
    expect(await source.current()).toBe('a');
  });

  it('after a failed renewal, asks again after a pause, not on every call', async () => {
    let now = 0;
    const { fake, scopes } = credential([
      { token: 'a', expiresOnTimestamp: HOUR },
      new Error('Entra ID unreachable'),
      { token: 'b', expiresOnTimestamp: 2 * HOUR },
    ]);
    const warnings: string[] = [];
    const source = new AzureTokenSource({
      cluster: 'aks',
      auth,
      now: () => now,
      credential: async () => fake,
      logger: { ...silentLogger, warn: (_fields, message) => warnings.push(message) },
    });
    await source.current();
    now = HOUR - 4 * 60_000;
    for (let call = 0; call < 100; call += 1) expect(await source.current()).toBe('a');
    expect(scopes).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    now += AZURE_RETRY_AFTER_FAILURE_MS;
    expect(await source.current()).toBe('b');
    expect(scopes).toHaveLength(3);
  });

  it('renews a token shorter-lived than the margin half-way, not on every call', async () => {
    let now = 0;
    const { fake, scopes } = credential([
      { token: 'a', expiresOnTimestamp: 2 * 60_000 },
      { token: 'b', expiresOnTimestamp: 4 * 60_000 },
    ]);
    const source = new AzureTokenSource({
      cluster: 'aks',
      auth,
      now: () => now,
      credential: async () => fake,
    });
    expect(await source.current()).toBe('a');
    now = 60_000 - 1;
    expect(await source.current()).toBe('a');
    expect(scopes).toHaveLength(1);
    now = 60_000;
    expect(await source.current()).toBe('b');
  });

  it('fails a token request that never answers instead of holding the calls', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const hanging: TokenCredential = { getToken: () => new Promise(() => {}) };
      const source = new AzureTokenSource({
        cluster: 'aks',
        auth,
        credential: async () => hanging,
      });
      const pending = source.current();
      const outcome = expect(pending).rejects.toThrow(/the credential did not answer within 30 s/);
      await jest.advanceTimersByTimeAsync(AZURE_TOKEN_TIMEOUT_MS);
      await outcome;
    } finally {
      jest.useRealTimers();
    }
  });

  it('fails with what to fix when no token can be had', async () => {
    const unavailable = Object.assign(new Error('WorkloadIdentityCredential: is unavailable.'), {
      name: 'CredentialUnavailableError',
    });
    const { fake } = credential([unavailable]);
    const source = new AzureTokenSource({ cluster: 'aks', auth, credential: async () => fake });
    await expect(source.current()).rejects.toThrow(
      /^cluster aks: no Entra ID token for 6dae42f8-4368-4678-94ff-3960e28e3630\/\.default \(credential workload-identity\): WorkloadIdentityCredential: is unavailable\.; no Entra ID credential is available for credential workload-identity: workload identity needs AZURE_CLIENT_ID/,
    );
  });

  it('asks again after a 401 and says whether the token changed', async () => {
    const { fake } = credential([
      { token: 'a', expiresOnTimestamp: Date.now() + HOUR },
      { token: 'a', expiresOnTimestamp: Date.now() + HOUR },
      { token: 'c', expiresOnTimestamp: Date.now() + HOUR },
    ]);
    const source = new AzureTokenSource({ cluster: 'aks', auth, credential: async () => fake });
    await source.current();
    expect(await source.refreshAfterUnauthorized('a')).toBe(false);
    expect(await source.refreshAfterUnauthorized('a')).toBe(true);
  });
});
