import { ApiException } from '@kubernetes/client-node';

import { ClusterError, type ClusterErrorKind, type StatusCause } from './errors.js';

/**
 * The one place that turns whatever `@kubernetes/client-node` 2.x (and undici under it) throws
 * into a `ClusterError`. What the library throws (specs/kube-api.md §1, verified against 2.0.1):
 *
 * - HTTP errors: `ApiException{code, body, headers}`. `body` is the raw response text: a JSON
 *   `Status` for most errors, plain text for an APF 429, `undefined` for a 401. Header names are
 *   lower-case (`retry-after`).
 * - Watch: a non-200 answer is a plain `Error` with `.statusCode`; an expired resourceVersion
 *   is an `ERROR` event (handled by the watch loop, not here).
 * - Transport: `TypeError('fetch failed')` whose `.cause` (possibly an AggregateError when
 *   several addresses were tried) carries the system/undici/OpenSSL `code`.
 * - Aborts: the signal's reason — `DOMException` `TimeoutError` for `AbortSignal.timeout`,
 *   `AbortError` for a plain `abort()`.
 */
export interface ClassifyContext {
  readonly cluster: string;
  /** The caller's own signal: when it has fired, the failure is an abort, not a timeout. */
  readonly callerSignal?: AbortSignal;
  /** For Retry-After given as an HTTP date. */
  readonly now?: () => number;
}

/** OpenSSL/Node certificate-verification codes: the server is not who the CA says it is. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const MAX_TEXT = 300;

export function classifyError(err: unknown, ctx: ClassifyContext): ClusterError {
  if (err instanceof ClusterError) return err;
  const cluster = ctx.cluster;

  if (ctx.callerSignal?.aborted) {
    return new ClusterError({
      kind: 'aborted',
      cluster,
      message: 'call aborted by caller',
      cause: err,
    });
  }
  if (err instanceof ApiException) {
    return fromHttp(cluster, err.code, err.body, err.headers, ctx, err);
  }
  if (isWatchStatusError(err)) {
    return fromHttp(cluster, err.statusCode, undefined, {}, ctx, err);
  }
  if (isNamed(err, 'TimeoutError')) {
    return new ClusterError({ kind: 'timeout', cluster, message: 'request timed out', cause: err });
  }
  if (isNamed(err, 'AbortError')) {
    return new ClusterError({ kind: 'aborted', cluster, message: 'request aborted', cause: err });
  }
  return fromTransport(cluster, err);
}

// ---------------------------------------------------------------------------------------------
// HTTP status

interface KubeStatus {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

function fromHttp(
  cluster: string,
  status: number,
  body: unknown,
  headers: Record<string, string> | undefined,
  ctx: ClassifyContext,
  cause: unknown,
): ClusterError {
  const parsed = parseStatus(body);
  const text = parsed?.message ?? plainText(body) ?? defaultText(status);
  const reason = parsed?.reason;
  const retryAfterMs = retryAfter(headers, parsed, ctx.now ?? Date.now);
  const base = { cluster, status, reason, retryAfterMs, cause };
  const kind = kindForStatus(status, parsed);
  const causes = parsed?.details?.causes?.map(({ reason, message, field }) => ({
    reason,
    message,
    field,
  }));
  return new ClusterError({ ...base, kind, message: `${status} ${text}`, causes });
}

function kindForStatus(status: number, parsed: KubeStatus | undefined): ClusterErrorKind {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return 'rejected';
    case 401:
      return 'unauthorized';
    case 403:
      return forbiddenKind(parsed);
    case 404:
      // NamespaceLifecycle admission answers a create into a missing namespace with
      // `namespaces "x" not found`, details.kind "namespaces" (specs/kube-api.md §2).
      return parsed?.details?.kind === 'namespaces' ? 'namespace-missing' : 'not-found';
    case 409:
      return parsed?.reason === undefined || parsed.reason === 'AlreadyExists'
        ? 'already-exists'
        : 'conflict';
    case 410:
      return 'expired';
    case 429:
      return 'throttled';
    default:
      return status >= 500 && status <= 599 ? 'server-error' : 'unknown';
  }
}

/**
 * Who said 403, from the Status (kube-apiserver 1.32; specs/kube-api.md, "403 Forbidden: who
 * said it"). Every 403 on a create has reason Forbidden; only the message tells them apart.
 * `admission.NewForbidden` writes `pods "<name>" is forbidden: <cause>`; RBAC writes no name.
 * - RBAC (`User "..." cannot create resource "pods" ...`) and NamespaceLifecycle (the namespace
 *   is being terminated): the cluster entry cannot create any pod -> `forbidden`, a health
 *   failure.
 * - ResourceQuota `exceeded quota:` (and `status unknown for quota:`, before the quota
 *   controller has counted): this cluster is full for now -> `quota-exceeded`, a capacity signal.
 * - Rules this pod breaks, which no retry changes: ResourceQuota `must specify` and scopes,
 *   LimitRanger, PodSecurity and admission webhooks -> `rejected`, with the server's text.
 * - Any other admission plugin refusing this pod -> `admission-refused`: not the cluster's
 *   health, not known to be permanent.
 * A 403 that names no pod and none of the above stays `forbidden`.
 */
const RBAC_DENIAL = /is forbidden: User ".*" cannot [a-z]+ resource "/;
const NAMESPACE_TERMINATING =
  /unable to create new content in namespace \S+ because it is being terminated/;
const QUOTA_FULL = /is forbidden: (exceeded quota|status unknown for quota): /;
const POLICY_DENIALS: readonly RegExp[] = [
  // ResourceQuota: the pod lacks what the quota must count, or no quota matches its scopes
  /is forbidden: failed quota: .*: must specify /,
  /is forbidden: insufficient quota to (match these scopes|consume):/,
  // LimitRanger (an aggregate of several starts with "[")
  /is forbidden: \[?(minimum|maximum) \S+ usage per (Container|Pod|PersistentVolumeClaim) is /,
  /is forbidden: \[?\S+ max limit to request ratio per (Container|Pod) is /,
  // PodSecurity admission
  /is forbidden: violates PodSecurity "/,
  // validating/mutating admission webhooks (any status code the webhook chose)
  /admission webhook ".*" denied the request/,
];

function forbiddenKind(parsed: KubeStatus | undefined): ClusterErrorKind {
  const message = parsed?.message ?? '';
  const terminating = parsed?.details?.causes?.some((c) => c.reason === 'NamespaceTerminating');
  if (RBAC_DENIAL.test(message) || terminating || NAMESPACE_TERMINATING.test(message)) {
    return 'forbidden';
  }
  if (QUOTA_FULL.test(message)) return 'quota-exceeded';
  if (POLICY_DENIALS.some((rule) => rule.test(message))) return 'rejected';
  return parsed?.details?.name ? 'admission-refused' : 'forbidden';
}

function parseStatus(body: unknown): KubeStatus | undefined {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (value !== null && typeof value === 'object' && (value as KubeStatus).kind === 'Status') {
    return value as KubeStatus;
  }
  return undefined;
}

function plainText(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  const trimmed = body.trim();
  if (trimmed === '') return undefined;
  return trimmed.length > MAX_TEXT ? `${trimmed.slice(0, MAX_TEXT)}…` : trimmed;
}

function defaultText(status: number): string {
  return status === 401 ? 'Unauthorized' : 'no response body';
}

/**
 * Retry-After in ms: the header (delta-seconds or an HTTP date) wins; the Status body's
 * `details.retryAfterSeconds` is the fallback (the apiserver sets both when it sets one).
 */
export function retryAfter(
  headers: Record<string, string> | undefined,
  status: KubeStatus | undefined,
  now: () => number,
): number | undefined {
  const header = headers?.['retry-after'];
  if (header !== undefined) {
    const fromHeader = parseRetryAfterHeader(header, now);
    if (fromHeader !== undefined) return fromHeader;
  }
  const seconds = status?.details?.retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : undefined;
}

export function parseRetryAfterHeader(value: string, now: () => number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now());
}

// ---------------------------------------------------------------------------------------------
// Transport

function fromTransport(cluster: string, err: unknown): ClusterError {
  const codes = collectCodes(err);
  const tls = codes.find((c) => TLS_CODES.has(c) || c.startsWith('ERR_SSL_'));
  if (tls !== undefined) {
    return new ClusterError({
      kind: 'tls',
      cluster,
      code: tls,
      message: `TLS verification failed (${tls}); check the cluster's ca/caFile`,
      cause: err,
    });
  }
  const timeout = codes.find((c) => TIMEOUT_CODES.has(c));
  if (timeout !== undefined) {
    return new ClusterError({
      kind: 'timeout',
      cluster,
      code: timeout,
      message: `request timed out (${timeout})`,
      cause: err,
    });
  }
  if (isFetchFailed(err) || codes.length > 0) {
    const code = codes[0];
    return new ClusterError({
      kind: 'connection',
      cluster,
      code,
      message: `connection failed${code === undefined ? '' : ` (${code})`}`,
      cause: err,
    });
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new ClusterError({
    kind: 'unknown',
    cluster,
    message: `unexpected ${name}${err instanceof Error ? `: ${truncate(err.message)}` : ''}`,
    cause: err,
  });
}

/** Error codes along the cause chain, including every member of an AggregateError. */
function collectCodes(err: unknown, depth = 0): string[] {
  if (depth > 6 || err === null || typeof err !== 'object') return [];
  const out: string[] = [];
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.push(code);
  if (err instanceof AggregateError) {
    for (const e of err.errors) out.push(...collectCodes(e, depth + 1));
  }
  out.push(...collectCodes((err as { cause?: unknown }).cause, depth + 1));
  return out;
}

function isFetchFailed(err: unknown): boolean {
  return err instanceof TypeError && err.message === 'fetch failed';
}

function isWatchStatusError(err: unknown): err is Error & { statusCode: number } {
  return err instanceof Error && typeof (err as { statusCode?: unknown }).statusCode === 'number';
}

function isNamed(err: unknown, name: string): boolean {
  return err !== null && typeof err === 'object' && (err as { name?: unknown }).name === name;
}

function truncate(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}
