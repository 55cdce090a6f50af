/**
 * The one error type that leaves `src/clusters/`. Every failure of a Kubernetes API call
 * (HTTP status, transport, TLS, timeout, abort, credentials) is classified into one of these
 * kinds by `classify.ts`; callers branch on `kind` and `retryable`, never on raw library errors.
 *
 * Messages are safe to log: they are built from the API server's Status message, an error code
 * and the cluster name — never from request headers, so a bearer token can never appear.
 */
export type ClusterErrorKind =
  /** 409 AlreadyExists: a pod with that name exists (on create). */
  | 'already-exists'
  /** 409 other than AlreadyExists (e.g. a precondition conflict). */
  | 'conflict'
  /**
   * 400/413/415/422, or a 403 from a rule the pod breaks (PodSecurity, LimitRange, a quota that
   * demands requests/limits, an admission webhook): retrying cannot help. Carries causes.
   */
  | 'rejected'
  /** 404 for the named object (e.g. the pod), not the namespace. */
  | 'not-found'
  /** 404 `namespaces "x" not found`: the cluster entry points at a namespace that is gone. */
  | 'namespace-missing'
  /** 401: the token is invalid, expired or revoked. */
  | 'unauthorized'
  /** 403 from RBAC, or NamespaceLifecycle (namespace terminating): no pod can be created. */
  | 'forbidden'
  /** 403 `exceeded quota`: the namespace's ResourceQuota is used up for now (capacity). */
  | 'quota-exceeded'
  /** 403 from an admission plugin podbus does not recognise, about this pod (see classify.ts). */
  | 'admission-refused'
  /** 410 Gone: a resourceVersion or continue token expired (list/watch). */
  | 'expired'
  /** 429: API Priority and Fairness throttled us; `retryAfterMs` from Retry-After when given. */
  | 'throttled'
  /** 5xx; `retryAfterMs` when the server sent Retry-After. */
  | 'server-error'
  /** The request timeout elapsed (no answer in time, e.g. a black-holed endpoint). */
  | 'timeout'
  /** The TCP/TLS connection failed or broke: refused, reset, DNS, unreachable. */
  | 'connection'
  /** The server certificate failed verification: a configuration error, never retried. */
  | 'tls'
  /** The caller's AbortSignal fired (shutdown, lock lost); says nothing about the cluster. */
  | 'aborted'
  /** The circuit breaker is open: the call was not attempted. */
  | 'circuit-open'
  /** Local configuration problem: CA file or token file unreadable/empty. */
  | 'config'
  /** Anything else (unexpected status, unparseable response). */
  | 'unknown';

/** What a call's outcome says about the cluster's health (input to the circuit breaker). */
export type HealthImpact = 'success' | 'failure' | 'neutral';

/** One validation problem from a 422 Status (`details.causes[]`). */
export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

export interface ClusterErrorInit {
  readonly kind: ClusterErrorKind;
  readonly cluster: string;
  readonly message: string;
  readonly status?: number;
  /** The Status `reason` (e.g. AlreadyExists, Invalid, ServerTimeout) when the body had one. */
  readonly reason?: string;
  readonly retryAfterMs?: number;
  readonly causes?: readonly StatusCause[];
  /** Low-level error code (ECONNREFUSED, UND_ERR_SOCKET, CERT_HAS_EXPIRED, ...). */
  readonly code?: string;
  /** Attempts made before giving up (set by the retry loop). */
  readonly attempts?: number;
  /**
   * The server may have carried out the request despite the error: the request may have been
   * sent before a timeout or a broken connection, or a 5xx came from behind the handler.
   * False when it certainly was not (refused connection, TLS, 4xx, breaker open).
   * @defaultValue derived from kind (see `mayHaveTakenEffectByDefault`)
   */
  readonly mayHaveTakenEffect?: boolean;
  readonly cause?: unknown;
}

/**
 * Connection failures that happen before a single byte of the request leaves: the request
 * certainly had no effect. Every other transport failure may have happened after sending.
 */
const CONNECT_PHASE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function mayHaveTakenEffectByDefault(kind: ClusterErrorKind, code?: string): boolean {
  switch (kind) {
    case 'server-error':
    case 'aborted':
    case 'unknown':
      return true;
    case 'timeout':
    case 'connection':
      return code === undefined || !CONNECT_PHASE_CODES.has(code);
    default:
      return false;
  }
}

const RETRYABLE: ReadonlySet<ClusterErrorKind> = new Set([
  'throttled',
  'server-error',
  'timeout',
  'connection',
]);

/**
 * Kinds that mean "this cluster is not usable right now" for every message, as opposed to
 * outcomes specific to one message (409, 422, 404 pod) which prove the cluster answered.
 */
const HEALTH: Readonly<Record<ClusterErrorKind, HealthImpact>> = {
  'already-exists': 'success',
  conflict: 'success',
  rejected: 'success',
  'not-found': 'success',
  expired: 'success',
  'namespace-missing': 'failure',
  unauthorized: 'failure',
  forbidden: 'failure',
  // Both are about this pod: the API server answered, and another pod may well pass.
  'quota-exceeded': 'neutral',
  'admission-refused': 'neutral',
  'server-error': 'failure',
  timeout: 'failure',
  connection: 'failure',
  tls: 'failure',
  config: 'failure',
  // A 429 proves the server is up; it is load, not breakage. Retries already back off.
  throttled: 'neutral',
  aborted: 'neutral',
  'circuit-open': 'neutral',
  unknown: 'neutral',
};

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  readonly kind: ClusterErrorKind;
  readonly cluster: string;
  readonly status?: number;
  readonly reason?: string;
  readonly retryAfterMs?: number;
  readonly causes?: readonly StatusCause[];
  readonly code?: string;
  readonly attempts?: number;
  readonly mayHaveTakenEffect: boolean;
  /** The message without the `cluster <name>: ` prefix. */
  readonly detail: string;

  constructor(init: ClusterErrorInit) {
    super(`cluster ${init.cluster}: ${init.message}`, { cause: init.cause });
    this.detail = init.message;
    this.kind = init.kind;
    this.cluster = init.cluster;
    this.status = init.status;
    this.reason = init.reason;
    this.retryAfterMs = init.retryAfterMs;
    this.causes = init.causes;
    this.code = init.code;
    this.attempts = init.attempts;
    this.mayHaveTakenEffect =
      init.mayHaveTakenEffect ?? mayHaveTakenEffectByDefault(init.kind, init.code);
  }

  /** True for kinds worth retrying on the same cluster (429, 5xx, timeout, connection). */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }

  get healthImpact(): HealthImpact {
    return HEALTH[this.kind];
  }

  /** A copy with some facts added by the retry loop or the caller. */
  with(patch: Pick<ClusterErrorInit, 'attempts' | 'mayHaveTakenEffect'>): ClusterError {
    return new ClusterError({ ...this.init(), ...patch });
  }

  /** Plain object for structured logs (no `cause`: raw library errors may echo headers). */
  toJSON(): Record<string, unknown> {
    const { cause: _cause, ...rest } = this.init();
    return { name: this.name, ...rest, message: this.message, retryable: this.retryable };
  }

  private init(): ClusterErrorInit {
    return {
      kind: this.kind,
      cluster: this.cluster,
      message: this.detail,
      status: this.status,
      reason: this.reason,
      retryAfterMs: this.retryAfterMs,
      causes: this.causes,
      code: this.code,
      attempts: this.attempts,
      mayHaveTakenEffect: this.mayHaveTakenEffect,
      cause: this.cause,
    };
  }
}

export function isClusterError(err: unknown): err is ClusterError {
  return err instanceof ClusterError;
}

export function isRetryableKind(kind: ClusterErrorKind): boolean {
  return RETRYABLE.has(kind);
}

export function healthImpactOf(kind: ClusterErrorKind): HealthImpact {
  return HEALTH[kind];
}
