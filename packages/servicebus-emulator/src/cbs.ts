import type { Message } from 'rhea';

import { claimCovers, resourcePath, verifySasToken } from './sas.js';
import type { SharedAccessKey } from './sas.js';

/**
 * Claims-based security (`$cbs`): the client sends `put-token` with a SAS token for an audience
 * before attaching a link to it (specs/servicebus-amqp.md §2). A verified token becomes a claim on
 * the connection; links are only attached for entities a live claim covers.
 */
export interface CbsOptions {
  keys: readonly SharedAccessKey[];
  /** Like the official emulator: any token is accepted and nothing is checked. */
  acceptAnyToken: boolean;
  clock?: () => number;
}

export interface CbsResponse {
  statusCode: number;
  description: string;
}

/** Claims held by one connection: entity path -> expiry (epoch ms). */
export class ClaimSet {
  private readonly claims = new Map<string, number>();

  add(path: string, expiresAtMs: number): void {
    const current = this.claims.get(path) ?? 0;
    this.claims.set(path, Math.max(current, expiresAtMs));
  }

  covers(entityPath: string, nowMs: number): boolean {
    for (const [path, expiresAt] of this.claims) {
      if (expiresAt > nowMs && claimCovers(path, entityPath)) return true;
    }
    return false;
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
  handle(request: Message, claims: ClaimSet): CbsResponse {
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
    const now = this.clock();
    if (this.options.acceptAnyToken) {
      claims.add(audiencePath, Infinity);
      return { statusCode: 200, description: 'OK' };
    }
    if (type !== 'servicebus.windows.net:sastoken') {
      return {
        statusCode: 401,
        description: `token type ${show(type)} is not accepted; use a shared access signature`,
      };
    }
    const verified = verifySasToken(token, this.options.keys, now);
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
}

function show(v: unknown): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}
