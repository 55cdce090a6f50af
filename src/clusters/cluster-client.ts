import {
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  VersionApi,
  Watch,
  type ConfigurationOptions,
  type CoreV1Event,
  type V1Lease,
  type V1Pod,
  type VersionInfo,
} from '@kubernetes/client-node';
import type { Agent } from 'undici';

import type { EventSink } from '../shared/typed-events.js';

import { sleep as realSleep, type RandomFn, type SleepFn } from './backoff.js';
import { abortableCall } from './call-options.js';
import type { BreakerGate } from './circuit-breaker.js';
import { classifyError } from './classify.js';
import type { ClusterEntry } from './cluster-entry.js';
import {
  buildKubeConfig,
  createAgent,
  type AgentOptions,
  type PodbusKubeConfig,
} from './connection.js';
import { ClusterError, type ClusterErrorKind } from './errors.js';
import type { ClusterEvents } from './events.js';
import { silentLogger, type ClusterLogger } from './logger.js';
import { DEFAULT_RATE_LIMIT, RateLimiter } from './rate-limiter.js';
import { permissionLabel, type Permission } from './permissions.js';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from './retry.js';
import { AzureTokenSource } from './azure-token-source.js';
import { ExecTokenSource } from './exec-token-source.js';
import { FileTokenSource, StaticTokenSource, type TokenSource } from './token-source.js';

/** The verbs on pods every podbus worker uses (what `checkAccess` asks by default). */
const POD_PERMISSIONS: readonly Permission[] = ['create', 'get', 'list', 'watch', 'delete'].map(
  (verb) => ({ verb, resource: 'pods' }),
);

/** How long `close()` lets in-flight requests finish before destroying the connections. */
export const CLIENT_CLOSE_GRACE_MS = 2_000;

export type Operation =
  | 'create'
  | 'get'
  | 'patch'
  | 'delete'
  | 'list'
  | 'list-events'
  | 'log'
  | 'lease-get'
  | 'lease-create'
  | 'lease-update'
  | 'access-review'
  | 'version';

/** One finished API call (after retries), for metrics and debug logs. */
export interface CallEvent {
  readonly cluster: string;
  readonly operation: Operation;
  /** 'ok', or the error kind the call ended with (404 on get/delete and 409 on create are 'ok'). */
  readonly outcome: 'ok' | ClusterErrorKind;
  readonly attempts: number;
  readonly durationMs: number;
}

export interface CallOptions {
  /** Aborts the call, including any backoff sleep (shutdown, message lock lost). */
  readonly signal?: AbortSignal;
  /**
   * Told how long the call waited for the cluster's rate limiter, each time it did: time the
   * caller was held by podbus's own pacing, not by a failure (the worker keeps it out of a
   * message's retry budget).
   */
  readonly onRateLimitWait?: (waitedMs: number) => void;
  /**
   * Awaited before an attempt that goes out late: each retry, after its backoff, and any
   * attempt the rate limiter held back. The attempt is sent only if `signal` has not aborted
   * meanwhile. The worker confirms the message's lock here: a create sent after the lock was
   * lost could race the redelivery's create elsewhere.
   */
  readonly beforeLateSend?: () => Promise<void>;
}

export type CreatePodResult =
  | { readonly outcome: 'created'; readonly pod: V1Pod }
  | {
      readonly outcome: 'already-exists';
      /**
       * True when an earlier attempt of this same call failed in a way that may have created
       * the pod (timeout, broken connection, 5xx): the existing pod is then very likely ours.
       * The caller still decides by comparing the request-hash annotation.
       */
      readonly afterAmbiguousAttempt: boolean;
    };

export interface ListPodsOptions extends CallOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continueToken?: string;
}

export interface PodList {
  readonly items: V1Pod[];
  readonly resourceVersion: string;
  /** Set when `limit` cut the list short. */
  readonly continueToken?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchPodsOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly resourceVersion?: string;
  /** Server-side timeout; the server then ends the watch cleanly. */
  readonly timeoutSeconds?: number;
  /** @defaultValue true */
  readonly allowWatchBookmarks?: boolean;
}

export interface WatchHandle {
  stop(): void;
}

export interface AccessReport {
  readonly allowed: boolean;
  /** The permissions RBAC denies in the entry's namespace, as `permissionLabel` names them. */
  readonly denied: readonly string[];
}

/** A pod a caller means: a name, and the uid of the object it saw (a precondition). */
export interface PodRef {
  readonly name: string;
  readonly uid: string;
}

export interface PodLogOptions extends CallOptions {
  readonly container: string;
  /** Only the last lines (the API's `tailLines`). */
  readonly tailLines?: number;
  /** Stop reading after this many bytes (the API's `limitBytes`). */
  readonly limitBytes?: number;
}

export interface ClusterClientOptions {
  readonly entry: ClusterEntry;
  readonly logger?: ClusterLogger;
  /**
   * Timeout of one attempt (headers and body), enforced with an AbortSignal.
   * @defaultValue 10_000
   */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Gate + health recorder; calls are refused while it is open. */
  readonly breaker?: BreakerGate;
  readonly agent?: AgentOptions;
  /**
   * How often, at most, a tokenFile is checked for changes.
   * @defaultValue 1000
   */
  readonly tokenCheckIntervalMs?: number;
  /** Replaces the token/tokenFile source (tests). */
  readonly tokenSource?: TokenSource;
  /** Where the client says what happened: every finished call, every pod it created. */
  readonly events?: EventSink<
    Pick<ClusterEvents, 'call' | 'podCreated' | 'rateLimited' | 'rateLimitPaused'>
  >;
  readonly sleep?: SleepFn;
  readonly random?: RandomFn;
  readonly now?: () => number;
}

/**
 * The podbus client for one cluster: `@kubernetes/client-node` with what it lacks added —
 * a shared keep-alive connection pool with the cluster CA, a per-attempt timeout, bounded
 * retries with jittered backoff honouring Retry-After, a client-side rate limit (whose pace an
 * APF 429 slows down), token rotation, a circuit-breaker gate, and every failure classified
 * into a `ClusterError`.
 */
export class ClusterClient {
  readonly name: string;
  readonly namespace: string;
  readonly entry: ClusterEntry;
  private readonly agent: Agent;
  private readonly kubeConfig: PodbusKubeConfig;
  private readonly core: CoreV1Api;
  private readonly authz: AuthorizationV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly versionApi: VersionApi;
  private readonly tokens: TokenSource;
  private readonly policy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly logger: ClusterLogger;
  private readonly sleep: SleepFn;
  private readonly random: RandomFn;
  private readonly now: () => number;
  private readonly rateLimiter: RateLimiter;
  private closed = false;

  constructor(private readonly options: ClusterClientOptions) {
    const { entry } = options;
    this.entry = entry;
    this.name = entry.name;
    this.namespace = entry.namespace;
    this.logger = options.logger ?? silentLogger;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.tokens = options.tokenSource ?? tokenSourceFor(entry, this.logger, options);
    this.rateLimiter = new RateLimiter({
      limit: {
        qps: entry.qps ?? DEFAULT_RATE_LIMIT.qps,
        burst: entry.burst ?? DEFAULT_RATE_LIMIT.burst,
      },
      now: this.now,
      sleep: this.sleep,
    });
    // The TCP/TLS connect must give up before the whole attempt does: a connect timeout says
    // the request never left (safe to fail over, e.g. an AKS authorized-IP black hole), while
    // an attempt timeout may have fired after the request was sent (ambiguous for a create).
    this.agent = createAgent(entry, this.logger, {
      connectTimeoutMs: Math.max(1, Math.floor(this.requestTimeoutMs / 2)),
      ...options.agent,
    });
    this.kubeConfig = buildKubeConfig(entry, this.agent, this.tokens);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.authz = this.kubeConfig.makeApiClient(AuthorizationV1Api);
    this.coordination = this.kubeConfig.makeApiClient(CoordinationV1Api);
    this.versionApi = this.kubeConfig.makeApiClient(VersionApi);
  }

  /**
   * Creates the pod in the entry's namespace. 409 is a result, not an error.
   *
   * Why retrying a create is safe: a 429 (APF rejects before the handler runs) never created
   * anything; a timeout, a reset connection or a 5xx may have — but podbus pod names are
   * deterministic (derived from the message ID), so a retried create that had in fact
   * succeeded answers 409 AlreadyExists instead of creating a second pod, and the caller tells
   * "ours" from "someone else's" by the request-hash annotation.
   *
   * A thrown error's `mayHaveTakenEffect` says whether the pod may exist nonetheless (some
   * attempt timed out, broke mid-request or got a 5xx): the caller must then retry on this
   * cluster only, never fail over to another, or it could create a second pod.
   */
  async createPod(pod: V1Pod, options: CallOptions = {}): Promise<CreatePodResult> {
    let ambiguous = false;
    try {
      const created = await this.call(
        'create',
        async (config) => {
          try {
            return await this.core.createNamespacedPod(
              { namespace: this.namespace, body: pod, fieldManager: 'podbus' },
              config,
            );
          } catch (err) {
            ambiguous ||= this.classify(err).mayHaveTakenEffect;
            throw err;
          }
        },
        options,
        ['already-exists'],
      );
      this.options.events?.emit('podCreated', { cluster: this.name, pod: created });
      return { outcome: 'created', pod: created };
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'already-exists') {
        return { outcome: 'already-exists', afterAmbiguousAttempt: ambiguous };
      }
      // An earlier attempt may have created the pod even if the last one certainly did not.
      if (err instanceof ClusterError && ambiguous && !err.mayHaveTakenEffect) {
        throw err.with({ mayHaveTakenEffect: true });
      }
      throw err;
    }
  }

  /** The pod, or undefined when it does not exist. */
  async getPod(name: string, options: CallOptions = {}): Promise<V1Pod | undefined> {
    try {
      return await this.call(
        'get',
        (config) => this.core.readNamespacedPod({ name, namespace: this.namespace }, config),
        options,
        ['not-found'],
      );
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  /**
   * Deletes the pod (grace period per the pod spec); 'not-found' when it was already gone.
   * With a `uid`, only that object: a pod recreated under the same name since the caller saw
   * it is left alone ('conflict', the API server's 409 precondition failure).
   */
  async deletePod(
    name: string,
    options: CallOptions & { readonly uid?: string } = {},
  ): Promise<'deleted' | 'not-found' | 'conflict'> {
    const body = options.uid === undefined ? undefined : { preconditions: { uid: options.uid } };
    try {
      await this.call(
        'delete',
        (config) =>
          this.core.deleteNamespacedPod(
            { name, namespace: this.namespace, ...(body && { body }) },
            config,
          ),
        options,
        ['not-found', 'conflict'],
      );
      return 'deleted';
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'not-found') return 'not-found';
      if (err instanceof ClusterError && err.kind === 'conflict') return 'conflict';
      throw err;
    }
  }

  /**
   * Adds annotations to the pod `ref` names, as one JSON patch that first tests the uid: a pod
   * recreated under the same name is never annotated in place of the one the caller saw
   * ('replaced': the test failed, 422, or a 409). 'not-found' when the pod is gone. Needs the
   * `patch` verb on pods.
   */
  async annotatePod(
    ref: PodRef,
    annotations: Readonly<Record<string, string>>,
    options: CallOptions = {},
  ): Promise<'annotated' | 'not-found' | 'replaced'> {
    const body = [
      { op: 'test', path: '/metadata/uid', value: ref.uid },
      ...Object.entries(annotations).map(([key, value]) => ({
        op: 'add',
        path: `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
        value,
      })),
    ];
    try {
      await this.call(
        'patch',
        (config) =>
          this.core.patchNamespacedPod(
            { name: ref.name, namespace: this.namespace, body, fieldManager: 'podbus' },
            config,
          ),
        options,
        ['not-found', 'rejected', 'conflict'],
      );
      return 'annotated';
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'not-found') return 'not-found';
      if (err instanceof ClusterError && (err.kind === 'rejected' || err.kind === 'conflict')) {
        return 'replaced';
      }
      throw err;
    }
  }

  /** The text of one container's log (needs `get` on pods/log). */
  async readPodLog(name: string, options: PodLogOptions): Promise<string> {
    return this.call(
      'log',
      (config) =>
        this.core.readNamespacedPodLog(
          {
            name,
            namespace: this.namespace,
            container: options.container,
            ...(options.tailLines !== undefined && { tailLines: options.tailLines }),
            ...(options.limitBytes !== undefined && { limitBytes: options.limitBytes }),
          },
          config,
        ),
      options,
    );
  }

  /** The Lease in the entry's namespace, or undefined when there is none. */
  async getLease(name: string, options: CallOptions = {}): Promise<V1Lease | undefined> {
    try {
      return await this.call(
        'lease-get',
        (config) =>
          this.coordination.readNamespacedLease({ name, namespace: this.namespace }, config),
        options,
        ['not-found'],
      );
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  /** Creates the Lease; 'exists' when another holder created it first (409). */
  async createLease(lease: V1Lease, options: CallOptions = {}): Promise<V1Lease | 'exists'> {
    try {
      return await this.call(
        'lease-create',
        (config) =>
          this.coordination.createNamespacedLease(
            { namespace: this.namespace, body: lease, fieldManager: 'podbus' },
            config,
          ),
        options,
        ['already-exists'],
      );
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'already-exists') return 'exists';
      throw err;
    }
  }

  /**
   * Replaces the Lease; its `metadata.resourceVersion` must be the one read, so a renewal based
   * on a stale read fails ('conflict', 409) instead of overwriting another holder's.
   */
  async replaceLease(lease: V1Lease, options: CallOptions = {}): Promise<V1Lease | 'conflict'> {
    const name = lease.metadata?.name ?? '';
    try {
      return await this.call(
        'lease-update',
        (config) =>
          this.coordination.replaceNamespacedLease(
            { name, namespace: this.namespace, body: lease, fieldManager: 'podbus' },
            config,
          ),
        options,
        ['conflict', 'already-exists'],
      );
    } catch (err) {
      if (
        err instanceof ClusterError &&
        (err.kind === 'conflict' || err.kind === 'already-exists')
      ) {
        return 'conflict';
      }
      throw err;
    }
  }

  async listPods(options: ListPodsOptions = {}): Promise<PodList> {
    const list = await this.call(
      'list',
      (config) =>
        this.core.listNamespacedPod(
          {
            namespace: this.namespace,
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
            limit: options.limit,
            _continue: options.continueToken,
          },
          config,
        ),
      options,
    );
    return {
      items: list.items,
      resourceVersion: list.metadata?.resourceVersion ?? '',
      continueToken: list.metadata?._continue || undefined,
    };
  }

  /**
   * The core/v1 Events recorded about one pod (scheduler, kubelet), as `kubectl describe pod`
   * lists them; with a `uid`, only those about that object, not an earlier pod of the same name.
   * Needs `list` on events in the namespace.
   */
  async listPodEvents(
    pod: { readonly name: string; readonly uid?: string },
    options: CallOptions = {},
  ): Promise<CoreV1Event[]> {
    const fieldSelector = [
      'involvedObject.kind=Pod',
      `involvedObject.name=${pod.name}`,
      ...(pod.uid === undefined ? [] : [`involvedObject.uid=${pod.uid}`]),
    ].join(',');
    const list = await this.call(
      'list-events',
      (config) =>
        this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector }, config),
      options,
    );
    return list.items;
  }

  /**
   * Starts a watch of pods in the entry's namespace. Events go to `onEvent` (ERROR events carry
   * a Status object); `onDone` is called exactly once, with null when the stream ended cleanly
   * (server timeout, or `stop()`), or with the classified error. client-node 2.x ends a watch
   * that has been silent for 30 s with a `TimeoutError` — that arrives as kind 'timeout'.
   * Watches bypass the circuit breaker and retries: the caller's loop owns reconnection.
   */
  async watchPods(
    options: WatchPodsOptions,
    onEvent: (type: WatchEventType, object: unknown) => void,
    onDone: (err: ClusterError | null) => void,
  ): Promise<WatchHandle> {
    if (this.closed) throw this.closedError();
    // A watch request takes a token like any other (client-go's too): a relisting fleet must
    // not flood the server either.
    await this.rateLimiter.acquire();
    if (this.closed) throw this.closedError();
    let stopped = false;
    const query: Record<string, string | number | boolean> = {
      allowWatchBookmarks: options.allowWatchBookmarks ?? true,
    };
    if (options.labelSelector) query.labelSelector = options.labelSelector;
    if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
    if (options.resourceVersion) query.resourceVersion = options.resourceVersion;
    if (options.timeoutSeconds !== undefined) query.timeoutSeconds = options.timeoutSeconds;
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`;
    const done = (err: unknown) => {
      if (stopped || err === null || err === undefined) onDone(null);
      else onDone(this.classify(err));
    };
    let controller: AbortController | undefined;
    try {
      controller = await new Watch(this.kubeConfig).watch(
        path,
        query,
        (type: string, object: unknown) => {
          if (!stopped) onEvent(type as WatchEventType, object);
        },
        done,
      );
    } catch (err) {
      // applySecurityAuthentication failed (token file unreadable) before any request.
      done(err);
    }
    return {
      stop: () => {
        stopped = true;
        controller?.abort();
      },
    };
  }

  /**
   * A SelfSubjectAccessReview for each permission in the entry's namespace (by default what
   * podbus needs on pods: create; get for duplicate lookups; list/watch for capacity; delete
   * for cleanup).
   */
  async checkAccess(
    permissions: readonly Permission[] = POD_PERMISSIONS,
    options: CallOptions = {},
  ): Promise<AccessReport> {
    const denied: string[] = [];
    for (const permission of permissions) {
      const [resource, subresource] = permission.resource.split('/');
      const review = await this.call(
        'access-review',
        (config) =>
          this.authz.createSelfSubjectAccessReview(
            {
              body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SelfSubjectAccessReview',
                spec: {
                  resourceAttributes: {
                    namespace: this.namespace,
                    verb: permission.verb,
                    group: permission.group ?? '',
                    resource,
                    ...(subresource !== undefined && { subresource }),
                  },
                },
              },
            },
            config,
          ),
        options,
      );
      if (review.status?.allowed !== true) denied.push(permissionLabel(permission));
    }
    return { allowed: denied.length === 0, denied };
  }

  async canCreatePods(options: CallOptions = {}): Promise<boolean> {
    return (await this.checkAccess([{ verb: 'create', resource: 'pods' }], options)).allowed;
  }

  /** GET /version: the health probe (any authenticated caller may read it). */
  async version(options: CallOptions = {}): Promise<VersionInfo> {
    return this.call('version', (config) => this.versionApi.getCode(undefined, config), options);
  }

  /**
   * Closes the connection pool: waits up to CLIENT_CLOSE_GRACE_MS for in-flight requests, then
   * destroys what is left (undici's graceful close would otherwise wait out a connect to a
   * black-holed server).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const graceful = this.agent.close().then(
      () => 'closed' as const,
      () => 'closed' as const,
    );
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), CLIENT_CLOSE_GRACE_MS);
    });
    const outcome = await Promise.race([graceful, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') await this.agent.destroy().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------

  /**
   * One logical call: breaker gate, retries, per-attempt timeout, health recording, metrics.
   * `expected` kinds (404 on get, 409 on create) are outcomes, reported as 'ok'.
   */
  private async call<T>(
    operation: Operation,
    send: (config: ConfigurationOptions) => Promise<T>,
    options: CallOptions,
    expected: readonly ClusterErrorKind[] = [],
  ): Promise<T> {
    if (this.closed) throw this.closedError();
    const breaker = this.options.breaker;
    const started = this.now();
    let attempts = 0;
    const report = (outcome: CallEvent['outcome']) =>
      this.options.events?.emit('call', {
        cluster: this.name,
        operation,
        outcome,
        attempts,
        durationMs: this.now() - started,
      });
    if (breaker && !breaker.tryAcquire()) {
      report('circuit-open');
      throw new ClusterError({
        kind: 'circuit-open',
        cluster: this.name,
        message: 'circuit breaker is open; call not attempted',
      });
    }
    const callerSignal = options.signal;
    try {
      const result = await withRetries(
        async (n) => {
          attempts = n;
          const pacedMs = await this.takeToken(operation, options);
          // Last before a request goes out late (a retry after its backoff, or any attempt held
          // by the rate limiter), so the caller's check (the message's lock) is as fresh as it
          // can be when it matters.
          if ((n > 1 || pacedMs > 0) && options.beforeLateSend) {
            await options.beforeLateSend();
            callerSignal?.throwIfAborted();
          }
          // The timeout starts once the request may go: pacing is not the server's slowness.
          const timeout = AbortSignal.timeout(this.requestTimeoutMs);
          const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
          try {
            return await send(abortableCall(signal));
          } catch (err) {
            this.slowDownIfAsked(err, callerSignal);
            throw err;
          }
        },
        {
          policy: this.policy,
          classify: (err) => this.classify(err, callerSignal),
          sleep: this.sleep,
          random: this.random,
          signal: callerSignal,
          onUnauthorized: () => this.refreshToken(),
          onRetry: ({ error, attempt, delayMs }) =>
            this.logger.debug(
              { cluster: this.name, operation, attempt, delayMs, error: error.toJSON() },
              'retrying cluster call',
            ),
        },
      );
      breaker?.record('success');
      report('ok');
      return result;
    } catch (raw) {
      const err = this.classify(raw, callerSignal);
      breaker?.record(err.healthImpact, err.kind);
      report(expected.includes(err.kind) ? 'ok' : err.kind);
      throw err;
    }
  }

  /**
   * Waits for the rate limiter's token for one request. A wait longer than the retry policy
   * would sleep through for a Retry-After fails at once as `throttled` (nothing sent), so the
   * caller can go elsewhere instead of sitting on a message's lock.
   */
  /** Waits for the cluster's rate limiter; returns how long it waited. */
  private async takeToken(operation: Operation, options: CallOptions): Promise<number> {
    const acquired = await this.rateLimiter.acquire(options.signal, this.policy.maxRetryAfterMs);
    if (!acquired.ok) {
      throw new ClusterError({
        kind: 'throttled',
        cluster: this.name,
        message: `client-side rate limit: the next request may go in ${acquired.waitMs} ms`,
        retryAfterMs: acquired.waitMs,
        mayHaveTakenEffect: false,
      });
    }
    if (acquired.waitedMs === 0) return 0;
    options.onRateLimitWait?.(acquired.waitedMs);
    this.options.events?.emit('rateLimited', {
      cluster: this.name,
      operation,
      waitedMs: acquired.waitedMs,
    });
    return acquired.waitedMs;
  }

  /** An APF 429 with Retry-After holds every request of this replica to the cluster, not one. */
  private slowDownIfAsked(err: unknown, callerSignal: AbortSignal | undefined): void {
    const error = this.classify(err, callerSignal);
    if (error.kind !== 'throttled' || error.retryAfterMs === undefined) return;
    this.rateLimiter.pauseFor(error.retryAfterMs);
    this.options.events?.emit('rateLimitPaused', {
      cluster: this.name,
      forMs: error.retryAfterMs,
    });
  }

  /** After a 401: re-read the token source once; true when it now holds a different token. */
  private async refreshToken(): Promise<boolean> {
    let used: string;
    try {
      used = await this.tokens.current();
    } catch {
      return false;
    }
    const changed = await this.tokens.refreshAfterUnauthorized(used);
    if (changed) {
      this.logger.info({ cluster: this.name }, 'token was rejected; retrying with the new one');
    }
    return changed;
  }

  private classify(err: unknown, callerSignal?: AbortSignal): ClusterError {
    return classifyError(err, { cluster: this.name, callerSignal, now: this.now });
  }

  private closedError(): ClusterError {
    return new ClusterError({ kind: 'aborted', cluster: this.name, message: 'client is closed' });
  }
}

function tokenSourceFor(
  entry: ClusterEntry,
  logger: ClusterLogger,
  options: ClusterClientOptions,
): TokenSource {
  if (entry.tokenFile !== undefined) {
    return new FileTokenSource({
      cluster: entry.name,
      path: entry.tokenFile,
      checkIntervalMs: options.tokenCheckIntervalMs,
      now: options.now,
      logger,
    });
  }
  if (entry.token !== undefined) return new StaticTokenSource(entry.token);
  if (entry.auth?.type === 'azure') {
    return new AzureTokenSource({
      cluster: entry.name,
      auth: entry.auth,
      logger,
      now: options.now,
    });
  }
  if (entry.auth?.type === 'exec') {
    return new ExecTokenSource({
      cluster: entry.name,
      server: entry.server,
      auth: entry.auth,
      logger,
      now: options.now,
    });
  }
  throw new ClusterError({
    kind: 'config',
    cluster: entry.name,
    message: 'none of token, tokenFile and auth is set',
  });
}
