import type { Message } from 'rhea';

import type { EntraTokenVerifier } from './entra.js';
import { ALL_RIGHTS, type Right } from './rights.js';
import { claimCovers, resourcePath, verifySasToken } from './sas.js';
import type { SharedAccessKey } from './sas.js';

/**
 * Claims-based security (`$cbs`): the client sends `put-token` with a SAS token or an Entra ID
 * access token for an audience before attaching a link to it (specs/servicebus-amqp.md §2). A
 * verified token becomes a claim on the connection, with the rights it grants; links are only
 * attached for entities a live claim covers with the right the link needs.
 */
export interface CbsOptions {
  keys: readonly SharedAccessKey[];
  /** Like the official emulator: any token is accepted and nothing is checked. */
  acceptAnyToken: boolean;
  /** Entra ID tokens (type `jwt`); undefined: refused, as by a namespace without Entra trust. */
  entra?: EntraTokenVerifier;
  clock?: () => number;
}

export interface CbsResponse {
  statusCode: number;
  description: string;
}

interface Claim {
  readonly expiresAtMs: number;
  readonly rights: (entityPath: string) => ReadonlySet<Right>;
}

/** Whether a connection may use an entity with a right, and if not, why not. */
export type ClaimCheck = 'ok' | 'no-claim' | 'missing-right';

/** Claims held by one connection: audience path -> the latest claim put for it. */
export class ClaimSet {
  private readonly claims = new Map<string, Claim>();

  /** A new token for an audience replaces the previous one, as on the service. */
  add(path: string, expiresAtMs: number, rights: Claim['rights'] = () => ALL_RIGHTS): void {
    this.claims.set(path, { expiresAtMs, rights });
  }

  /** The earliest expiry still ahead of `nowMs` (when links may lose their cover), if any. */
  nextExpiry(nowMs: number): number | undefined {
    let next: number | undefined;
    for (const { expiresAtMs } of this.claims.values()) {
      if (expiresAtMs > nowMs && Number.isFinite(expiresAtMs)) {
        next = next === undefined ? expiresAtMs : Math.min(next, expiresAtMs);
      }
    }
    return next;
  }

  /** `right` undefined: any right will do (attaching `$management`; each operation is checked). */
  check(entityPath: string, nowMs: number, right?: Right): ClaimCheck {
    let covered = false;
    for (const [path, claim] of this.claims) {
      if (claim.expiresAtMs <= nowMs || !claimCovers(path, entityPath)) continue;
      covered = true;
      const rights = claim.rights(entityPath);
      if (right === undefined ? rights.size > 0 : rights.has(right)) return 'ok';
    }
    return covered ? 'missing-right' : 'no-claim';
  }
}

export class CbsAuthority {
  private readonly clock: () => number;

  constructor(private readonly options: CbsOptions) {
    this.clock = options.clock ?? Date.now;
  }

  get acceptsAnyToken(): boolean {
    return this.options.acceptAnyToken;
  }

  /** Handles one request received on `$cbs`, adding a claim to `claims` on success. */
  async handle(request: Message, claims: ClaimSet): Promise<CbsResponse> {
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const operation = props.operation;
    if (operation !== 'put-token') {
      return { statusCode: 400, description: `unsupported $cbs operation ${show(operation)}` };
    }
    const audience = props.name;
    const type = props.type;
    const token = request.body;
    if (typeof audience !== 'string' || audience.length === 0) {
      return { statusCode: 400, description: 'put-token needs the audience in "name"' };
    }
    if (typeof token !== 'string') {
      return { statusCode: 400, description: 'put-token needs the token as a string body' };
    }
    const audiencePath = resourcePath(audience);
    if (this.options.acceptAnyToken) {
      claims.add(audiencePath, Infinity);
      return { statusCode: 200, description: 'OK' };
    }
    if (type === 'jwt') return this.putJwt(token, audiencePath, claims);
    if (type !== 'servicebus.windows.net:sastoken') {
      return {
        statusCode: 401,
        description: `token type ${show(type)} is not accepted; use a shared access signature or an Entra ID token (jwt)`,
      };
    }
    const verified = verifySasToken(token, this.options.keys, this.clock());
    if (!verified.ok) return { statusCode: 401, description: `Unauthorized: ${verified.reason}` };
    if (!claimCovers(resourcePath(verified.resource), audiencePath)) {
      return {
        statusCode: 401,
        description: `Unauthorized: the token is for '${verified.resource}', not '${audience}'`,
      };
    }
    claims.add(audiencePath, verified.expiresAtMs);
    return { statusCode: 200, description: 'OK' };
  }

  private async putJwt(
    token: string,
    audiencePath: string,
    claims: ClaimSet,
  ): Promise<CbsResponse> {
    if (this.options.entra === undefined) {
      return {
        statusCode: 401,
        description:
          'InvalidIssuer: Token issuer is invalid. (This emulator trusts no Entra ID issuer: start it with entra options, README "Microsoft Entra ID".)',
      };
    }
    const verified = await this.options.entra.verify(token);
    if (!verified.ok) return { statusCode: 401, description: verified.description };
    claims.add(audiencePath, verified.expiresAtMs, verified.rightsFor);
    return { statusCode: 200, description: 'OK' };
  }
}

function show(v: unknown): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}
