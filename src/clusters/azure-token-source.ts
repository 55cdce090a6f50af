import type { TokenCredential } from '@azure/identity';

import { credentialFix } from '../azure/auth-failures.js';
import { createCredential } from '../azure/credential.js';
import { scrubText } from '../shared/redaction.js';
import type { AzureClusterAuth } from './cluster-entry.js';
import { ClusterError } from './errors.js';
import { silentLogger, type ClusterLogger } from './logger.js';
import { FetchedTokenSource } from './token-source.js';
import { errorMessage } from '../shared/error-message.js';

/** How long before expiry a token is replaced (AKS refuses an expired one outright). */
export const AZURE_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * How long one token request may take. Every call to the cluster waits for the token, so an
 * Entra ID endpoint that never answers must fail those calls, not hold them.
 */
export const AZURE_TOKEN_TIMEOUT_MS = 30_000;

/** After a failed renewal, how long the still-valid token is used before asking again. */
export const AZURE_RETRY_AFTER_FAILURE_MS = 30_000;

export interface AzureTokenSourceOptions {
  readonly cluster: string;
  readonly auth: AzureClusterAuth;
  readonly logger?: ClusterLogger;
  readonly now?: () => number;
  /** Makes the credential (tests pass one made in process). */
  readonly credential?: () => Promise<TokenCredential>;
}

/**
 * A Microsoft Entra ID access token for the cluster's API server (the AKS AAD server
 * application by default), used as the bearer token: AKS with Entra ID integration and
 * Kubernetes RBAC or Azure RBAC checks it. The token is kept until shortly before it expires
 * (or the credential's refresh time), then replaced; after a 401 a new one is asked for.
 */
export class AzureTokenSource extends FetchedTokenSource {
  private credential: Promise<TokenCredential> | undefined;
  private readonly logger: ClusterLogger;

  constructor(private readonly options: AzureTokenSourceOptions) {
    super(options.now ?? Date.now);
    this.logger = options.logger ?? silentLogger;
  }

  protected async fetchToken(): Promise<void> {
    const { cluster, auth } = this.options;
    try {
      this.credential ??= (
        this.options.credential ?? (() => createCredential(auth.credential, auth.identity))
      )();
      const credential = await this.credential;
      const got = await withDeadline(
        credential.getToken(auth.scope, {
          abortSignal: AbortSignal.timeout(AZURE_TOKEN_TIMEOUT_MS),
        }),
        AZURE_TOKEN_TIMEOUT_MS,
      );
      if (got === null) throw new Error('the credential returned no token');
      this.token = {
        value: got.token,
        renewAt: this.refreshTime(got.expiresOnTimestamp, got.refreshAfterTimestamp),
        expiresAt: got.expiresOnTimestamp,
      };
    } catch (error) {
      // A token that has not expired yet still works: keep it, and ask again after a pause
      // rather than on every call (one warning per pause, not one per API call).
      const now = this.now();
      if (this.token !== undefined && now < this.token.expiresAt) {
        this.token.renewAt = Math.min(now + AZURE_RETRY_AFTER_FAILURE_MS, this.token.expiresAt);
        this.logger.warn(
          { cluster, error: scrubText(errorMessage(error)) },
          'could not renew the Entra ID token; using the current one until it expires',
        );
        return;
      }
      if (this.options.credential === undefined) this.credential = undefined;
      const fix = credentialFix(error, auth.credential);
      throw new ClusterError({
        kind: 'config',
        cluster,
        message: `no Entra ID token for ${auth.scope} (credential ${auth.credential}): ${scrubText(firstLine(error))}${fix !== undefined && fix !== firstLine(error) ? `; ${fix}` : ''}`,
        cause: error,
      });
    }
  }

  /**
   * Five minutes before expiry, or the credential's refresh time if earlier; a token that lives
   * less than the margin (or an issuer whose clock runs behind) is renewed half-way through
   * its remaining life instead of on every call.
   */
  private refreshTime(expiresAt: number, refreshAfter: number | undefined): number {
    const now = this.now();
    const planned = Math.min(
      expiresAt - AZURE_REFRESH_MARGIN_MS,
      refreshAfter ?? Number.POSITIVE_INFINITY,
    );
    return planned > now ? planned : now + Math.max(0, expiresAt - now) / 2;
  }
}

/** getToken honours its abort signal only on some paths: the deadline holds on all of them. */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the credential did not answer within ${ms / 1000} s`)),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function firstLine(error: unknown): string {
  return errorMessage(error).split('\n')[0] ?? '';
}
