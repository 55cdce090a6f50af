/**
 * The cluster a conformance test file runs against. By default a fresh Kubernetes API emulator
 * (short simulated lifecycle durations); with PODBUS_CONFORMANCE_KUBECONFIG set, the cluster of
 * that kubeconfig's current context (or PODBUS_CONFORMANCE_CONTEXT), e.g. a k3s container.
 *
 * Either way the test file gets its own namespace with a least-privilege service account
 * `podbus` (the Role the emulator seeds, PODBUS_ROLE_RULES) and a TokenRequest token for it, created
 * through the API by the admin identity, so the same steps exercise both targets.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Pod,
} from '@kubernetes/client-node';

import {
  PODBUS_ROLE_RULES,
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../../src/index.js';

const run = promisify(execFile);

export const REAL_KUBECONFIG = process.env.PODBUS_CONFORMANCE_KUBECONFIG;
export const ON_EMULATOR = REAL_KUBECONFIG === undefined || REAL_KUBECONFIG === '';

/** Simulated durations used on the emulator (short, so lifecycle tests finish fast). */
export const EMULATOR_LIFECYCLE = { scheduleMs: 20, startMs: 60, runMs: 250, terminateMs: 100 };

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  rbac: RbacAuthorizationV1Api;
  authz: AuthorizationV1Api;
  authn: AuthenticationV1Api;
}

export interface Target {
  /** 'emulator' or 'cluster'. */
  readonly kind: 'emulator' | 'cluster';
  readonly server: string;
  readonly caPem: string;
  /** This file's namespace (the service account may use pods here only). */
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly serviceAccountToken: string;
  /** Admin identity (from the kubeconfig). */
  readonly admin: Clients;
  /** The least-privilege service account. */
  readonly sa: Clients;
  /** Clients for any bearer token. */
  clientsFor(token: string): Clients;
  /** kubeconfig with contexts `admin` and `sa` (namespace preset) for kubectl. */
  readonly kubeconfigPath: string;
  /** Runs kubectl against the target; never throws, returns code/stdout/stderr. */
  kubectl(
    args: string[],
    context?: 'admin' | 'sa',
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The emulator cluster (undefined on a real cluster). */
  readonly emulated?: EmulatedCluster;
  close(): Promise<void>;
}

function clients(kc: KubeConfig): Clients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    authz: kc.makeApiClient(AuthorizationV1Api),
    authn: kc.makeApiClient(AuthenticationV1Api),
  };
}

function tokenConfig(server: string, caPem: string, token: string, user: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'target', server, caData: Buffer.from(caPem).toString('base64'), skipTLSVerify: false },
    // client-node caches credentials per user name: one name per token.
    { name: user, token },
  );
  return kc;
}

/** A short random suffix for unique names. */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function openTarget(label: string): Promise<Target> {
  let emulator: KubernetesEmulator | undefined;
  let emulated: EmulatedCluster | undefined;
  const adminKc = new KubeConfig();
  let server: string;
  let caPem: string;
  if (ON_EMULATOR) {
    emulator = await startKubernetesEmulator({
      clusters: [{ name: 'conformance', lifecycle: EMULATOR_LIFECYCLE }],
      tokenControllerDelayMs: 50,
    });
    emulated = emulator.cluster('conformance');
    server = emulated.server;
    caPem = emulated.caPem;
    adminKc.loadFromClusterAndUser(
      {
        name: 'conformance',
        server,
        caData: Buffer.from(caPem).toString('base64'),
        skipTLSVerify: false,
      },
      { name: 'admin', token: emulated.adminToken },
    );
  } else {
    adminKc.loadFromFile(REAL_KUBECONFIG as string);
    if (process.env.PODBUS_CONFORMANCE_CONTEXT)
      adminKc.setCurrentContext(process.env.PODBUS_CONFORMANCE_CONTEXT);
    const cluster = adminKc.getCurrentCluster();
    if (!cluster) throw new Error('PODBUS_CONFORMANCE_KUBECONFIG has no current cluster');
    server = cluster.server;
    caPem = cluster.caData
      ? Buffer.from(cluster.caData, 'base64').toString('utf8')
      : cluster.caFile
        ? (await import('node:fs')).readFileSync(cluster.caFile, 'utf8')
        : '';
  }
  const admin = clients(adminKc);
  const namespace = uniq(`conf-${label}`);
  const serviceAccount = 'podbus';
  await admin.core.createNamespace({ body: { metadata: { name: namespace } } });
  await admin.core.createNamespacedServiceAccount({
    namespace,
    body: { metadata: { name: serviceAccount } },
  });
  await admin.rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: serviceAccount },
      rules: PODBUS_ROLE_RULES.map((r) => ({ ...r })),
    },
  });
  await admin.rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: serviceAccount },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: serviceAccount },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
  });
  // The default ServiceAccount of a new namespace appears shortly after it (controller).
  await eventually(async () => {
    await admin.core.readNamespacedServiceAccount({ name: 'default', namespace });
  }, 30_000);
  const tr = await admin.core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const serviceAccountToken = tr.status?.token ?? '';
  const sa = clients(tokenConfig(server, caPem, serviceAccountToken, `sa-${namespace}`));

  const dir = await mkdtemp(join(tmpdir(), 'podbus-conformance-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const exported = JSON.parse(adminKc.exportConfig()) as {
    clusters: { name: string; cluster: Record<string, unknown> }[];
    users: { name: string; user: Record<string, unknown> }[];
    contexts: { name: string; context: Record<string, unknown> }[];
    'current-context': string;
  };
  const current = exported.contexts.find((c) => c.name === exported['current-context']);
  const clusterName = current?.context.cluster as string;
  const userName = current?.context.user as string;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: exported.clusters.filter((c) => c.name === clusterName),
    users: [
      ...exported.users.filter((u) => u.name === userName),
      { name: 'conformance-sa', user: { token: serviceAccountToken } },
    ],
    contexts: [
      { name: 'admin', context: { cluster: clusterName, user: userName, namespace } },
      { name: 'sa', context: { cluster: clusterName, user: 'conformance-sa', namespace } },
    ],
    'current-context': 'admin',
  };
  await writeFile(kubeconfigPath, JSON.stringify(kubeconfig), { mode: 0o600 });
  const cacheDir = join(dir, 'kubectl-cache');

  return {
    kind: ON_EMULATOR ? 'emulator' : 'cluster',
    server,
    caPem,
    namespace,
    serviceAccount,
    serviceAccountToken,
    admin,
    sa,
    clientsFor: (token: string) =>
      clients(tokenConfig(server, caPem, token, `u-${randomBytes(4).toString('hex')}`)),
    kubeconfigPath,
    emulated,
    async kubectl(args, context = 'admin') {
      try {
        const { stdout, stderr } = await run(
          'kubectl',
          ['--kubeconfig', kubeconfigPath, '--context', context, '--cache-dir', cacheDir, ...args],
          { timeout: 60_000, env: { ...process.env, KUBECONFIG: kubeconfigPath } },
        );
        return { code: 0, stdout, stderr };
      } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof err.code === 'number' ? err.code : 1,
          stdout: err.stdout ?? '',
          stderr: err.stderr ?? '',
        };
      }
    },
    async close() {
      try {
        if (!ON_EMULATOR)
          await admin.core.deleteNamespace({ name: namespace }).catch(() => undefined);
      } finally {
        await emulator?.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Retries `fn` until it resolves or `timeoutMs` passes (then rethrows the last error). */
export async function eventually<T>(
  fn: () => Promise<T>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Polls a pod until `predicate` holds; returns it. */
export async function waitForPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  predicate: (pod: V1Pod) => boolean,
  timeoutMs = ON_EMULATOR ? 10_000 : 120_000,
): Promise<V1Pod> {
  return eventually(
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      if (!predicate(pod))
        throw new Error(`pod ${name} not there yet: ${JSON.stringify(pod.status)}`);
      return pod;
    },
    timeoutMs,
    ON_EMULATOR ? 30 : 500,
  );
}

/** A minimal pod that runs (and exits) on both targets: busybox plus the emulator's conventions. */
export function busyboxPod(
  name: string,
  opts: {
    exitCode?: number;
    runSeconds?: number;
    labels?: Record<string, string>;
    restartPolicy?: string;
  } = {},
): V1Pod {
  const exitCode = opts.exitCode ?? 0;
  const runSeconds = opts.runSeconds ?? 0;
  const env = [{ name: 'PODBUS_EMULATOR_EXIT_CODE', value: String(exitCode) }];
  if (runSeconds > 0)
    env.push({ name: 'PODBUS_EMULATOR_RUN_MS', value: String(runSeconds * 1000) });
  return {
    metadata: { name, labels: opts.labels },
    spec: {
      restartPolicy: opts.restartPolicy ?? 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'main',
          image: 'busybox:1.36',
          command: [
            'sh',
            '-c',
            runSeconds > 0 ? `sleep ${runSeconds}; exit ${exitCode}` : `exit ${exitCode}`,
          ],
          env,
        },
      ],
    },
  };
}

/** The raw ApiException body parsed as a Status (client-node keeps the raw text). */
export function statusOf(e: unknown): Record<string, unknown> {
  const body = (e as { body?: unknown }).body;
  if (typeof body !== 'string') throw new Error(`no Status body in ${String(e)}`);
  return JSON.parse(body) as Record<string, unknown>;
}

/** The HTTP code of an ApiException. */
export function codeOf(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

export async function expectApiError(p: Promise<unknown>): Promise<{
  code: number;
  status: Record<string, unknown> | undefined;
  headers: Record<string, string>;
  body: unknown;
}> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: unknown; headers?: Record<string, string> };
    if (typeof err.code !== 'number') throw e;
    let status: Record<string, unknown> | undefined;
    if (typeof err.body === 'string') {
      try {
        status = JSON.parse(err.body) as Record<string, unknown>;
      } catch {
        status = undefined;
      }
    }
    return { code: err.code, status, headers: err.headers ?? {}, body: err.body };
  }
  throw new Error('expected the call to fail');
}
