import { randomBytes, randomUUID, type JsonWebKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';

import { generateEndpointCertificates } from './certificates.js';
import {
  Directory,
  TOKEN_EXCHANGE_AUDIENCE,
  type Application,
  type ApplicationSpec,
  type ManagedIdentitySpec,
  type Principal,
} from './directory.js';
import { newSigningKey, publicJwk, signJwt, type Claims } from './jwt.js';
import { route, type RouteContext } from './routes.js';
import { TokenSigner, v1Issuer, type IssuedAccessToken } from './tokens.js';

export type {
  ApplicationSpec,
  FederatedCredentialSpec,
  ManagedIdentitySpec,
  Principal,
} from './directory.js';
export type { IssuedAccessToken } from './tokens.js';
export { resourceOfScope, v1Issuer, v2Issuer } from './tokens.js';
export { decodeJwt } from './jwt.js';

/** The AKS AAD server application: the audience of tokens for AKS clusters with Entra ID. */
export const AKS_SERVER_APPLICATION = '6dae42f8-4368-4678-94ff-3960e28e3630';
/** The audience Azure Service Bus accepts (the SDK asks for `https://servicebus.azure.net//.default`). */
export const SERVICE_BUS_RESOURCE = 'https://servicebus.azure.net/';

export interface EntraEmulatorOptions {
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** @defaultValue 0 (any free port) */
  readonly port?: number;
  /** The tenant (directory) ID; random when not given. */
  readonly tenantId?: string;
  readonly applications?: readonly ApplicationSpec[];
  readonly managedIdentities?: readonly ManagedIdentitySpec[];
  /**
   * External issuers federated credentials may name, with their keys (e.g. a cluster's
   * service-account issuer and its `/openid/v1/jwks`). The emulator's own stand-in issuer
   * (`federationIssuer`) is always trusted.
   */
  readonly trustedIssuers?: readonly { issuer: string; jwks: { keys: JsonWebKey[] } }[];
  /** @defaultValue 3600 */
  readonly tokenLifetimeSeconds?: number;
  /** Shifts the clock tokens are stamped with (negative: already expired). @defaultValue 0 */
  readonly clockSkewSeconds?: number;
  /** The X-IDENTITY-HEADER secret of the managed identity endpoint; random when not given. */
  readonly identityHeader?: string;
  /** Also write the CA (PEM) to this file, e.g. for NODE_EXTRA_CA_CERTS. */
  readonly caFile?: string;
}

export interface EntraEmulator {
  readonly tenantId: string;
  /** `https://127.0.0.1:<port>`: @azure/identity's `authorityHost` (or AZURE_AUTHORITY_HOST). */
  readonly authorityHost: string;
  /** `https://sts.windows.net/<tenant>/`, the `iss` of the access tokens. */
  readonly issuer: string;
  /** Where the v1 discovery document is (what an API server's OIDC `discoveryURL` names). */
  readonly discoveryUrl: string;
  /** The JWKS that verifies the access tokens. */
  readonly jwksUri: string;
  /** The CA of the HTTPS endpoint (PEM). */
  readonly caPem: string;
  readonly caFile: string | undefined;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER of the managed identity endpoint. */
  readonly managedIdentityEnv: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** The issuer of `federatedToken`s (a stand-in for a cluster's service-account issuer). */
  readonly federationIssuer: string;
  /** Every access token issued so far (claims included), oldest first. */
  readonly issued: readonly IssuedAccessToken[];
  addApplication(spec: ApplicationSpec): Application;
  addManagedIdentity(spec: ManagedIdentitySpec): Principal;
  /**
   * A token of the stand-in service-account issuer, as the kubelet projects for Azure Workload
   * Identity (audience api://AzureADTokenExchange): write it to AZURE_FEDERATED_TOKEN_FILE.
   */
  federatedToken(
    subject: string,
    options?: { audience?: string; lifetimeSeconds?: number },
  ): string;
  /** An access token signed by the tenant's key with any claims (tests of token checks). */
  signAccessToken(claims: Claims): string;
  /** Rolls the signing key: new tokens use a new `kid`; the old key stays published. */
  rotateSigningKey(): void;
  close(): Promise<void>;
}

/** Starts the endpoint: discovery, JWKS, tokens and managed identity over HTTPS with its own CA. */
export async function startEntraEmulator(
  options: EntraEmulatorOptions = {},
): Promise<EntraEmulator> {
  const host = options.host ?? '127.0.0.1';
  const tenantId = options.tenantId ?? randomUUID();
  const directory = new Directory();
  for (const app of options.applications ?? []) directory.addApplication(app);
  for (const identity of options.managedIdentities ?? []) directory.addManagedIdentity(identity);
  const signer = new TokenSigner({
    tenantId,
    lifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
    clockSkewSeconds: options.clockSkewSeconds ?? 0,
  });
  const federationKey = newSigningKey();
  const issued: IssuedAccessToken[] = [];
  const identityHeader = options.identityHeader ?? randomBytes(24).toString('base64url');
  const certs = await generateEndpointCertificates([host]);
  let baseUrl = '';
  const federationIssuer = () => `${baseUrl}/federation`;
  const trusted = new Map<string, () => readonly JsonWebKey[]>(
    (options.trustedIssuers ?? []).map((t) => [t.issuer, () => t.jwks.keys]),
  );
  const context: RouteContext = {
    tenantId,
    directory,
    signer,
    baseUrl: () => baseUrl,
    identityHeader,
    trustedIssuers: trusted,
    federation: { issuer: federationIssuer, jwks: () => ({ keys: [publicJwk(federationKey)] }) },
    onIssued: (token) => issued.push(token),
  };
  const server: Server = createServer(
    { cert: certs.certPem, key: certs.keyPem, minVersion: 'TLSv1.2' },
    (req, res) => {
      route(context, req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'server_error', error_description: String(error) }));
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  trusted.set(federationIssuer(), () => [publicJwk(federationKey)]);
  if (options.caFile !== undefined) {
    mkdirSync(dirname(options.caFile), { recursive: true });
    writeFileSync(options.caFile, certs.caPem);
  }
  return {
    tenantId,
    authorityHost: baseUrl,
    issuer: v1Issuer(tenantId),
    discoveryUrl: `${baseUrl}/${tenantId}/.well-known/openid-configuration`,
    jwksUri: `${baseUrl}/${tenantId}/discovery/keys`,
    caPem: certs.caPem,
    caFile: options.caFile,
    managedIdentityEnv: {
      IDENTITY_ENDPOINT: `${baseUrl}/msi/token`,
      IDENTITY_HEADER: identityHeader,
    },
    federationIssuer: federationIssuer(),
    issued,
    addApplication: (spec) => directory.addApplication(spec),
    addManagedIdentity: (spec) => directory.addManagedIdentity(spec),
    federatedToken(subject, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return signJwt(
        {
          aud: [opts.audience ?? TOKEN_EXCHANGE_AUDIENCE],
          iss: federationIssuer(),
          sub: subject,
          iat: now,
          nbf: now,
          exp: now + (opts.lifetimeSeconds ?? 3600),
        },
        federationKey,
      );
    },
    signAccessToken: (claims) => signJwt(claims, signer.current),
    rotateSigningKey: () => signer.rotate(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
