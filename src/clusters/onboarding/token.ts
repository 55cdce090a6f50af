import { abortableCall } from '../call-options.js';
import { classifyError } from '../classify.js';
import { adminCallError, type AdminContext } from './admin-context.js';
import { OnboardingError } from './errors.js';

/**
 * Getting the service account's token (specs/kube-api.md §3): either the long-lived token the
 * token controller writes into a `kubernetes.io/service-account-token` Secret (poll until
 * `data.token` appears), or a TokenRequest, which expires.
 */
export interface IssuedToken {
  readonly token: string;
  /** The cluster CA the token controller put next to the token (Secret mode). */
  readonly caPem?: string;
  /** When the token stops working (TokenRequest mode). */
  readonly expiresAt?: string;
  /** How long the token controller took (Secret mode). */
  readonly waitedMs?: number;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly requestTimeoutMs: number;
  /** First poll interval; doubles up to 1 s. @defaultValue 100 */
  readonly intervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitForSecretToken(
  admin: AdminContext,
  namespace: string,
  secretName: string,
  options: WaitOptions,
): Promise<IssuedToken> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const started = now();
  let interval = options.intervalMs ?? 100;
  for (;;) {
    let data: Record<string, string> | undefined;
    try {
      const secret = await admin.core.readNamespacedSecret(
        { name: secretName, namespace },
        abortableCall(AbortSignal.timeout(options.requestTimeoutMs)),
      );
      data = secret.data;
    } catch (error) {
      const kind = classifyError(error, { cluster: admin.context }).kind;
      if (kind !== 'not-found') throw adminCallError(error, admin, `reading Secret ${secretName}`);
    }
    const token = decode(data?.token);
    if (token) {
      const ca = decode(data?.['ca.crt']);
      return { token, ...(ca && { caPem: ca }), waitedMs: now() - started };
    }
    if (now() - started >= options.timeoutMs) {
      throw new OnboardingError(
        `the token controller did not fill in Secret ${namespace}/${secretName} within ${Math.round(options.timeoutMs / 1000)} s: check that kube-controller-manager runs (kubectl -n ${namespace} describe secret ${secretName}), or use --token-ttl for a TokenRequest token`,
      );
    }
    await sleep(interval);
    interval = Math.min(1000, interval * 2);
  }
}

function decode(base64: string | undefined): string | undefined {
  if (!base64) return undefined;
  const text = Buffer.from(base64, 'base64').toString('utf8').trim();
  return text === '' ? undefined : text;
}

export async function requestToken(
  admin: AdminContext,
  namespace: string,
  serviceAccount: string,
  expirationSeconds: number,
  requestTimeoutMs: number,
): Promise<IssuedToken> {
  try {
    const review = await admin.core.createNamespacedServiceAccountToken(
      {
        name: serviceAccount,
        namespace,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds, audiences: [] },
        },
      },
      abortableCall(AbortSignal.timeout(requestTimeoutMs)),
    );
    const token = review.status?.token;
    if (!token) {
      throw new OnboardingError(
        `the TokenRequest for ${namespace}/${serviceAccount} returned no token`,
      );
    }
    const expires = review.status?.expirationTimestamp as unknown;
    return {
      token,
      ...(expires !== undefined && {
        expiresAt: expires instanceof Date ? expires.toISOString() : String(expires),
      }),
    };
  } catch (error) {
    if (error instanceof OnboardingError) throw error;
    throw adminCallError(error, admin, `requesting a token for ServiceAccount ${serviceAccount}`);
  }
}

/**
 * `--token-ttl`: 90m, 24h, 7d, 3600s or plain seconds. The API rejects less than 10 minutes
 * (and may cap long lifetimes).
 */
export function parseTokenTtl(value: string): number {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(value);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 } as const;
  const seconds = m ? Number(m[1]) * unit[(m[2] ?? '') as keyof typeof unit] : NaN;
  if (!Number.isSafeInteger(seconds)) {
    throw new OnboardingError(
      `--token-ttl must be a duration such as 24h, 90m, 7d or 3600s, got "${value}"`,
      'usage',
    );
  }
  if (seconds < 600) {
    throw new OnboardingError(
      `--token-ttl must be at least 10m: Kubernetes refuses shorter TokenRequests, got "${value}"`,
      'usage',
    );
  }
  return seconds;
}
