/**
 * JWT (OIDC) bearer tokens from configured issuers, verified as kube-apiserver 1.32's JWT
 * authenticator does (k8s.io/apiserver plugin/pkg/authenticator/token/oidc, with go-oidc):
 *
 * - a token whose `iss` no authenticator has is not theirs (the other authenticators decide);
 * - the signature, with an allowed algorithm (`--oidc-signing-algs`, RS256 by default), by a
 *   key of the issuer's JWKS: given inline (emulator only) or fetched through OIDC discovery
 *   over HTTPS with the configured CA, and fetched again whenever no known key verifies a
 *   token (go-oidc's RemoteKeySet: how a key rotation is picked up);
 * - `aud` must contain one of the audiences; `exp` must not be past; `nbf` may be up to five
 *   minutes ahead (go-oidc's clock-skew leeway); `iat` is not checked;
 * - claim validation rules (`claim` = `requiredValue`), then the username (claim, prefix; an
 *   `email` username needs `email_verified` true when present), groups (a string or a list,
 *   each with the prefix) and uid; the user is also in `system:authenticated`.
 *
 * Any failure is an unauthenticated request (401), like every other bad token; the reason is
 * kept for the emulator's own tests and never includes the token.
 */
import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import https from 'node:https';

import { isObject } from './json.js';
import type { UserInfo } from './resource-type.js';
import type { AuthenticationConfiguration, JwtAuthenticatorConfig } from './types.js';

/** How each JWS algorithm verifies: hash, key type, padding. */
const ALGORITHMS: Record<string, { hash: string; kty: 'RSA' | 'EC'; pss?: boolean }> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  PS384: { hash: 'sha384', kty: 'RSA', pss: true },
  PS512: { hash: 'sha512', kty: 'RSA', pss: true },
  ES256: { hash: 'sha256', kty: 'EC' },
  ES384: { hash: 'sha384', kty: 'EC' },
  ES512: { hash: 'sha512', kty: 'EC' },
};

/** go-oidc's allowance for an `nbf` slightly in the future (clock skew). */
const NOT_BEFORE_LEEWAY_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 10_000;

interface LoadedKey {
  kid?: string;
  alg?: string;
  kty: string;
  key: KeyObject;
}

interface ParsedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

/** What a JWT authenticator says about a token: a user, or why not. */
export type JwtVerdict = { user: UserInfo } | { error: string };

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The parts of a compact JWS, or undefined when `token` is not one. */
export function parseJwt(token: string): ParsedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return undefined;
  const [h, c, s] = parts as [string, string, string];
  const header = decodePart(h);
  const claims = decodePart(c);
  if (!header || !claims) return undefined;
  return {
    header,
    claims,
    signingInput: Buffer.from(`${h}.${c}`),
    signature: Buffer.from(s, 'base64url'),
  };
}

function importKeys(keys: unknown): LoadedKey[] {
  const out: LoadedKey[] = [];
  if (!Array.isArray(keys)) return out;
  for (const jwk of keys) {
    if (!isObject(jwk) || jwk.use === 'enc') continue;
    try {
      const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      out.push({
        kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
        alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
        kty: String(jwk.kty),
        key,
      });
    } catch {
      // A key Node cannot import cannot have signed anything we accept.
    }
  }
  return out;
}

/** GET `url` and parse JSON, verifying TLS with `ca` (the system CAs when undefined). */
function getJson(url: string, ca: string | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: FETCH_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) {
          reject(new Error(`${url}: ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${url}: the answer is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

/** The JWT authenticator of one issuer. */
class IssuerAuthenticator {
  private keys: LoadedKey[];
  private fetching: Promise<void> | undefined;
  /** Why the last key fetch failed (undefined after a success). */
  fetchError: string | undefined;

  constructor(
    readonly config: JwtAuthenticatorConfig,
    private readonly signingAlgs: readonly string[],
    private readonly now: () => number,
  ) {
    this.keys = config.issuer.jwks ? importKeys(config.issuer.jwks.keys) : [];
  }

  /** Fetches the keys through discovery (issuers without inline keys); shares a fetch in flight. */
  fetchKeys(): Promise<void> {
    if (this.config.issuer.jwks) return Promise.resolve();
    this.fetching ??= this.fetch().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async fetch(): Promise<void> {
    const { url, discoveryURL, certificateAuthority } = this.config.issuer;
    const ca = certificateAuthority || undefined;
    const where = discoveryURL || `${url.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    try {
      const discovery = await getJson(where, ca);
      if (!isObject(discovery)) throw new Error(`${where}: not a discovery document`);
      if (discovery.issuer !== url)
        throw new Error(
          `oidc: issuer did not match the issuer returned by provider, expected ${JSON.stringify(url)} got ${JSON.stringify(discovery.issuer)}`,
        );
      if (typeof discovery.jwks_uri !== 'string')
        throw new Error(`${where}: no jwks_uri in the discovery document`);
      const jwks = await getJson(discovery.jwks_uri, ca);
      this.keys = importKeys(isObject(jwks) ? jwks.keys : undefined);
      this.fetchError = undefined;
    } catch (e) {
      this.fetchError = e instanceof Error ? e.message : String(e);
    }
  }

  private candidates(kid: unknown, kty: string): LoadedKey[] {
    return this.keys.filter((k) => k.kty === kty && (typeof kid !== 'string' || k.kid === kid));
  }

  async verify(jwt: ParsedJwt): Promise<JwtVerdict> {
    const alg = jwt.header.alg;
    const spec = typeof alg === 'string' ? ALGORITHMS[alg] : undefined;
    if (!spec || !this.signingAlgs.includes(alg as string))
      return {
        error: `oidc: id token signed with unsupported algorithm, expected ${JSON.stringify(this.signingAlgs)} got ${JSON.stringify(alg)}`,
      };
    const signedBy = (keys: LoadedKey[]): boolean =>
      keys.some(
        (k) => (k.alg === undefined || k.alg === alg) && signatureMatches(spec, k.key, jwt),
      );
    let keys = this.candidates(jwt.header.kid, spec.kty);
    let signed = signedBy(keys);
    if (!signed && !this.config.issuer.jwks) {
      await this.fetchKeys();
      keys = this.candidates(jwt.header.kid, spec.kty);
      signed = signedBy(keys);
    }
    if (!signed)
      return {
        error:
          keys.length === 0
            ? `oidc: verify signature: no key for kid ${JSON.stringify(jwt.header.kid)}${this.fetchError ? ` (${this.fetchError})` : ''}`
            : 'oidc: failed to verify signature: failed to verify id token signature',
      };
    return this.checkClaims(jwt.claims);
  }

  private checkClaims(c: Record<string, unknown>): JwtVerdict {
    const { issuer, claimValidationRules, claimMappings } = this.config;
    const aud = typeof c.aud === 'string' ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
    if (!aud.some((a) => issuer.audiences.includes(a as string)))
      return {
        error: `oidc: expected audience in ${JSON.stringify(issuer.audiences)} got ${JSON.stringify(aud)}`,
      };
    const now = this.now();
    const exp = typeof c.exp === 'number' ? c.exp * 1000 : 0;
    if (exp < now) return { error: `oidc: token is expired (Token Expiry: ${isoOrZero(exp)})` };
    if (typeof c.nbf === 'number' && now + NOT_BEFORE_LEEWAY_MS < c.nbf * 1000)
      return {
        error: `oidc: current time ${new Date(now).toISOString()} before the nbf (not before) time: ${new Date(c.nbf * 1000).toISOString()}`,
      };
    for (const rule of claimValidationRules ?? []) {
      if (rule.claim === undefined || rule.claim === '') continue;
      if (!(rule.claim in c))
        return { error: `oidc: required claim ${rule.claim} not present in ID token` };
      if (typeof c[rule.claim] !== 'string')
        return { error: `oidc: parse claim ${rule.claim}: not a string` };
      if (c[rule.claim] !== rule.requiredValue)
        return {
          error: `oidc: required claim ${rule.claim} value does not match. Got = ${String(c[rule.claim])}, want = ${rule.requiredValue ?? ''}`,
        };
    }
    const usernameClaim = claimMappings.username.claim as string;
    const username = c[usernameClaim];
    if (typeof username !== 'string' || username === '')
      return {
        error: `oidc: parse username claims ${JSON.stringify(usernameClaim)}: claim not present`,
      };
    if (usernameClaim === 'email' && 'email_verified' in c && c.email_verified !== true)
      return { error: 'oidc: email not verified' };
    const groups: string[] = [];
    const groupsClaim = claimMappings.groups?.claim;
    if (groupsClaim && groupsClaim in c) {
      const value = c[groupsClaim];
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || list.some((g) => typeof g !== 'string'))
        return {
          error: `oidc: parse groups claim ${JSON.stringify(groupsClaim)}: not a string or a list of strings`,
        };
      for (const g of list as string[]) groups.push(`${claimMappings.groups?.prefix ?? ''}${g}`);
    }
    let uid = '';
    const uidClaim = claimMappings.uid?.claim;
    if (uidClaim) {
      if (typeof c[uidClaim] !== 'string')
        return { error: `oidc: parse uid claim ${JSON.stringify(uidClaim)}: claim not present` };
      uid = c[uidClaim] as string;
    }
    return {
      user: {
        name: `${claimMappings.username.prefix ?? ''}${username}`,
        uid,
        groups: [...groups, 'system:authenticated'],
      },
    };
  }
}

/** True when `key` signed the token with the algorithm `spec` describes. */
function signatureMatches(
  spec: { hash: string; kty: 'RSA' | 'EC'; pss?: boolean },
  key: KeyObject,
  jwt: ParsedJwt,
): boolean {
  const options =
    spec.kty === 'EC'
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : spec.pss
        ? {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          }
        : key;
  try {
    return verify(spec.hash, jwt.signingInput, options, jwt.signature);
  } catch {
    // A signature of the wrong size for the key is not a valid signature.
    return false;
  }
}

function isoOrZero(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '0001-01-01T00:00:00Z';
}

/** The JWT authenticators of one cluster (its authentication configuration). */
export class JwtAuthenticators {
  private byIssuer = new Map<string, IssuerAuthenticator>();
  private current: AuthenticationConfiguration | undefined;

  constructor(
    private readonly signingAlgs: readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  /** The configuration in force (undefined: none). */
  get config(): AuthenticationConfiguration | undefined {
    return this.current === undefined ? undefined : structuredClone(this.current);
  }

  /** Replaces the authenticators (validated by the caller); resolves once keys were fetched. */
  async configure(config: AuthenticationConfiguration | undefined): Promise<void> {
    const next = new Map<string, IssuerAuthenticator>();
    for (const a of config?.jwt ?? [])
      next.set(
        a.issuer.url,
        new IssuerAuthenticator(structuredClone(a), this.signingAlgs, this.now),
      );
    this.byIssuer = next;
    this.current = config === undefined ? undefined : structuredClone(config);
    await Promise.all([...next.values()].map((a) => a.fetchKeys()));
  }

  /** Why the keys of each issuer could not be fetched (issuers without trouble are absent). */
  get fetchErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [issuer, a] of this.byIssuer) if (a.fetchError) out[issuer] = a.fetchError;
    return out;
  }

  /**
   * The verdict on `token`, or undefined when it is not a JWT from a configured issuer (another
   * authenticator may know it).
   */
  async authenticate(token: string): Promise<JwtVerdict | undefined> {
    if (this.byIssuer.size === 0) return undefined;
    const jwt = parseJwt(token);
    if (!jwt || typeof jwt.claims.iss !== 'string') return undefined;
    const a = this.byIssuer.get(jwt.claims.iss);
    return a === undefined ? undefined : a.verify(jwt);
  }
}
