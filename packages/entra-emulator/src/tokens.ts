import { randomUUID, type JsonWebKey } from 'node:crypto';

import type { Principal } from './directory.js';
import {
  newSigningKey,
  publicJwk,
  randomId,
  signJwt,
  type Claims,
  type SigningKey,
} from './jwt.js';

/**
 * What the tenant signs: v1 access tokens as Entra ID issues them for Azure resources (Service
 * Bus, the AKS AAD server application and every resource whose app accepts v1 tokens), whatever
 * the endpoint version asked (the resource app decides the token version, not the client).
 */
export interface TokenSettings {
  readonly tenantId: string;
  /** Lifetime of access tokens. @defaultValue 3600 (Entra: 60-90 minutes) */
  readonly lifetimeSeconds: number;
  /**
   * Seconds added to this endpoint's clock when it stamps iat/nbf/exp: a negative value makes
   * tokens that are already expired for a correct clock (a server whose clock is behind).
   */
  readonly clockSkewSeconds: number;
}

export interface IssuedAccessToken {
  readonly accessToken: string;
  /** Seconds until `exp` by this endpoint's own (possibly skewed) clock: the lifetime. */
  readonly expiresIn: number;
  /** `exp`, epoch seconds. */
  readonly expiresOn: number;
  readonly claims: Claims;
}

/** `https://sts.windows.net/<tenant>/`: the `iss` of v1 tokens. */
export function v1Issuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/** `https://login.microsoftonline.com/<tenant>/v2.0`: the issuer the v2 discovery document names. */
export function v2Issuer(tenantId: string): string {
  return `https://login.microsoftonline.com/${tenantId}/v2.0`;
}

/**
 * The resource a `.default` scope names (`https://servicebus.azure.net//.default` ->
 * `https://servicebus.azure.net/`), which becomes the token's `aud` verbatim as in v1 tokens;
 * undefined for any other scope (client credentials take only `.default`).
 */
export function resourceOfScope(scope: string): string | undefined {
  const scopes = scope.split(' ').filter((s) => s !== '');
  if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) return undefined;
  const resource = scopes[0]!.slice(0, -'/.default'.length);
  return resource === '' ? undefined : resource;
}

export class TokenSigner {
  private readonly published: SigningKey[] = [newSigningKey()];

  constructor(private readonly settings: TokenSettings) {}

  get current(): SigningKey {
    return this.published[this.published.length - 1]!;
  }

  /** The tenant's JWKS: every published key, the current one last. */
  jwks(): { keys: JsonWebKey[] } {
    return { keys: this.published.map(publicJwk) };
  }

  /** A new key signs from now on; the previous ones stay published, as Entra rolls keys. */
  rotate(): void {
    this.published.push(newSigningKey());
  }

  /** An access token for `principal` to call `resource`. */
  issue(
    principal: Principal,
    resource: string,
    how: { appidacr: '1' | '2'; extra?: Claims },
  ): IssuedAccessToken {
    const { tenantId, lifetimeSeconds, clockSkewSeconds } = this.settings;
    const now = Math.floor(Date.now() / 1000) + clockSkewSeconds;
    const exp = now + lifetimeSeconds;
    const issuer = v1Issuer(tenantId);
    const claims: Claims = {
      aud: resource,
      iss: issuer,
      iat: now - 300,
      nbf: now - 300,
      exp,
      aio: randomId(24),
      appid: principal.clientId,
      appidacr: how.appidacr,
      idp: issuer,
      idtyp: 'app',
      oid: principal.objectId,
      rh: `${randomId(12)}.`,
      sub: principal.objectId,
      tid: tenantId,
      uti: randomId(16),
      ver: '1.0',
      ...(principal.roles.length > 0 && { roles: [...principal.roles] }),
      ...(principal.groups.length > 0 && { groups: [...principal.groups] }),
      ...(principal.kind === 'managed-identity' && {
        xms_mirid: `/subscriptions/${randomUUID()}/resourcegroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${principal.clientId}`,
      }),
      ...how.extra,
    };
    return {
      accessToken: signJwt(claims, this.current),
      expiresIn: lifetimeSeconds,
      expiresOn: exp,
      claims,
    };
  }
}
