import { execFile } from 'node:child_process';
import {
  createHash,
  generateKeyPairSync,
  randomUUID,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { generateCertificates } from '../../src/certificates.js';
import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';

/**
 * Microsoft Entra ID tokens on $cbs: the unmodified SDK with a TokenCredential (put-token of type
 * "jwt") over AMQPS, in a child process that trusts the emulator's CA (NODE_EXTRA_CA_CERTS). The
 * tokens are signed here, shaped as Entra signs them for Service Bus; the issuer's keys are
 * fetched through its discovery document from a small HTTPS server with its own CA.
 */
const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

const tenant = randomUUID();
const issuer = `https://sts.windows.net/${tenant}/`;
const receiverOid = randomUUID();
const senderGroup = randomUUID();
const ownerOid = randomUUID();

interface Key {
  kid: string;
  privateKey: KeyObject;
  jwk: JsonWebKey;
}
function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = createHash('sha1')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('base64url');
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}
const published: Key[] = [newKey()];
const stranger = newKey();

function token(claims: Record<string, unknown>, key: Key = published.at(-1)!): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', kid: key.kid, x5t: key.kid };
  const payload = {
    aud: 'https://servicebus.azure.net/',
    iss: issuer,
    iat: now - 300,
    nbf: now - 300,
    exp: now + 3600,
    tid: tenant,
    oid: randomUUID(),
    ver: '1.0',
    ...claims,
  };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

let dir: string;
let keysServer: Server;
let jwksRequests = 0;
let emulator: ServiceBusEmulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podbus-sb-entra-'));
  const certs = generateCertificates(['127.0.0.1']);
  let base = '';
  keysServer = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (req.url === `/${tenant}/.well-known/openid-configuration`) {
      res.end(JSON.stringify({ issuer, jwks_uri: `${base}/${tenant}/discovery/keys` }));
    } else {
      jwksRequests++;
      res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    }
  });
  await new Promise<void>((resolve) => keysServer.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(keysServer.address() as AddressInfo).port}`;
  emulator = await startServiceBusEmulator({
    config: {
      UserConfig: {
        Namespaces: [
          { Name: 'sbemulatorns', Queues: [{ Name: 'challenges' }, { Name: 'results' }] },
        ],
      },
    },
    tls: { port: 0, caFile: join(dir, 'ca.pem') },
    entra: {
      issuers: [
        {
          issuer,
          discoveryUrl: `${base}/${tenant}/.well-known/openid-configuration`,
          ca: certs.caPem,
        },
      ],
      roleAssignments: [
        { principalId: receiverOid, role: 'Azure Service Bus Data Receiver', scope: 'challenges' },
        { principalId: senderGroup, role: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' },
        { principalId: ownerOid, role: 'Azure Service Bus Data Owner' },
      ],
    },
  });
});

afterAll(async () => {
  await emulator.stop();
  keysServer.closeAllConnections();
  await new Promise<void>((resolve) => keysServer.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function client(
  jwt: string,
  action: 'send' | 'receive' | 'schedule' | 'hold',
  queue = 'challenges',
  holdMs = 0,
): Promise<{ ok: boolean; code?: string; message?: string; received?: number }> {
  const { stdout } = await run(process.execPath, [join(here, 'entra-client.mjs')], {
    env: {
      ...process.env,
      SB_NAMESPACE: `localhost:${emulator.tls!.port}`,
      SB_JWT: jwt,
      SB_ACTION: action,
      SB_QUEUE: queue,
      SB_HOLD_MS: String(holdMs),
      NODE_EXTRA_CA_CERTS: emulator.tls!.caFile!,
    },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string);
}

describe('Entra ID tokens on $cbs', () => {
  it('lets a Data Owner (assigned to its oid) send and receive', async () => {
    const owner = token({ oid: ownerOid });
    expect(await client(owner, 'send')).toEqual({ ok: true });
    expect(await client(owner, 'receive')).toEqual({ ok: true, received: 1 });
  });

  it('grants nothing for a roles claim, as the service reads only role assignments', async () => {
    const claimed = await client(token({ roles: ['Azure Service Bus Data Owner'] }), 'send');
    expect(claimed).toMatchObject({ ok: false, code: 'UnauthorizedAccess' });
    expect(claimed.message).toMatch(/'Send' claim\(s\) are required/);
  });

  it('gives a Data Sender (assigned to its group, by role ID) Send and not Listen', async () => {
    const sender = token({ groups: [senderGroup] });
    expect(await client(sender, 'send')).toEqual({ ok: true });
    expect(await client(sender, 'schedule')).toEqual({ ok: true });
    const refused = await client(sender, 'receive');
    expect(refused).toMatchObject({ ok: false, code: 'UnauthorizedAccess' });
    expect(refused.message).toMatch(
      /^Unauthorized access\. 'Listen' claim\(s\) are required to perform this operation\. Resource: 'sb:\/\/localhost\/challenges'\. TrackingId:/,
    );
  });

  it('gives a Data Receiver assigned on one queue Listen there only', async () => {
    const receiver = token({ oid: receiverOid });
    expect(await client(receiver, 'receive')).toMatchObject({ ok: true });
    expect((await client(receiver, 'send')).message).toMatch(/'Send' claim\(s\) are required/);
    expect((await client(receiver, 'receive', 'results')).message).toMatch(
      /'Listen' claim\(s\) are required .* Resource: 'sb:\/\/localhost\/results'/,
    );
  });

  it.each([
    [
      'a wrong audience',
      () =>
        token({
          aud: 'https://servicebus.usgovcloudapi.net/',
          roles: ['Azure Service Bus Data Owner'],
        }),
      /^InvalidAudience: The authorization header contains a token with a wrong audience\. TrackingId:/,
    ],
    [
      'an expired token',
      () =>
        token({ exp: Math.floor(Date.now() / 1000) - 60, roles: ['Azure Service Bus Data Owner'] }),
      /^ExpiredToken: The token is expired\. Expiration time: '\d{4}-\d\d-\d\dT/,
    ],
    [
      'another tenant',
      () => token({ iss: `https://sts.windows.net/${randomUUID()}/` }),
      /^InvalidIssuer: Token issuer is invalid\. TrackingId:/,
    ],
    [
      'a key the issuer never published',
      () => token({ roles: ['Azure Service Bus Data Owner'] }, stranger),
      /^InvalidSignature: The token has an invalid signature\./,
    ],
  ])('refuses %s on put-token (401, UnauthorizedAccess)', async (_what, make, description) => {
    const refused = await client(make(), 'send');
    expect(refused).toMatchObject({ ok: false, code: 'UnauthorizedAccess' });
    expect(refused.message).toMatch(description);
  });

  it('drops a receiver whose token expires without a new put-token, as the service does', async () => {
    const soon = Math.floor(Date.now() / 1000) + 4;
    const held = await client(token({ oid: ownerOid, exp: soon }), 'hold', 'challenges', 20_000);
    expect(held).toMatchObject({ ok: false, code: 'UnauthorizedAccess' });
  }, 40_000);

  it('keeps a receiver whose token is still valid', async () => {
    expect(await client(token({ oid: ownerOid }), 'hold', 'challenges', 3_000)).toEqual({
      ok: true,
    });
  }, 40_000);

  it('fetches the keys again when a token names a new one (rotation)', async () => {
    const before = jwksRequests;
    published.push(newKey());
    expect(await client(token({ oid: ownerOid }), 'send')).toEqual({ ok: true });
    expect(jwksRequests).toBeGreaterThan(before);
  });
});
