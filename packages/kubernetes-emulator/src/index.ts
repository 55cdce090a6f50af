/**
 * Kubernetes API emulator: one process serving several independent clusters over HTTPS, each
 * with its own CA, tokens, RBAC, state, simulated pod lifecycle and fault injection.
 * See README.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ISSUER } from './auth.js';
import { authenticationConfigErrors } from './authentication-config.js';
import { ClusterRuntime } from './cluster.js';
import { writeKubeconfigFile } from './kubeconfig.js';
import { EmulatorOptionsError } from './options-error.js';
import { SeededRandom } from './random.js';
import type { ClusterConfig } from './state.js';
import type {
  ClusterSpec,
  EmulatedCluster,
  KubernetesEmulator,
  KubernetesEmulatorOptions,
} from './types.js';
import { isDns1123Label } from './validation.js';

export type {
  AuthenticationConfiguration,
  ClusterSpec,
  EmulatedCluster,
  EmulatorStats,
  FaultConfig,
  FaultControl,
  FaultAmbiguousOutcome,
  FaultAmbiguousWrite,
  FaultErrorRate,
  FaultPatch,
  FaultVerb,
  FaultWriteVerb,
  JwtAuthenticatorConfig,
  KubernetesEmulator,
  KubernetesEmulatorOptions,
  LifecycleSpec,
  PodHistoryEntry,
  PodObject,
  PodPhase,
  SetPodPhaseOptions,
  StorageOptions,
  WatchOptions,
} from './types.js';
export { kubeconfigYaml } from './kubeconfig.js';
export { generateClusterCertificates, type ClusterCertificates } from './certificates.js';

export { PODBUS_ROLE_RULES, PODBUS_SERVICE_ACCOUNT } from './cluster.js';

export const DEFAULT_CLUSTERS: readonly ClusterSpec[] = [
  { name: 'cluster-1' },
  { name: 'cluster-2' },
];

/** Defaults of the simulated lifecycle, in milliseconds. */
export const DEFAULT_LIFECYCLE = { scheduleMs: 100, startMs: 500, runMs: 2000, terminateMs: 300 };

export { EmulatorOptionsError };

function nonNegativeInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new EmulatorOptionsError(`${what} must be a non-negative integer, got ${String(value)}`);
  return value;
}

function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new EmulatorOptionsError(`${what} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The signing algorithms of a cluster, once its authentication configuration checks out. */
function checkedAuthentication(spec: ClusterSpec, i: number): string[] {
  const algs = spec.oidcSigningAlgs ?? ['RS256'];
  const errs = authenticationConfigErrors(spec.authenticationConfig ?? { jwt: [] }, [ISSUER], algs);
  if (errs.length > 0)
    throw new EmulatorOptionsError(
      `clusters[${i}].authenticationConfig is invalid: ${errs.join('; ')}`,
    );
  return [...algs];
}

/** Validates options and fills in defaults for every cluster. */
export function resolveClusterConfigs(options: KubernetesEmulatorOptions): ClusterConfig[] {
  const specs = options.clusters ?? DEFAULT_CLUSTERS;
  if (specs.length === 0) throw new EmulatorOptionsError('at least one cluster is required');
  const names = new Set<string>();
  const watch = options.watch ?? {};
  return specs.map((spec, i) => {
    const errs = isDns1123Label(spec.name ?? '');
    if (errs.length > 0)
      throw new EmulatorOptionsError(
        `clusters[${i}].name "${spec.name}" is not a DNS-1123 label: ${errs[0]}`,
      );
    if (names.has(spec.name))
      throw new EmulatorOptionsError(`duplicate cluster name "${spec.name}"`);
    names.add(spec.name);
    const namespace = spec.namespace ?? 'challenges';
    if (isDns1123Label(namespace).length > 0)
      throw new EmulatorOptionsError(
        `clusters[${i}].namespace "${namespace}" is not a DNS-1123 label`,
      );
    const lc = spec.lifecycle ?? {};
    const lifecycle = {
      scheduleMs: nonNegativeInt(
        lc.scheduleMs ?? DEFAULT_LIFECYCLE.scheduleMs,
        `clusters[${i}].lifecycle.scheduleMs`,
      ),
      startMs: nonNegativeInt(
        lc.startMs ?? DEFAULT_LIFECYCLE.startMs,
        `clusters[${i}].lifecycle.startMs`,
      ),
      runMs: nonNegativeInt(lc.runMs ?? DEFAULT_LIFECYCLE.runMs, `clusters[${i}].lifecycle.runMs`),
      terminateMs: nonNegativeInt(
        lc.terminateMs ?? DEFAULT_LIFECYCLE.terminateMs,
        `clusters[${i}].lifecycle.terminateMs`,
      ),
    };
    return {
      name: spec.name,
      namespace,
      nodeName: `${spec.name}-control-plane`,
      nodeCapacityPods: nonNegativeInt(
        spec.nodeCapacityPods ?? 110,
        `clusters[${i}].nodeCapacityPods`,
      ),
      lifecycle,
      bookmarkIntervalMs: nonNegativeInt(
        watch.bookmarkIntervalMs ?? 60_000,
        'watch.bookmarkIntervalMs',
      ),
      historySize: nonNegativeInt(watch.historySize ?? 10_000, 'watch.historySize'),
      defaultWatchTimeoutSeconds: nonNegativeInt(
        watch.defaultTimeoutSeconds ?? 1800,
        'watch.defaultTimeoutSeconds',
      ),
      oidcSigningAlgs: checkedAuthentication(spec, i),
      events: {
        record: spec.events?.record !== false,
        ttlSeconds: positiveInt(
          spec.events?.ttlSeconds ?? 3600,
          `clusters[${i}].events.ttlSeconds`,
        ),
      },
      tokenControllerDelayMs: nonNegativeInt(
        options.tokenControllerDelayMs ?? 100,
        'tokenControllerDelayMs',
      ),
      storage: {
        compressAfterMs: nonNegativeInt(
          options.storage?.compressAfterMs ?? 2000,
          'storage.compressAfterMs',
        ),
        compressAboveObjects: nonNegativeInt(
          options.storage?.compressAboveObjects ?? 5000,
          'storage.compressAboveObjects',
        ),
      },
    };
  });
}

/** Starts the emulator; every cluster listens before this resolves. */
export async function startKubernetesEmulator(
  options: KubernetesEmulatorOptions = {},
): Promise<KubernetesEmulator> {
  const configs = resolveClusterConfigs(options);
  const host = options.host ?? '127.0.0.1';
  const basePort = nonNegativeInt(options.basePort ?? 0, 'basePort');
  if (basePort > 0 && basePort + configs.length - 1 > 65535)
    throw new EmulatorOptionsError(
      `basePort ${basePort} leaves no room for ${configs.length} clusters`,
    );
  const seed = options.seed ?? 1;
  const root = new SeededRandom(seed);
  // Fault decisions have their own stream: which requests fail depends on the seed and on the
  // sequence of requests only, not on how many uids or names the clusters drew meanwhile.
  const faultRoot = new SeededRandom((seed ^ 0x5eedfa17) >>> 0);
  const tempDir = await mkdtemp(join(tmpdir(), 'podbus-k8s-emulator-'));
  const clusters: ClusterRuntime[] = [];
  const byName = new Map<string, ClusterRuntime>();
  const specs = options.clusters ?? DEFAULT_CLUSTERS;
  try {
    for (const [i, config] of configs.entries()) {
      const c = new ClusterRuntime({
        config,
        host,
        port: basePort === 0 ? 0 : basePort + i,
        plainHttp: options.plainHttp === true,
        random: root.fork(i),
        faultRandom: faultRoot.fork(i),
        tempDir,
        faults: specs[i]?.faults,
        tls: specs[i]?.tls,
        authenticationConfig: specs[i]?.authenticationConfig,
        resolveSibling: (name) => byName.get(name),
      });
      clusters.push(c);
      byName.set(config.name, c);
      await c.start();
    }
  } catch (e) {
    await Promise.allSettled(clusters.map((c) => c.stop()));
    await rm(tempDir, { recursive: true, force: true });
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return {
    clusters,
    cluster(name: string): EmulatedCluster {
      const c = byName.get(name);
      if (!c)
        throw new Error(
          `no emulated cluster named "${name}" (have: ${[...byName.keys()].join(', ')})`,
        );
      return c;
    },
    writeKubeconfig: (path: string) => writeKubeconfigFile(path, clusters),
    stop(): Promise<void> {
      stopped ??= (async () => {
        await Promise.allSettled(clusters.map((c) => c.stop()));
        await rm(tempDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
