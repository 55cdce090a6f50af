/**
 * Bearer-token authentication. Tokens are JWT-shaped (ES256, signed with the cluster's
 * service-account key) like real service-account tokens, but looked up by exact value: the
 * emulator issued every valid token, so a map lookup replaces signature verification.
 */
import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';

import type { UserInfo } from './resource-type.js';

/** The audience the API server accepts (kube-apiserver's default --api-audiences). */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ObjectRef {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
}

interface TokenRecord {
  user: UserInfo;
  /** Epoch ms; undefined = no expiry. */
  expiresAt?: number;
  audiences: string[];
  /** The service account the token belongs to, checked to still exist with this uid. */
  serviceAccount?: { namespace: string; name: string; uid: string };
  /** Legacy tokens live as long as their Secret; bound tokens as long as their bound object. */
  boundTo?: ObjectRef;
}

/** Looks objects up for the liveness checks of service-account tokens. */
export interface ObjectLookup {
  uidOf(kind: string, namespace: string, name: string): string | undefined;
}

export function serviceAccountUser(namespace: string, name: string, uid: string): UserInfo {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    uid,
    groups: [
      'system:serviceaccounts',
      `system:serviceaccounts:${namespace}`,
      'system:authenticated',
    ],
    serviceAccount: { namespace, name },
  };
}

export const ANONYMOUS: UserInfo = {
  name: 'system:anonymous',
  uid: '',
  groups: ['system:unauthenticated'],
};

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export class TokenAuthenticator {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly revoked = new Set<string>();
  private pruneAt = 10_000;
  private readonly key: KeyObject;
  private readonly kid: string;

  constructor(
    private readonly lookup: ObjectLookup,
    private readonly now: () => number = Date.now,
  ) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    this.kid = randomBytes(16).toString('base64url');
  }

  /** A static token for a non-service-account user (the admin). */
  addStaticToken(user: UserInfo): string {
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, { user, audiences: [API_AUDIENCE] });
    return token;
  }

  private jwt(claims: Record<string, unknown>): string {
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: this.kid }));
    const payload = b64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
      key: this.key,
      dsaEncoding: 'ieee-p1363',
    });
    return `${header}.${payload}.${b64url(signature)}`;
  }

  /** A TokenRequest token: expires, carries audiences, optionally bound to a Pod or Secret. */
  issueBound(opts: {
    namespace: string;
    serviceAccount: string;
    serviceAccountUid: string;
    expirationSeconds: number;
    audiences: string[];
    boundTo?: ObjectRef;
  }): { token: string; expiresAt: number } {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + opts.expirationSeconds;
    const k8s: Record<string, unknown> = {
      namespace: opts.namespace,
      serviceaccount: { name: opts.serviceAccount, uid: opts.serviceAccountUid },
    };
    if (opts.boundTo)
      k8s[opts.boundTo.kind.toLowerCase()] = { name: opts.boundTo.name, uid: opts.boundTo.uid };
    const token = this.jwt({
      aud: opts.audiences,
      exp,
      iat,
      iss: ISSUER,
      jti: randomBytes(16).toString('hex'),
      'kubernetes.io': k8s,
      nbf: iat,
      sub: `system:serviceaccount:${opts.namespace}:${opts.serviceAccount}`,
    });
    if (this.tokens.size >= this.pruneAt) this.pruneExpired();
    this.tokens.set(token, {
      user: serviceAccountUser(opts.namespace, opts.serviceAccount, opts.serviceAccountUid),
      expiresAt: exp * 1000,
      audiences: opts.audiences,
      serviceAccount: {
        namespace: opts.namespace,
        name: opts.serviceAccount,
        uid: opts.serviceAccountUid,
      },
      boundTo: opts.boundTo,
    });
    return { token, expiresAt: exp * 1000 };
  }

  /** A legacy (Secret-based) token: no expiry, valid while its Secret and service account exist. */
  issueLegacy(opts: {
    namespace: string;
    serviceAccount: string;
    serviceAccountUid: string;
    secretName: string;
    secretUid: string;
  }): string {
    const token = this.jwt({
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': opts.namespace,
      'kubernetes.io/serviceaccount/secret.name': opts.secretName,
      'kubernetes.io/serviceaccount/service-account.name': opts.serviceAccount,
      'kubernetes.io/serviceaccount/service-account.uid': opts.serviceAccountUid,
      sub: `system:serviceaccount:${opts.namespace}:${opts.serviceAccount}`,
    });
    this.tokens.set(token, {
      user: serviceAccountUser(opts.namespace, opts.serviceAccount, opts.serviceAccountUid),
      audiences: [API_AUDIENCE],
      serviceAccount: {
        namespace: opts.namespace,
        name: opts.serviceAccount,
        uid: opts.serviceAccountUid,
      },
      boundTo: {
        kind: 'Secret',
        apiVersion: 'v1',
        namespace: opts.namespace,
        name: opts.secretName,
        uid: opts.secretUid,
      },
    });
    return token;
  }

  /** Drops expired tokens (they would fail anyway); keeps long runs from accumulating them. */
  private pruneExpired(): void {
    const now = this.now();
    for (const [token, rec] of this.tokens)
      if (rec.expiresAt !== undefined && rec.expiresAt <= now) this.tokens.delete(token);
    this.pruneAt = Math.max(10_000, this.tokens.size * 2);
  }

  /** True for a token revoked through revokeToken (any kind, including OIDC tokens). */
  isRevoked(token: string): boolean {
    return this.revoked.has(token);
  }

  revoke(token: string): void {
    this.revoked.add(token);
    this.tokens.delete(token);
  }

  /**
   * The identity of a token, or undefined (401) when unknown, revoked, expired, meant for
   * another audience, or when its service account or bound object is gone.
   */
  authenticate(token: string, audiences: readonly string[] = [API_AUDIENCE]): UserInfo | undefined {
    const rec = this.tokens.get(token);
    if (rec === undefined || this.revoked.has(token)) return undefined;
    if (rec.expiresAt !== undefined && this.now() >= rec.expiresAt) return undefined;
    if (!rec.audiences.some((a) => audiences.includes(a))) return undefined;
    const sa = rec.serviceAccount;
    if (sa && this.lookup.uidOf('ServiceAccount', sa.namespace, sa.name) !== sa.uid)
      return undefined;
    const b = rec.boundTo;
    if (b && this.lookup.uidOf(b.kind, b.namespace, b.name) !== b.uid) return undefined;
    return rec.user;
  }

  /** The audiences of a known token (TokenReview answers with them). */
  audiencesOf(token: string): string[] {
    return this.tokens.get(token)?.audiences ?? [];
  }
}
