/**
 * A stand-in for Microsoft Entra ID in tests: an HTTPS server with its own CA serving the OIDC
 * discovery document and JWKS of a tenant at Entra's paths, and RS256 access tokens shaped like
 * Entra's v1 tokens for the AKS AAD server application (issuer `https://sts.windows.net/<tid>/`,
 * audience 6dae42f8-..., `oid`, `tid`, `groups`), signed with keys generated here. Keys rotate
 * on demand, as Entra's do.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

import { generateClusterCertificates } from '../../../src/index.js';

export const AKS_SERVER_APP = '6dae42f8-4368-4678-94ff-3960e28e3630';

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: randomUUID(), privateKey, publicKey };
}

export interface EntraStandIn {
  readonly tenant: string;
  /** `https://sts.windows.net/<tenant>/`, what tokens carry in `iss`. */
  readonly issuer: string;
  /** Where this server serves the tenant's discovery document. */
  readonly discoveryURL: string;
  readonly caPem: string;
  /** Requests for the JWKS so far. */
  readonly jwksRequests: number;
  /** An access token for `claims` (defaults: an hour, the AKS server app audience). */
  token(
    claims: Record<string, unknown>,
    opts?: { key?: 'current' | 'retired' | 'stranger' },
  ): string;
  /** A new signing key becomes current (and published); the old one stays published. */
  rotate(): void;
  close(): Promise<void>;
}

export async function startEntraStandIn(): Promise<EntraStandIn> {
  const tenant = randomUUID();
  const issuer = `https://sts.windows.net/${tenant}/`;
  const certs = await generateClusterCertificates('entra', ['127.0.0.1']);
  const published: SigningKey[] = [newKey()];
  const stranger = newKey();
  let jwksRequests = 0;
  let base = '';
  const server = https.createServer(
    { cert: certs.serverCertPem, key: certs.serverKeyPem },
    (req, res) => {
      const send = (body: unknown) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === `/${tenant}/.well-known/openid-configuration`)
        return send({
          issuer,
          jwks_uri: `${base}/${tenant}/discovery/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
        });
      if (req.url === `/${tenant}/discovery/keys`) {
        jwksRequests++;
        return send({
          keys: published.map((k) => ({
            ...k.publicKey.export({ format: 'jwk' }),
            kid: k.kid,
            use: 'sig',
            kty: 'RSA',
          })),
        });
      }
      res.writeHead(404);
      res.end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    tenant,
    issuer,
    discoveryURL: `${base}/${tenant}/.well-known/openid-configuration`,
    caPem: certs.caPem,
    get jwksRequests() {
      return jwksRequests;
    },
    token(claims, opts = {}) {
      const key =
        opts.key === 'stranger'
          ? stranger
          : opts.key === 'retired'
            ? (published[0] as SigningKey)
            : (published[published.length - 1] as SigningKey);
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid };
      const payload = {
        aud: AKS_SERVER_APP,
        iss: issuer,
        iat: now - 60,
        nbf: now - 60,
        exp: now + 3600,
        tid: tenant,
        ver: '1.0',
        ...claims,
      };
      const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
    },
    rotate() {
      published.push(newKey());
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
