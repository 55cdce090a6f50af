/**
 * Public types of the Kubernetes API emulator. Other parts of podbus (tests, `podbus local`) code
 * against these names; keep them stable.
 */
import type { JsonWebKey } from 'node:crypto';

/** Options of {@link startKubernetesEmulator}. */
export interface KubernetesEmulatorOptions {
  /** The clusters to serve, each on its own port with its own CA and state. @defaultValue `[{name:'cluster-1'}, {name:'cluster-2'}]` */
  clusters?: ClusterSpec[];
  /** Address to listen on; also put into the server certificate. @defaultValue `127.0.0.1` */
  host?: string;
  /** 0 = ephemeral ports; otherwise cluster i listens on basePort + i. @defaultValue `0` */
  basePort?: number;
  /** Seed of every random choice (error rates, jitter, pod IPs, uids, generated names). @defaultValue `1` */
  seed?: number;
  /** Serve plain HTTP instead of HTTPS. Only when asked for. @defaultValue `false` */
  plainHttp?: boolean;
  /** Watch behaviour shared by all clusters. */
  watch?: WatchOptions;
  /** Delay before a `kubernetes.io/service-account-token` Secret gets its token. @defaultValue `100` */
  tokenControllerDelayMs?: number;
  /** Memory use of large clusters. */
  storage?: StorageOptions;
}

/**
 * Object versions (current and in the watch history) idle for `compressAfterMs` are kept
 * delta-encoded against a dictionary sampled from their collection once a cluster holds
 * `compressAboveObjects` objects; reads decode them. Keeps 50,000 stored pods small at a small
 * CPU cost off the request path.
 */
export interface StorageOptions {
  /** @defaultValue `2000` */
  compressAfterMs?: number;
  /** @defaultValue `5000` */
  compressAboveObjects?: number;
}

export interface WatchOptions {
  /** Interval of BOOKMARK events for watches that allow them (the real server: about 1 min). @defaultValue `60000` */
  bookmarkIntervalMs?: number;
  /** Events kept per resource type for watch resumption; older versions get 410 Expired. @defaultValue `10000` */
  historySize?: number;
  /** Server-side watch timeout when the client gives none, in seconds (the real server: random 30-60 min). @defaultValue `1800` (+ up to 100% jitter) */
  defaultTimeoutSeconds?: number;
}

/** One emulated cluster. */
export interface ClusterSpec {
  /** Cluster name: kubeconfig cluster/context name, node name prefix. DNS-1123 label. */
  name: string;
  /** Namespace of the least-privilege service account `podbus` (created at start). @defaultValue `challenges` */
  namespace?: string;
  /** Pods the single node runs at once; pods beyond stay Pending/Unschedulable. @defaultValue `110` */
  nodeCapacityPods?: number;
  /** Durations of the simulated pod lifecycle. */
  lifecycle?: LifecycleSpec;
  /** Faults active from the start. */
  faults?: FaultConfig;
  /**
   * JWT (OIDC) authenticators for bearer tokens, as kube-apiserver's `--authentication-config`
   * file (see {@link AuthenticationConfiguration}); none by default.
   */
  authenticationConfig?: AuthenticationConfiguration;
  /**
   * JWS algorithms the JWT authenticators accept, as kube-apiserver's `--oidc-signing-algs`:
   * RS256/384/512, ES256/384/512, PS256/384/512. @defaultValue `['RS256']`
   */
  oidcSigningAlgs?: string[];
  /**
   * Events: whether the simulated scheduler and kubelet record them (`record`, default true;
   * off saves five writes per pod in heavy benchmarks) and how long an event lives after its
   * last write (`ttlSeconds`, default 3600, kube-apiserver's --event-ttl).
   */
  events?: { record?: boolean; ttlSeconds?: number };
  /**
   * Serve this certificate instead of generating a CA and certificate (PEM). `caPem` is what
   * clients verify against (EmulatedCluster.caPem/caFile); the certificate must be valid for
   * the host clients connect to.
   */
  tls?: { certPem: string; keyPem: string; caPem: string };
}

/**
 * Structured authentication configuration (apiserver.config.k8s.io/v1beta1
 * AuthenticationConfiguration, kube-apiserver 1.32): the JWT authenticators. The claim-based
 * forms are supported; CEL `expression`s and `userValidationRules` are refused at load.
 */
export interface AuthenticationConfiguration {
  apiVersion?: string;
  kind?: string;
  jwt: JwtAuthenticatorConfig[];
}

export interface JwtAuthenticatorConfig {
  issuer: {
    /** Must equal the token's `iss`; https. */
    url: string;
    /** Where the OIDC discovery document is (default `<url>/.well-known/openid-configuration`). */
    discoveryURL?: string;
    /** PEM the discovery and JWKS endpoints are verified with (default: the system CAs). */
    certificateAuthority?: string;
    /** The token's `aud` must contain one of these. */
    audiences: string[];
    /** `MatchAny` (required with several audiences). */
    audienceMatchPolicy?: string;
    /**
     * Emulator only (not in kube-apiserver's schema): the signing keys themselves, a JWKS
     * document, instead of fetching them through discovery.
     */
    jwks?: { keys: JsonWebKey[] };
  };
  /** `claim` must be present with exactly `requiredValue`. */
  claimValidationRules?: { claim?: string; requiredValue?: string; expression?: string }[];
  claimMappings: {
    /** Username: claim value with `prefix` (required with `claim`; may be ""). */
    username: { claim?: string; prefix?: string; expression?: string };
    /** Groups: a string or an array of strings, each with `prefix`. */
    groups?: { claim?: string; prefix?: string; expression?: string };
    uid?: { claim?: string; expression?: string };
    extra?: unknown[];
  };
  userValidationRules?: unknown[];
}

/** Durations of the simulated scheduler and kubelet, in milliseconds. */
export interface LifecycleSpec {
  /** Creation -> bound to the node (PodScheduled). @defaultValue `100` */
  scheduleMs?: number;
  /** Bound -> containers running (or image pull failed). @defaultValue `500` */
  startMs?: number;
  /** Running -> containers exit, unless the image convention says otherwise. @defaultValue `2000` */
  runMs?: number;
  /** Graceful delete of a running pod -> removed (capped by the grace period). @defaultValue `300` */
  terminateMs?: number;
}

/** Verbs that fault injection distinguishes; `*` matches every verb. */
export type FaultVerb = 'create' | 'get' | 'list' | 'delete' | 'watch' | 'update' | 'patch' | '*';

/** Verbs that write (`delete` includes deletecollection); `*` matches every write. */
export type FaultWriteVerb = 'create' | 'update' | 'patch' | 'delete' | '*';

/** An injected error: `rate` in [0,1] of matching requests fail with `status`. */
export interface FaultErrorRate {
  rate: number;
  status: 500 | 503 | 504;
  /** Only requests for these resources (`pods`, `pods/status`, ...); every resource when omitted. */
  resources?: string[];
}

/**
 * What the client gets instead of the answer to a write the server has committed:
 * `reset` (the connection is reset), `delay` (the answer is held `delayMs`, past the client's
 * timeout), `500` (ServerTimeout, as when etcd answers late) or `504` (the request timeout).
 */
export type FaultAmbiguousOutcome = 'reset' | 'delay' | 500 | 504;

/** An ambiguous write: `rate` in [0,1] of matching writes are committed, then answered with `outcome`. */
export interface FaultAmbiguousWrite {
  rate: number;
  outcome: FaultAmbiguousOutcome;
  /** With `delay`: milliseconds between the commit and the answer. */
  delayMs?: number;
  /** Only writes to these resources (`pods`, ...); every resource when omitted. */
  resources?: string[];
}

/**
 * Faults of one cluster. Request-level faults apply to Kubernetes API requests (not to the
 * `/_emulator` admin endpoint); `down`, `blackhole` and `connectionReset` act on connections.
 * Every decision that involves a rate draws from the cluster's own seeded fault stream, so the
 * same seed and the same sequence of requests fail the same way.
 */
export interface FaultConfig {
  /** Added to every API request before it is handled. */
  latencyMs?: number;
  /** Uniform random extra latency in [0, jitterMs). */
  jitterMs?: number;
  /** Injected 5xx per verb, before the request is handled (nothing is written). */
  errorRate?: Partial<Record<FaultVerb, FaultErrorRate>>;
  /**
   * Writes that are committed but whose answer is lost, late or replaced by a 5xx. A list per
   * verb mixes outcomes: each entry is drawn in turn, the first that fires applies.
   */
  ambiguousWrite?: Partial<Record<FaultWriteVerb, FaultAmbiguousWrite | FaultAmbiguousWrite[]>>;
  /**
   * APF-style 429 (plain text, Retry-After): for the next `count` requests, or all while set;
   * with `rate`, only that share of requests (seeded), each one counting against `count`.
   */
  throttle?: { retryAfterSeconds: number; count?: number; rate?: number };
  /**
   * Every pod create is refused by ResourceQuota admission as if the namespace's quota were
   * used up: 403 `exceeded quota: <quota>, requested: pods=1, used: pods=N, limited: pods=N`.
   */
  quotaFull?: { quota?: string };
  /** New connections are reset (TCP RST) at accept; requests on open connections are reset. */
  connectionReset?: boolean;
  /** Connections are accepted but never answered (no TLS handshake, no response). */
  blackhole?: boolean;
  /** Listener closed: connections are refused (ECONNREFUSED); open connections are destroyed. */
  down?: boolean;
  /** Clear every fault this many milliseconds after it was set (handy for `down` via HTTP). */
  clearAfterMs?: number;
}

/** A change to the faults: keys set to `null` (or undefined) are cleared. */
export type FaultPatch = { [K in keyof FaultConfig]?: FaultConfig[K] | null };

/** Runtime fault switchboard of one cluster (the admin endpoint uses the same object). */
export interface FaultControl {
  /** The faults in force now. */
  get(): FaultConfig;
  /** Merges `faults` into the current ones (a key set to null clears it). */
  set(faults: FaultPatch): Promise<void>;
  /** Replaces all faults. */
  replace(faults: FaultConfig): Promise<void>;
  /** Removes every fault (and brings the listener up again). */
  clear(): Promise<void>;
  /** What `set` (merge) or `replace` would produce; throws on invalid faults; applies nothing. */
  preview(faults: FaultPatch, mode: 'merge' | 'replace'): FaultConfig;
}

/** A pod as the emulator stores it (the JSON a GET returns). */
export type PodObject = {
  metadata: { name: string; namespace: string; uid: string; [k: string]: unknown };
  spec: Record<string, unknown>;
  status: { phase: string; [k: string]: unknown };
  [k: string]: unknown;
};

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface SetPodPhaseOptions {
  /** Exit code of every container when the phase is terminal. @defaultValue 0 or 1 */
  exitCode?: number;
  /** Pod status reason (e.g. `DeadlineExceeded`, `Evicted`). */
  reason?: string;
  message?: string;
}

export interface EmulatedCluster {
  readonly name: string;
  /** https://HOST:PORT */
  readonly server: string;
  /** CA certificate (PEM) that signed the server certificate. Empty with plainHttp. */
  readonly caPem: string;
  /** The same CA written to a temporary file. */
  readonly caFile: string;
  /** Token of a cluster-admin equivalent user (`kubernetes-admin`, group `system:masters`). */
  readonly adminToken: string;
  /** Token of `system:serviceaccount:<namespace>:podbus` (pods in <namespace> only). */
  readonly serviceAccountToken: string;
  /** Namespace of the least-privilege service account. */
  readonly namespace: string;
  /** Fault injection at runtime. */
  readonly faults: FaultControl;
  /**
   * Replaces the JWT authenticators (undefined: none), as kube-apiserver reloads its
   * authentication configuration file; resolves once each issuer's keys were fetched (or
   * failed to be: their tokens get 401 until a later fetch succeeds). Throws
   * EmulatorOptionsError for a configuration kube-apiserver would refuse.
   */
  setAuthenticationConfig(config: AuthenticationConfiguration | undefined): Promise<void>;
  /**
   * The authentication configuration in force (null: none) and, per issuer, why its keys could
   * not be fetched (why its tokens get 401).
   */
  authenticationStatus(): {
    config: AuthenticationConfiguration | null;
    keyFetchErrors: Record<string, string>;
  };
  /** Makes `token` fail with 401 from now on (any kind of token). */
  revokeToken(token: string): void;
  /** Issues a bound token for a service account (created if missing), like TokenRequest. */
  issueToken(opts: {
    namespace: string;
    serviceAccount: string;
    expiresInSeconds?: number;
  }): string;
  /** Pods as stored (fresh copies), optionally of one namespace. */
  listPods(namespace?: string): PodObject[];
  /** One pod, or undefined. */
  getPod(namespace: string, name: string): PodObject | undefined;
  /**
   * Every pod this cluster ever stored, oldest first, including pods deleted since (with
   * `deletedAt`); optionally of one namespace. Also `GET /_emulator/history/pods`.
   */
  podHistory(namespace?: string): PodHistoryEntry[];
  /** Forces a pod into a phase (running or terminal), bypassing the simulated durations. */
  setPodPhase(namespace: string, name: string, phase: PodPhase, options?: SetPodPhaseOptions): void;
  /** Requests served so far, by verb (handy to assert retries or connection reuse). */
  readonly stats: EmulatorStats;
}

/** One pod a cluster stored, as its creation history keeps it. */
export interface PodHistoryEntry {
  namespace: string;
  name: string;
  uid: string;
  /** When it was stored (ISO 8601, milliseconds). */
  createdAt: string;
  /** When it was removed from storage (DELETED), if it was. */
  deletedAt?: string;
  /** Its labels and annotations as created (e.g. podbus's message id annotation). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface EmulatorStats {
  requests: number;
  byVerb: Record<string, number>;
  connections: number;
  /** Objects stored, all types. */
  objects: number;
  /** Written object versions the storage compactor has not looked at yet. */
  compactionBacklog: number;
}

export interface KubernetesEmulator {
  readonly clusters: readonly EmulatedCluster[];
  /** Cluster by name; throws if there is none. */
  cluster(name: string): EmulatedCluster;
  /** Writes a kubeconfig with, per cluster, context NAME (admin) and NAME-podbus (service account). */
  writeKubeconfig(path: string): Promise<void>;
  /** Closes listeners and connections, ends watches, stops timers, removes temp files. */
  stop(): Promise<void>;
}
