import { describe, expect, it } from '@jest/globals';
import { createSasTokenProvider } from '@azure/core-amqp';

import { claimCovers, createSasToken, resourcePath, verifySasToken } from '../../src/sas.js';

const KEYS = [
  { name: 'RootManageSharedAccessKey', key: 'SAS_KEY_VALUE' },
  { name: 'SendOnly', key: 'c2VuZA==' },
];
const AUDIENCE = 'sb://localhost:5672/challenges';

describe('SAS token verification', () => {
  it('accepts a token made by @azure/core-amqp itself', async () => {
    const provider = createSasTokenProvider({
      sharedAccessKeyName: 'RootManageSharedAccessKey',
      sharedAccessKey: 'SAS_KEY_VALUE',
    });
    const { token } = await provider.getToken(AUDIENCE);
    const result = verifySasToken(token, KEYS, Date.now());
    expect(result).toMatchObject({
      ok: true,
      keyName: 'RootManageSharedAccessKey',
      resource: AUDIENCE,
    });
  });

  it('uses the key string itself (not base64-decoded) as the HMAC key', () => {
    const token = createSasToken(
      AUDIENCE,
      'SendOnly',
      'c2VuZA==',
      Math.floor(Date.now() / 1000) + 60,
    );
    expect(verifySasToken(token, KEYS, Date.now()).ok).toBe(true);
  });

  it('rejects a wrong key, an unknown key name, expiry and tampering', () => {
    const se = Math.floor(Date.now() / 1000) + 60;
    const wrongKey = createSasToken(AUDIENCE, 'RootManageSharedAccessKey', 'nope', se);
    expect(verifySasToken(wrongKey, KEYS, Date.now())).toEqual({
      ok: false,
      reason: "the signature does not match key 'RootManageSharedAccessKey'",
    });
    const unknown = createSasToken(AUDIENCE, 'Nobody', 'SAS_KEY_VALUE', se);
    expect(verifySasToken(unknown, KEYS, Date.now())).toEqual({
      ok: false,
      reason: "no shared access key named 'Nobody'",
    });
    const expired = createSasToken(
      AUDIENCE,
      'RootManageSharedAccessKey',
      'SAS_KEY_VALUE',
      se - 120,
    );
    expect(verifySasToken(expired, KEYS, Date.now())).toEqual({
      ok: false,
      reason: 'the token has expired',
    });
    const good = createSasToken(AUDIENCE, 'RootManageSharedAccessKey', 'SAS_KEY_VALUE', se);
    const otherResource = good.replace('challenges', 'orders');
    expect(verifySasToken(otherResource, KEYS, Date.now()).ok).toBe(false);
    const longer = good.replace(`se=${se}`, `se=${se + 3600}`);
    expect(verifySasToken(longer, KEYS, Date.now()).ok).toBe(false);
  });

  it('rejects malformed tokens without throwing', () => {
    for (const t of [
      '',
      'Bearer abc',
      'SharedAccessSignature ',
      'SharedAccessSignature sr=a&sig=b',
      'SharedAccessSignature sr=%E0%A4%A&sig=b&se=1&skn=x',
      'SharedAccessSignature sr=a&sig=b&se=soon&skn=RootManageSharedAccessKey',
    ]) {
      expect(verifySasToken(t, KEYS, Date.now()).ok).toBe(false);
    }
  });

  it('never puts key material in a failure reason', () => {
    const token = createSasToken(AUDIENCE, 'RootManageSharedAccessKey', 'wrong', 9_999_999_999);
    const result = verifySasToken(token, KEYS, Date.now());
    expect(JSON.stringify(result)).not.toContain('SAS_KEY_VALUE');
  });

  it('maps audiences to entity paths and checks coverage', () => {
    expect(resourcePath('sb://localhost:5672/Challenges/$management')).toBe(
      'challenges/$management',
    );
    expect(resourcePath('sb://ns.servicebus.windows.net/')).toBe('');
    expect(resourcePath('orders')).toBe('orders');
    expect(claimCovers('', 'orders')).toBe(true);
    expect(claimCovers('orders', 'orders/$management')).toBe(true);
    expect(claimCovers('orders', 'orders2')).toBe(false);
    expect(claimCovers('orders/$management', 'orders')).toBe(false);
  });
});
