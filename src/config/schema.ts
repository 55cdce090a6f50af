import { CREDENTIAL_KINDS } from '../azure/credential.js';
import { LOG_LEVELS } from '../observability/logger.js';
import { envVarFor, isLeaf } from './schema-tree.js';
import type { FormatName, LeafSpec, SchemaNode, SectionSpec } from './schema-tree.js';

/**
 * The convict schema: every option podbus reads, its default, its environment variable (derived
 * from the path: `worker.retry.maxDelayMs` -> PODBUS_WORKER_RETRY_MAX_DELAY_MS) and its doc.
 * docs/configuration.md is generated from this file (src/config/reference.ts).
 */

type Spec = Omit<LeafSpec, 'env' | 'format' | 'doc' | 'default'>;

function option(format: FormatName, doc: string, value: unknown, spec: Spec = {}): LeafSpec {
  return { doc, default: value, format, env: '', ...spec };
}

const int = (doc: string, value: number, min: number, max?: number): LeafSpec =>
  option('podbus-int', doc, value, max === undefined ? { min } : { min, max });
const bool = (doc: string, value: boolean): LeafSpec => option('podbus-bool', doc, value);
const text = (doc: string, value: string, spec: Spec = {}): LeafSpec =>
  option('podbus-string', doc, value, spec);
const oneOf = (doc: string, value: string, values: readonly string[]): LeafSpec =>
  option('podbus-enum', doc, value, { values });
const list = (doc: string, value: readonly string[], spec: Spec = {}): LeafSpec =>
  option('podbus-string-list', doc, value, spec);
const map = (doc: string): LeafSpec => option('podbus-string-map', doc, {});
const quantity = (doc: string, value: string): LeafSpec => option('podbus-quantity', doc, value);
const secondsOrNever = (doc: string, value: number | 'never'): LeafSpec =>
  option('podbus-seconds-or-never', doc, value, { min: 0, max: MAX_INT32 });

export const SELECTION_STRATEGIES = ['round-robin', 'weighted', 'least-loaded', 'hash'] as const;
export const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export const SECCOMP_PROFILES = ['RuntimeDefault', 'Unconfined', 'none'] as const;

const MINUTE_MS = 60_000;
const MAX_INT32 = 2_147_483_647;

const definition: SectionSpec = {
  serviceBus: {
    connectionString: option(
      'podbus-connection-string',
      'Service Bus connection string (`Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...`): authenticate with a shared access key. Exactly one of connectionString and fullyQualifiedNamespace. Keep it in a Secret and pass it through the environment variable.',
      '',
      { sensitive: true },
    ),
    fullyQualifiedNamespace: text(
      'The namespace, `<namespace>.servicebus.windows.net`, to authenticate with a Microsoft Entra ID credential (serviceBus.credential) instead of a key; for namespaces with local (SAS) authentication disabled. Exactly one of connectionString and fullyQualifiedNamespace. The identity needs Azure Service Bus Data Receiver on the queue (and Data Sender to send).',
      '',
    ),
    credential: oneOf(
      'The Entra ID credential used with fullyQualifiedNamespace (required with it): workload-identity (AKS workload identity: AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE from the webhook), managed-identity (the VM or node identity; azure.managedIdentityClientId for a user-assigned one), azure-cli (`az login`, for a workstation), default (DefaultAzureCredential: tries them in turn).',
      '',
      CREDENTIAL_KINDS,
    ),
    queueName: text('Queue the challenge messages arrive on.', 'challenges', { nonEmpty: true }),
    maxConcurrentCalls: int(
      'Messages handled at the same time by one replica (the receiver prefetches no more than this).',
      8,
      1,
      1000,
    ),
    maxAutoLockRenewalDurationMs: int(
      'How long the SDK keeps renewing the lock of a message being handled. It bounds how long one replica may hold one message (retrying transient failures, waiting for a cluster); after it the lock lapses and Service Bus redelivers. Must exceed worker.transientRetryBudgetMs so podbus gives a message back deliberately before the lock is lost. Default 30 minutes.',
      30 * MINUTE_MS,
      1,
    ),
  },
  azure: {
    authorityHost: text(
      'Where the Entra ID credentials (serviceBus.credential, cluster entries with auth type azure) get tokens; empty for what @azure/identity chooses (AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com). Set for a sovereign cloud, or for a local token endpoint such as @podbus/entra-emulator.',
      '',
    ),
    disableInstanceDiscovery: bool(
      "Skip MSAL's instance discovery, a request to login.microsoftonline.com that validates the authority: needed for an authority host MSAL does not know, such as a local token endpoint; leave off for Entra ID itself.",
      false,
    ),
    managedIdentityClientId: text(
      'Client ID of the user-assigned managed identity for the credentials managed-identity and default; empty for the system-assigned identity.',
      '',
    ),
  },
  clustersFile: text(
    'Path to a YAML or JSON list of cluster entries (see "Cluster entries"); typically a mounted ConfigMap. Use this or clusters: set in the same place, both are an error; set in different places, the later source wins (PODBUS_CLUSTERS_FILE over clusters in the config file, `--clusters-file` over both). Relative paths in the config file resolve against its directory, others against the working directory.',
    '',
    { path: true },
  ),
  clusters: option(
    'podbus-clusters',
    'Cluster entries inline (see "Cluster entries"). In an environment variable: a JSON list. Marked sensitive because entries may hold inline tokens; prefer tokenFile.',
    [],
    { sensitive: true },
  ),
  selection: {
    strategy: oneOf(
      'How a cluster is chosen for a new pod: round-robin, weighted (by cluster weight), least-loaded (fewest active podbus pods relative to maxActivePods, from a watch) or hash (rendezvous hash of the message ID: the same message goes to the same cluster from any replica). least-loaded is the default because challenge pods vary in length and it is the strategy that follows real capacity.',
      'least-loaded',
      SELECTION_STRATEGIES,
    ),
    allowMessageClusterPreference: bool(
      "Honour a message's cluster field when that cluster is configured, healthy and has room.",
      true,
    ),
  },
  policy: {
    allowedImages: list(
      'Image patterns messages may run, matched against registry/repository (tags and digests are ignored): `myacr.azurecr.io/challenges/*` (one level), `ghcr.io/org/**` (any depth; `**` only as a whole path component, since `ghcr.io/org**` would also match `ghcr.io/org-other/...`), `nginx` (= `docker.io/library/nginx`), or `*` for any image. Required: podbus refuses to start without an allowlist. In an environment variable: comma-separated.',
      [],
      { required: true },
    ),
    maxBodyBytes: int(
      'Largest message body accepted, in bytes; larger messages are dead-lettered (PolicyViolation).',
      64 * 1024,
      1,
      100 * 1024 * 1024,
    ),
    maxContainers: int('Most containers one message may ask for.', 5, 1, 100),
    maxEnvVarsPerContainer: int(
      'Most environment variables per container in a message.',
      50,
      0,
      1000,
    ),
    defaultActiveDeadlineSeconds: int(
      'Pod activeDeadlineSeconds when the message sets none: Kubernetes stops the pod after this long.',
      3600,
      1,
      MAX_INT32,
    ),
    maxActiveDeadlineSeconds: int(
      'Largest activeDeadlineSeconds a message may ask for.',
      86400,
      1,
      MAX_INT32,
    ),
    resources: {
      defaults: {
        requests: {
          cpu: quantity('CPU request of a container whose message sets none.', '100m'),
          memory: quantity('Memory request of a container whose message sets none.', '128Mi'),
        },
        limits: {
          cpu: quantity('CPU limit of a container whose message sets none.', '1'),
          memory: quantity('Memory limit of a container whose message sets none.', '512Mi'),
        },
      },
      max: {
        cpu: quantity('Largest CPU request or limit a message may set per container.', '2'),
        memory: quantity('Largest memory request or limit a message may set per container.', '4Gi'),
      },
    },
    labels: {
      maxCount: int('Most labels one message may set on its pod.', 10, 0, 64),
      forbiddenPrefixes: list(
        'Label key prefixes messages may not use; each also covers its subdomains (`kubernetes.io` covers `app.kubernetes.io`). The `messageId` and `challengeId` labels and the keys of `pod.labels` are always reserved.',
        ['kubernetes.io', 'k8s.io', 'podbus.io'],
      ),
    },
  },
  pod: {
    imagePullPolicy: oneOf(
      'imagePullPolicy of every container. Always, as the seed did: challenge images are often re-pushed under the same tag.',
      'Always',
      IMAGE_PULL_POLICIES,
    ),
    terminationGracePeriodSeconds: int(
      'Seconds a pod gets to stop when deleted; 0 as the seed did (challenge pods are disposable).',
      0,
      0,
      MAX_INT32,
    ),
    automountServiceAccountToken: bool(
      "Mount the namespace's service-account token into challenge pods. Off: challenge code has no business calling the Kubernetes API.",
      false,
    ),
    enableServiceLinks: bool(
      "Inject environment variables describing the namespace's services. Off: they leak what else runs there.",
      false,
    ),
    priorityClassName: text('PriorityClass of challenge pods; empty for the cluster default.', ''),
    labels: map(
      "Labels added to every pod (e.g. `team: bootcamp`). In an environment variable: JSON or `name=value,name=value`. podbus's own labels win over these.",
    ),
    annotations: map(
      'Annotations added to every pod. In an environment variable: JSON or `name=value,name=value`. Keys under `podbus.io/` are reserved.',
    ),
    securityContext: {
      runAsNonRoot: bool(
        'Require containers to run as a non-root user. Off by default because many challenge images run as root and the kubelet would refuse to start them (CreateContainerConfigError) after the pod was created; turn it on when every allowed image runs as non-root.',
        false,
      ),
      seccompProfile: oneOf(
        'Pod seccomp profile: RuntimeDefault (blocks rarely used, risky syscalls), Unconfined, or none to leave it to the cluster.',
        'RuntimeDefault',
        SECCOMP_PROFILES,
      ),
      allowPrivilegeEscalation: bool(
        'Let container processes gain more privileges than their parent (setuid binaries).',
        false,
      ),
      dropAllCapabilities: bool('Drop every Linux capability (`capabilities.drop: [ALL]`).', true),
      readOnlyRootFilesystem: bool(
        "Mount containers' root filesystems read-only. Off: most challenge images write to their own filesystem.",
        false,
      ),
    },
  },
  worker: {
    shutdownGraceMs: int(
      "On SIGTERM/SIGINT: how long in-flight messages may finish. Messages only waiting go back to the queue at once; one whose pod create is still in flight when this ends is left locked (its create may still land) and comes back when its lock lapses. Stopping takes at most this + 7 s (closing connections): set the Deployment's terminationGracePeriodSeconds above that.",
      30_000,
      0,
    ),
    transientRetryBudgetMs: int(
      'How long one message is retried in-process after transient failures (timeouts, 5xx, 429, every cluster unavailable) before it is abandoned for a later redelivery. Must be less than serviceBus.maxAutoLockRenewalDurationMs.',
      5 * MINUTE_MS,
      0,
    ),
    retry: {
      initialDelayMs: int('First backoff delay between in-process retries.', 500, 1),
      maxDelayMs: int('Cap of the exponential backoff delay (with jitter).', 30_000, 1),
    },
    clusterRequestTimeoutMs: int(
      'Timeout of one Kubernetes API request (client-node has none of its own).',
      10_000,
      1,
    ),
  },
  results: {
    queueName: text(
      "Queue every challenge's result is sent to (one message per pod, when it ends: see docs/results.md); empty turns results off. Enable duplicate detection on it: a result may be sent twice (a leader dying between sending and marking the pod), always under the same messageId, and duplicate detection keeps one. The worker must be allowed to send to it (Send in the connection string's policy, or Azure Service Bus Data Sender for an Entra ID identity).",
      '',
    ),
    allowedReplyTo: list(
      "Queue-name patterns (`*` matches any run of characters, case-insensitive) a challenge message's replyTo may name: its result then goes there instead of queueName. Empty: every result goes to queueName. Anyone who can send to the challenges queue sets replyTo, so list only queues senders may receive from. A replyTo that is not a plain queue name or matches no pattern is ignored. In an environment variable: comma-separated.",
      [],
    ),
    stuckAfterSeconds: int(
      'A pod still waiting this long after its creation because an image cannot be pulled (ErrImagePull, ImagePullBackOff, InvalidImageName) or no node can take it (Unschedulable) is reported as image-pull-failed or unschedulable. Pods in those states never end by themselves.',
      300,
      1,
      MAX_INT32,
    ),
    logTailBytes: int(
      "Bytes of the end of each container's log put into its result (at most 64 KiB per result over all containers); 0 for none. Needs `get` on pods/log in the cluster's Role (deploy/target-cluster has it).",
      0,
      0,
      16 * 1024,
    ),
  },
  cleanup: {
    ttlSecondsAfterFinished: secondsOrNever(
      'Finished podbus pods (Succeeded or Failed, only those labelled app.kubernetes.io/managed-by=podbus) are deleted this many seconds after they ended, and never before their result is sent (when results are on). 0 deletes them right after the result (though never before minimumAgeSeconds); never keeps them (the controller manager deletes terminated pods only beyond 12,500 in the cluster).',
      3600,
    ),
    stuckPendingSeconds: secondsOrNever(
      'A podbus pod still stuck (image pull failing, invalid image name, unschedulable) this many seconds after its creation is deleted, after its result (when results are on) was sent: stuck pods hold a slot of maxActivePods and never end by themselves. never keeps them.',
      900,
    ),
    minimumAgeSeconds: int(
      "No pod is deleted before it is this many seconds old, whatever the other limits say. A pod is also the record that its message was handled: when a replica dies between creating a pod and completing its message, the message comes back once its lock lapses (within the queue's LockDuration, at most 5 minutes), and must find its pod, or a second pod runs the challenge again. Keep it above the queue's LockDuration, with room for the redelivery to be received.",
      600,
      0,
      MAX_INT32,
    ),
  },
  leaderElection: {
    leaseName: text(
      "Name of the coordination.k8s.io Lease, in each cluster entry's namespace, through which replicas elect the one that sends the cluster's results and deletes its pods.",
      'podbus-results',
      { nonEmpty: true },
    ),
    leaseDurationSeconds: int(
      "How long the other replicas wait, after the leader's last renewal they saw, before one of them takes over (client-go's LeaseDuration).",
      15,
      1,
      3600,
    ),
    renewDeadlineSeconds: int(
      "How long the leader keeps acting without a successful renewal; it stops sending results at once when this passes (client-go's RenewDeadline). Less than leaseDurationSeconds.",
      10,
      1,
      3600,
    ),
    retryPeriodSeconds: int(
      "How often the leader renews and the others try to take over (client-go's RetryPeriod).",
      2,
      1,
      3600,
    ),
  },
  log: {
    level: oneOf(
      'Least severe level that is logged (fatal, error, warn, info, debug, trace, or silent for none).',
      'info',
      LOG_LEVELS,
    ),
    pretty: bool('Human-readable logs (pino-pretty) instead of JSON lines; for terminals.', false),
  },
  http: {
    enabled: bool('Serve /healthz, /readyz and /metrics.', true),
    host: text('Address the health and metrics server listens on.', '0.0.0.0', { nonEmpty: true }),
    port: int(
      'Port of the health and metrics server; 0 picks a free port (tests).',
      9090,
      0,
      65535,
    ),
  },
};

/** One-line descriptions of the sections, for the generated reference. */
export const SECTION_DOCS: Readonly<Record<string, string>> = {
  serviceBus: 'Where messages come from. The receiver always uses peekLock (not configurable).',
  azure: 'How the Microsoft Entra ID credentials reach Entra ID (the defaults suit Azure).',
  clusters: 'Where pods go: one of clustersFile or clusters.',
  selection: 'How a cluster is picked for each new pod.',
  policy: 'What a message may ask for. Violations are dead-lettered as PolicyViolation.',
  pod: 'How every pod is shaped and hardened.',
  worker: 'Retries, timeouts and shutdown.',
  results:
    "What happens when a challenge's pod ends: one result message per pod (docs/results.md).",
  cleanup: 'When finished and stuck podbus pods are deleted.',
  leaderElection: 'The Lease that makes one replica per cluster the results sender and cleaner.',
  log: 'Logging.',
  http: 'Health and metrics endpoints.',
};

function withEnv(node: SectionSpec, prefix = ''): SectionSpec {
  return Object.fromEntries(
    Object.entries(node).map(([key, child]): [string, SchemaNode] => {
      const path = prefix ? `${prefix}.${key}` : key;
      return [key, isLeaf(child) ? { ...child, env: envVarFor(path) } : withEnv(child, path)];
    }),
  );
}

export const CONFIG_SCHEMA: SectionSpec = withEnv(definition);
