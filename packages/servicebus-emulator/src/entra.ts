import { createPublicKey, randomUUID, verify, type JsonWebKey } from 'node:crypto';
import https from 'node:https';

import { rightsOfRole, type Right } from './rights.js';
import { claimCovers } from './sas.js';

/**
 * Microsoft Entra ID access tokens on `$cbs` (`put-token` of type `jwt`), checked as Service Bus
 * checks them: an RS256 signature by a key of a trusted issuer's JWKS (fetched through OIDC
 * discovery over HTTPS, again whenever a token names an unknown key), the issuer, the audience,
 * `nbf`/`exp`; then the principal's rights come from Azure RBAC role assignments (README,
 * "Microsoft Entra ID"). Refusals carry the service's status descriptions.
 */
export interface EntraIssuerOptions {
  /** Must equal the token's `iss`, e.g. `https://sts.windows.net/<tenant>/`. */
  readonly issuer: string;
  /** Where the issuer's discovery document is (default `<issuer>/.well-known/openid-configuration`). */
  readonly discoveryUrl?: string;
  /** The keys inline, instead of fetching them. */
  readonly jwks?: { readonly keys: readonly JsonWebKey[] };
  /** PEM CA to verify the discovery and JWKS endpoints with (default: the system CAs). */
  readonly ca?: string;
}

/** An Azure RBAC role assignment on the namespace or one queue. */
export interface RoleAssignment {
  /** The object ID of the user, group, service principal or managed identity (`oid`, or a `groups` entry). */
  readonly principalId: string;
  /** `Azure Service Bus Data Owner|Sender|Receiver`, or the role definition ID. */
  readonly role: string;
  /** The queue (`challenges`, or an ARM ID ending in `/queues/challenges`); the namespace when absent. */
  readonly scope?: string;
}

export interface EntraAuthOptions {
  readonly issuers: readonly EntraIssuerOptions[];
  /** Accepted `aud` values. @defaultValue the Service Bus resource, with and without a trailing slash */
  readonly audiences?: readonly string[];
  readonly roleAssignments?: readonly RoleAssignment[];
  /**
   * Also grant the roles named in the token's `roles` claim, namespace-wide. An emulator
   * shortcut for hand-made test tokens, off by default: the real service reads only role
   * assignments, so a test relying on it would pass where Azure refuses. @defaultValue false
   */
  readonly rolesFromToken?: boolean;
}

export const SERVICE_BUS_AUDIENCES = [
  'https://servicebus.azure.net',
  'https://servicebus.azure.net/',
];

export type JwtVerification =
  | {
      ok: true;
      principalId: string;
      expiresAtMs: number;
      /** The principal's rights on an entity path (lower case). */
      rightsFor(entityPath: string): ReadonlySet<Right>;
    }
  | { ok: false; description: string };

const FETCH_TIMEOUT_MS = 10_000;

export class EntraTokenVerifier {
  private readonly issuers = new Map<string, IssuerKeys>();
  private readonly audiences: readonly string[];
  private readonly assignments: readonly {
    principalId: string;
    rights: readonly Right[];
    scope: string;
  }[];

  constructor(
    private readonly options: EntraAuthOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.audiences = options.audiences ?? SERVICE_BUS_AUDIENCES;
    for (const issuer of options.issuers) {
      if (typeof issuer.issuer !== 'string' || !/^https:\/\//.test(issuer.issuer)) {
        throw new Error(`entra: issuer ${JSON.stringify(issuer.issuer)} must be an https:// URL`);
      }
      this.issuers.set(issuer.issuer, new IssuerKeys(issuer));
    }
    this.assignments = (options.roleAssignments ?? []).map((a) => {
      const rights = rightsOfRole(String(a.role));
      if (rights === undefined) {
        throw new Error(
          `entra: role ${JSON.stringify(a.role)} is not a Service Bus data role (Azure Service Bus Data Owner, Sender or Receiver, or its role definition ID)`,
        );
      }
      return { principalId: String(a.principalId), rights, scope: scopePath(a.scope) };
    });
  }

  async verify(token: string): Promise<JwtVerification> {
    const jwt = decode(token);
    if (jwt === undefined) return refuse('InvalidSignature: The token is not a valid JWT.');
    const { iss, aud, exp, nbf, oid, groups, roles } = jwt.payload;
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (issuer === undefined) return refuse('InvalidIssuer: Token issuer is invalid.');
    if (jwt.header.alg !== 'RS256') {
      return refuse('InvalidSignature: The token has an invalid signature.');
    }
    if (!(await issuer.verifies(jwt))) {
      return refuse('InvalidSignature: The token has an invalid signature.');
    }
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.some((a) => typeof a === 'string' && this.audiences.includes(a))) {
      return refuse(
        'InvalidAudience: The authorization header contains a token with a wrong audience.',
      );
    }
    const now = this.clock();
    if (typeof exp !== 'number' || exp * 1000 <= now) {
      const when = typeof exp === 'number' ? serviceTime(exp * 1000) : 'none';
      return refuse(`ExpiredToken: The token is expired. Expiration time: '${when}'`);
    }
    if (typeof nbf === 'number' && nbf * 1000 > now + 5 * 60_000) {
      return refuse(`InvalidToken: The token is not valid before '${serviceTime(nbf * 1000)}'.`);
    }
    const principalId = typeof oid === 'string' ? oid : '';
    const ids = new Set([principalId, ...(Array.isArray(groups) ? groups.map(String) : [])]);
    const fromToken =
      this.options.rolesFromToken === true && Array.isArray(roles)
        ? roles.flatMap((r) => rightsOfRole(String(r)) ?? [])
        : [];
    const assigned = this.assignments.filter((a) => ids.has(a.principalId));
    return {
      ok: true,
      principalId,
      expiresAtMs: exp * 1000,
      rightsFor: (entityPath) =>
        new Set([
          ...fromToken,
          ...assigned.filter((a) => claimCovers(a.scope, entityPath)).flatMap((a) => a.rights),
        ]),
    };
  }
}

/** `challenges`, `/subscriptions/.../namespaces/ns/queues/challenges` -> `challenges`; namespace -> ''. */
function scopePath(scope: string | undefined): string {
  if (scope === undefined) return '';
  const text = scope.trim().toLowerCase();
  const queue = /\/queues\/([^/]+)\/?$/.exec(text);
  if (queue) return queue[1]!;
  if (/\/namespaces\/[^/]+\/?$/.test(text) || text === '' || text === '/') return '';
  return text.replace(/^\/+|\/+$/g, '');
}

/** The status description of a refusal, as the service words it (with its tracking suffix). */
function refuse(reason: string): JwtVerification {
  const tracking = `TrackingId:${randomUUID().replaceAll('-', '')}_G1, SystemTracker:NoSystemTracker, Timestamp:${serviceTime(Date.now())}`;
  return { ok: false, description: `${reason} ${tracking}` };
}

function serviceTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, '');
}

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  input: string;
  signature: Buffer;
}

function decode(token: string): Jwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return {
      header,
      payload,
      input: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/** One issuer's keys: inline, or fetched through discovery and fetched again on an unknown kid. */
class IssuerKeys {
  private keys: readonly JsonWebKey[];
  private fetching: Promise<void> | undefined;

  constructor(private readonly options: EntraIssuerOptions) {
    this.keys = options.jwks?.keys ?? [];
  }

  async verifies(jwt: Jwt): Promise<boolean> {
    if (this.check(jwt)) return true;
    if (this.options.jwks !== undefined) return false;
    await (this.fetching ??= this.fetch().finally(() => (this.fetching = undefined)));
    return this.check(jwt);
  }

  private check(jwt: Jwt): boolean {
    return this.keys
      .filter((k) => jwt.header.kid === undefined || (k as { kid?: string }).kid === jwt.header.kid)
      .some((jwk) => {
        try {
          const key = createPublicKey({ key: jwk, format: 'jwk' });
          return verify('sha256', Buffer.from(jwt.input), key, jwt.signature);
        } catch {
          return false;
        }
      });
  }

  private async fetch(): Promise<void> {
    const { issuer, discoveryUrl, ca } = this.options;
    const where = discoveryUrl ?? `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    try {
      const discovery = await getJson(where, ca);
      if (!isObject(discovery) || typeof discovery.jwks_uri !== 'string') return;
      const jwks = await getJson(discovery.jwks_uri, ca);
      if (isObject(jwks) && Array.isArray(jwks.keys)) this.keys = jwks.keys as JsonWebKey[];
    } catch {
      // Unreachable issuer: tokens fail the signature check, as with the service.
    }
  }
}

function getJson(url: string, ca: string | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: FETCH_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
