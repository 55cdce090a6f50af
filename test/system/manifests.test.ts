// deploy/ and docker-compose.yml: every YAML parses, every Kubernetes object validates
// (kubernetes-models for built-in kinds, KEDA's CRD schemas for KEDA's), every kustomization
// renders with `kubectl kustomize`, the security properties hold, and the pieces agree with each
// other (config, Secrets, volumes, the image's user, the target clusters' namespace and quota).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';

import { loadConfig } from '../../src/config/load-config.js';
import { envVarFor } from '../../src/config/schema-tree.js';
import { compareQuantities, mustParseQuantity } from '../../src/policy/quantity.js';

import {
  deployDir,
  findObject,
  isKubeObject,
  isKustomization,
  kustomize,
  kustomizeWith,
  readYamlDocuments,
  repoRoot,
  validateKubeObject,
  validateWithSchemaFile,
  yamlFiles,
  type KubeObject,
} from './deploy-manifests.js';
import { findComposeCli } from './image-fixture.js';

// ---------------------------------------------------------------------------------------------
// Shapes used below (only the fields the assertions read).
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  emptyDir?: object;
  configMap?: { name: string };
  projected?: { sources: { secret?: { name: string; items?: { key: string; path: string }[] } }[] };
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    seccompProfile?: { type: string };
  };
  containers: Container[];
  volumes?: Volume[];
}
type Deployment = KubeObject & {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};
interface PodbusConfig {
  serviceBus: { queueName: string; maxConcurrentCalls: number; connectionString?: string };
  clustersFile: string;
  policy: { allowedImages: string[] };
  selection: { strategy: string };
  worker: { shutdownGraceMs: number };
  http: { port: number };
  log: { level: string };
}
interface ClusterEntry {
  name: string;
  server: string;
  tokenFile: string;
  caFile: string;
  namespace: string;
  maxActivePods: number;
}

// ---------------------------------------------------------------------------------------------
const workerDir = path.join(deployDir, 'worker');
const targetDir = path.join(deployDir, 'target-cluster');
const OVERLAYS = ['keda', 'keda-connection-string', 'hpa', 'workload-identity'] as const;

/** The environment variable podbus reads serviceBus.connectionString from. */
const CONNECTION_STRING_ENV = envVarFor('serviceBus.connectionString');
const EMULATOR_CONNECTION_STRING =
  'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';

const allDocuments = yamlFiles().flatMap((file) => readYamlDocuments(file));
/** Files a kustomization applies as patches: partial objects, validated once rendered. */
const patchFiles = new Set(
  allDocuments
    .filter((d) => isKustomization(d.value))
    .flatMap((d) =>
      ((d.value as { patches?: { path?: string }[] }).patches ?? []).flatMap((patch) =>
        patch.path === undefined ? [] : [path.join(path.dirname(d.file), patch.path)],
      ),
    ),
);
const sourceObjects = allDocuments.filter(
  (d) => isKubeObject(d.value) && !isKustomization(d.value) && !patchFiles.has(d.file),
);

const base = kustomize(path.join(workerDir, 'base'));
const overlays = Object.fromEntries(
  OVERLAYS.map((name) => [name, kustomize(path.join(workerDir, 'overlays', name))]),
) as Record<(typeof OVERLAYS)[number], KubeObject[]>;
const target = kustomize(targetDir);
const withTokenRotation = kustomizeWith(
  [path.join(workerDir, 'base')],
  [path.join(workerDir, 'components/token-rotation')],
  { namespace: 'podbus' },
);
const targetWithSelfRenewal = kustomizeWith(
  [targetDir],
  [path.join(targetDir, 'components/token-self-renewal')],
  { namespace: 'challenges' },
);
const monitoring = kustomize(path.join(deployDir, 'monitoring'));
const targetWithEgress = kustomizeWith(
  [targetDir],
  [
    path.join(targetDir, 'components/allow-dns-egress'),
    path.join(targetDir, 'components/allow-internet-egress'),
  ],
  { namespace: 'challenges' },
);

const deployment = findObject<Deployment>(base, 'Deployment', 'podbus');
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0] as Container;
const configMap = findObject(base, 'ConfigMap', 'podbus-config') as KubeObject & {
  data: Record<string, string>;
};
const config = parse(configMap.data['podbus.yaml'] ?? '') as PodbusConfig;
const clusters = parse(configMap.data['clusters.yaml'] ?? '') as ClusterEntry[];
const secretTemplates = yamlFiles(path.join(workerDir, 'secrets'))
  .flatMap((file) => readYamlDocuments(file))
  .map((d) => d.value as KubeObject & { stringData?: Record<string, string>; data?: unknown });

/** The USER line of the Dockerfile: the uid:gid the image runs as. */
function imageUser(): { uid: number; gid: number } {
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const users = [...dockerfile.matchAll(/^USER\s+(\d+):(\d+)\s*$/gm)];
  const last = users.at(-1);
  if (last === undefined) throw new Error('the Dockerfile has no numeric USER uid:gid line');
  return { uid: Number(last[1]), gid: Number(last[2]) };
}

/**
 * Loads a config file and its clusters file with podbus's own loader (src/config), as the
 * worker would at startup. The token and CA files live at absolute paths that only exist in a
 * container (/var/run/secrets/...), so the clusters file is copied with those paths moved under
 * a temporary directory holding stand-in files.
 */
function loadWithPodbus(configText: string, clustersText: string): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'podbus-config-check-'));
  try {
    const entries = (parse(clustersText) as ClusterEntry[]).map((entry) => {
      const moved = { ...entry };
      for (const key of ['tokenFile', 'caFile'] as const) {
        const file = path.join(dir, entry[key]);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, key === 'caFile' ? '-----BEGIN CERTIFICATE-----\nstand-in\n' : 'token');
        moved[key] = file;
      }
      return moved;
    });
    writeFileSync(path.join(dir, 'podbus.yaml'), configText);
    writeFileSync(path.join(dir, 'clusters.yaml'), stringify(entries));
    return loadConfig({
      file: path.join(dir, 'podbus.yaml'),
      env: { [CONNECTION_STRING_ENV]: EMULATOR_CONNECTION_STRING },
      overrides: { clustersFile: path.join(dir, 'clusters.yaml') },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
describe('deploy/: every file parses and every object validates', () => {
  it('finds the manifests', () => {
    expect(yamlFiles().length).toBeGreaterThan(20);
    expect(sourceObjects.length).toBeGreaterThan(15);
  });

  it.each(
    sourceObjects.map((d): [string, KubeObject] => [`${d.file}#${d.index}`, d.value as KubeObject]),
  )('%s validates', (_name, object) => {
    expect(['kubernetes-models', 'crd-schema']).toContain(validateKubeObject(object));
  });

  it.each([
    ['worker/base', () => base],
    ...OVERLAYS.map((o) => [`worker/overlays/${o}`, () => overlays[o]] as const),
    ['target-cluster', () => target],
    ['target-cluster + egress components', () => targetWithEgress],
    ['worker/base + token-rotation component', () => withTokenRotation],
    ['target-cluster + token-self-renewal component', () => targetWithSelfRenewal],
    ['monitoring', () => monitoring],
  ] as const)('kubectl kustomize %s renders objects that validate', (_name, rendered) => {
    const objects = rendered();
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) validateKubeObject(object);
  });

  it('the validators catch mistakes (an unknown ScaledObject field, a non-numeric CPU)', () => {
    const scaledObject = structuredClone(findObject(overlays.keda, 'ScaledObject'));
    (scaledObject.spec as Record<string, unknown>).minReplicas = 1; // HPA's name, not KEDA's
    expect(() => validateKubeObject(scaledObject)).toThrow(/must NOT have additional properties/);
    const broken = structuredClone(deployment);
    const c = broken.spec.template.spec.containers[0] as Container;
    c.resources = { requests: { cpu: 'lots' } };
    expect(() => validateKubeObject(broken)).toThrow(/quantity/);
  });

  it('puts every namespaced object of the worker and its monitoring in podbus, of the target cluster in challenges', () => {
    for (const objects of [base, withTokenRotation, ...Object.values(overlays), monitoring]) {
      for (const o of objects.filter((o) => o.kind !== 'Namespace')) {
        expect(`${o.kind}/${o.metadata.name}:${o.metadata.namespace}`).toBe(
          `${o.kind}/${o.metadata.name}:podbus`,
        );
      }
    }
    for (const o of targetWithEgress.filter((o) => o.kind !== 'Namespace')) {
      expect(`${o.kind}/${o.metadata.name}:${o.metadata.namespace}`).toBe(
        `${o.kind}/${o.metadata.name}:challenges`,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('deploy/worker: the Deployment', () => {
  it('runs as the image user, non-root, with a read-only root filesystem', () => {
    const { uid, gid } = imageUser();
    expect(uid).toBeGreaterThan(0);
    expect(podSpec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: gid,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: uid,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext?.capabilities?.add).toBeUndefined();
  });

  it('has a writable /tmp (an emptyDir) and nothing else writable', () => {
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(tmp).toBeDefined();
    expect(podSpec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    for (const mount of container.volumeMounts ?? []) {
      if (mount.mountPath !== '/tmp')
        expect(`${mount.mountPath}:${String(mount.readOnly)}`).toBe(`${mount.mountPath}:true`);
    }
  });

  it('mounts no service account token (podbus uses the target clusters’ tokens)', () => {
    expect(podSpec.automountServiceAccountToken).toBe(false);
    expect(podSpec.serviceAccountName).toBe('podbus');
    const sa = findObject(base, 'ServiceAccount', 'podbus');
    expect(sa.automountServiceAccountToken).toBe(false);
  });

  it('gives the worker more time to stop than its own shutdown grace', () => {
    const graceSeconds = podSpec.terminationGracePeriodSeconds ?? 30;
    expect(config.worker.shutdownGraceMs).toBe(30_000);
    expect(graceSeconds).toBeGreaterThanOrEqual(config.worker.shutdownGraceMs / 1000 + 10);
    expect(graceSeconds).toBe(45);
  });

  it('probes /healthz and /readyz and exposes metrics on the configured http.port', () => {
    const metrics = container.ports?.find((p) => p.name === 'metrics');
    expect(metrics?.containerPort).toBe(config.http.port);
    expect(metrics?.containerPort).toBe(9090);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    const service = findObject(base, 'Service', 'podbus-metrics') as KubeObject & {
      spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
    };
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports[0]?.targetPort).toBe('metrics');
  });

  it('sets resource requests and a memory limit', () => {
    expect(container.resources?.requests).toEqual({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it('leaves replicas to the autoscaler', () => {
    expect(deployment.spec.replicas).toBeUndefined();
  });

  it('runs `podbus run` with the mounted config and the connection string from a Secret', () => {
    expect(container.args).toEqual(['run', '--config', '/etc/podbus/podbus.yaml']);
    const mount = container.volumeMounts?.find((m) => m.mountPath === '/etc/podbus');
    expect(podSpec.volumes?.find((v) => v.name === mount?.name)?.configMap?.name).toBe(
      'podbus-config',
    );
    const env = container.env?.find((e) => e.name === CONNECTION_STRING_ENV);
    expect(env?.valueFrom?.secretKeyRef).toEqual({
      name: 'podbus-servicebus',
      key: 'connection-string',
    });
  });

  it('mounts a token and CA for every configured cluster, where the config expects them', () => {
    const mount = container.volumeMounts?.find((m) => m.name === 'cluster-credentials');
    const volume = podSpec.volumes?.find((v) => v.name === 'cluster-credentials');
    const mounted = new Map<string, { secret: string; key: string }>();
    for (const source of volume?.projected?.sources ?? []) {
      for (const item of source.secret?.items ?? []) {
        mounted.set(path.posix.join(mount?.mountPath ?? '?', item.path), {
          secret: source.secret?.name ?? '?',
          key: item.key,
        });
      }
    }
    expect(clusters.length).toBeGreaterThan(0);
    for (const cluster of clusters) {
      expect(mounted.get(cluster.tokenFile)).toEqual({
        secret: `podbus-cluster-${cluster.name}`,
        key: 'token',
      });
      expect(mounted.get(cluster.caFile)).toEqual({
        secret: `podbus-cluster-${cluster.name}`,
        key: 'ca.crt',
      });
    }
    expect(mounted.size).toBe(clusters.length * 2);
  });

  it('has a PodDisruptionBudget that matches the worker and never blocks a drain', () => {
    const pdb = findObject(base, 'PodDisruptionBudget', 'podbus') as KubeObject & {
      spec: { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: object } };
    };
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
  });
});

describe('deploy/worker: configuration and Secrets', () => {
  it('keeps secrets out of the ConfigMap', () => {
    expect(config.serviceBus.connectionString).toBeUndefined();
    const text = JSON.stringify(configMap.data);
    expect(text).not.toMatch(/SharedAccessKey=|\btoken:|\bca:|BEGIN CERTIFICATE/);
    for (const cluster of clusters) {
      expect(Object.keys(cluster).sort()).toEqual(
        ['caFile', 'maxActivePods', 'name', 'namespace', 'server', 'tokenFile', 'weight'].sort(),
      );
    }
  });

  it("is a configuration podbus's own loader accepts, with the values written here", () => {
    const loaded = loadWithPodbus(
      configMap.data['podbus.yaml'] ?? '',
      configMap.data['clusters.yaml'] ?? '',
    );
    expect(loaded.serviceBus.queueName).toBe(config.serviceBus.queueName);
    expect(loaded.worker.shutdownGraceMs).toBe(config.worker.shutdownGraceMs);
    expect(loaded.http.port).toBe(config.http.port);
    expect(loaded.clusters.map((c) => c.name)).toEqual(clusters.map((c) => c.name));
  });

  it('configures what podbus requires (queue, allowlist, clusters file, strategy)', () => {
    expect(config.serviceBus.queueName).toBe('challenges');
    expect(config.policy.allowedImages.length).toBeGreaterThan(0);
    expect(config.clustersFile).toBe('/etc/podbus/clusters.yaml');
    expect(['round-robin', 'weighted', 'least-loaded', 'hash']).toContain(
      config.selection.strategy,
    );
  });

  it('ships Secret templates with placeholders only, never real values', () => {
    expect(secretTemplates.length).toBeGreaterThanOrEqual(4);
    for (const secret of secretTemplates) {
      expect(secret.kind).toBe('Secret');
      expect(secret.data).toBeUndefined();
      for (const [key, value] of Object.entries(secret.stringData ?? {})) {
        expect(`${secret.metadata.name}.${key}: ${value.slice(0, 12)}`).toBe(
          `${secret.metadata.name}.${key}: REPLACE_ME: `,
        );
        expect(value).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // a JWT
        expect(value).not.toMatch(/SharedAccessKey=[A-Za-z0-9+/]{20,}/);
        expect(value).not.toMatch(/-----BEGIN/);
      }
    }
  });

  it('has a template for every Secret the worker and KEDA reference', () => {
    const names = new Set(secretTemplates.map((s) => s.metadata.name));
    const referenced = [
      ...(container.env ?? []).flatMap((e) => e.valueFrom?.secretKeyRef?.name ?? []),
      ...(podSpec.volumes ?? []).flatMap(
        (v) => v.projected?.sources.flatMap((s) => s.secret?.name ?? []) ?? [],
      ),
      'podbus-keda-servicebus',
    ];
    for (const name of referenced) expect(names).toContain(name);
  });

  it('never applies a Secret from a kustomization (a re-apply must not overwrite real ones)', () => {
    for (const objects of [base, ...Object.values(overlays), monitoring]) {
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    }
  });
});

describe('deploy/worker: scaling overlays', () => {
  type ScaledObject = KubeObject & {
    spec: {
      scaleTargetRef: { name: string };
      minReplicaCount: number;
      maxReplicaCount: number;
      triggers: {
        type: string;
        metadata: Record<string, string>;
        authenticationRef: { name: string };
      }[];
    };
  };

  it('keda: scales the Deployment on the queue, authenticated with workload identity', () => {
    const so = findObject<ScaledObject>(overlays.keda, 'ScaledObject', 'podbus');
    expect(so.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(so.spec.minReplicaCount).toBe(1);
    expect(so.spec.maxReplicaCount).toBeGreaterThan(1);
    const trigger = so.spec.triggers[0];
    expect(trigger?.type).toBe('azure-servicebus');
    expect(trigger?.metadata.queueName).toBe(config.serviceBus.queueName);
    expect(trigger?.metadata.messageCount).toMatch(/^[1-9]\d*$/);
    expect(trigger?.metadata.namespace).toEqual(expect.any(String));
    const auth = findObject(
      overlays.keda,
      'TriggerAuthentication',
      trigger?.authenticationRef.name,
    );
    expect(auth.spec).toEqual({ podIdentity: { provider: 'azure-workload' } });
  });

  it('keda-connection-string: the same trigger, authenticated with a Manage connection string', () => {
    const so = findObject<ScaledObject>(
      overlays['keda-connection-string'],
      'ScaledObject',
      'podbus',
    );
    const trigger = so.spec.triggers[0];
    expect(trigger?.metadata.namespace).toBeUndefined();
    const auth = findObject(
      overlays['keda-connection-string'],
      'TriggerAuthentication',
      trigger?.authenticationRef.name,
    );
    expect(auth.spec).toEqual({
      secretTargetRef: [
        { parameter: 'connection', name: 'podbus-keda-servicebus', key: 'connection-string' },
      ],
    });
  });

  it('hpa: a CPU HorizontalPodAutoscaler on the Deployment', () => {
    const hpa = findObject(overlays.hpa, 'HorizontalPodAutoscaler', 'podbus') as KubeObject & {
      spec: {
        scaleTargetRef: { kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
      };
    };
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'podbus' });
    expect(hpa.spec.minReplicas).toBe(1);
  });

  it('never has two autoscalers at once (and the base has none)', () => {
    const autoscalers = (objects: KubeObject[]): string[] =>
      objects
        .filter((o) => ['ScaledObject', 'HorizontalPodAutoscaler'].includes(o.kind))
        .map((o) => o.kind);
    expect(autoscalers(base)).toEqual([]);
    expect(autoscalers(overlays.keda)).toEqual(['ScaledObject']);
    expect(autoscalers(overlays['keda-connection-string'])).toEqual(['ScaledObject']);
    expect(autoscalers(overlays.hpa)).toEqual(['HorizontalPodAutoscaler']);
    expect(autoscalers(overlays['workload-identity'])).toEqual(['ScaledObject']);
  });
});

// ---------------------------------------------------------------------------------------------
describe('deploy/worker/overlays/workload-identity: no secret anywhere', () => {
  const objects = overlays['workload-identity'];
  const wiDeployment = findObject<Deployment>(objects, 'Deployment', 'podbus');
  const wiPod = wiDeployment.spec.template.spec;
  const wiContainer = wiPod.containers[0] as Container;
  const wiConfigMap = findObject(objects, 'ConfigMap', 'podbus-config') as KubeObject & {
    data: Record<string, string>;
  };

  it('annotates the ServiceAccount with the client ID and labels the pod for the webhook', () => {
    const sa = findObject(objects, 'ServiceAccount', 'podbus');
    const annotations = sa.metadata.annotations as Record<string, string> | undefined;
    expect(annotations?.['azure.workload.identity/client-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(wiDeployment.spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(wiPod.serviceAccountName).toBe('podbus');
    // The webhook projects its own token volume; the API token stays unmounted.
    expect(wiPod.automountServiceAccountToken).toBe(false);
  });

  it('mounts and references no Secret: Service Bus by namespace and credential', () => {
    expect(JSON.stringify(objects)).not.toMatch(/secretKeyRef|secretTargetRef|"secret":/);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(wiPod.volumes?.map((v) => v.name)).toEqual(['tmp', 'config']);
    const env = Object.fromEntries((wiContainer.env ?? []).map((e) => [e.name, e.value]));
    expect(env).not.toHaveProperty(CONNECTION_STRING_ENV);
    expect(env[envVarFor('serviceBus.credential')]).toBe('workload-identity');
    expect(env[envVarFor('serviceBus.fullyQualifiedNamespace')]).toMatch(
      /\.servicebus\.windows\.net$/,
    );
  });

  it("is a configuration podbus's own loader accepts: Entra ID for Service Bus and every cluster", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'podbus-wi-config-'));
    try {
      writeFileSync(path.join(dir, 'podbus.yaml'), wiConfigMap.data['podbus.yaml'] ?? '');
      writeFileSync(path.join(dir, 'clusters.yaml'), wiConfigMap.data['clusters.yaml'] ?? '');
      const env = Object.fromEntries(
        (wiContainer.env ?? [])
          .filter((e) => e.value !== undefined)
          .map((e) => [e.name, e.value as string]),
      );
      const loaded = loadConfig({
        file: path.join(dir, 'podbus.yaml'),
        env,
        overrides: { clustersFile: path.join(dir, 'clusters.yaml') },
      });
      expect(loaded.serviceBus).toMatchObject({ credential: 'workload-identity' });
      expect(loaded.clusters.length).toBeGreaterThan(0);
      for (const entry of loaded.clusters) {
        expect(entry.auth).toMatchObject({ type: 'azure', credential: 'workload-identity' });
        expect(entry.tokenFile).toBeUndefined();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scales with KEDA through azure-workload pod identity', () => {
    const so = findObject(objects, 'ScaledObject', 'podbus') as KubeObject & {
      spec: {
        triggers: { metadata: Record<string, string>; authenticationRef: { name: string } }[];
      };
    };
    const trigger = so.spec.triggers[0];
    expect(trigger?.metadata.namespace).toEqual(expect.any(String));
    const auth = findObject(objects, 'TriggerAuthentication', trigger?.authenticationRef.name);
    expect(auth.spec).toEqual({ podIdentity: { provider: 'azure-workload' } });
  });
});

// ---------------------------------------------------------------------------------------------
describe('token rotation: a CronJob in the worker cluster, self-renewal on the target clusters', () => {
  type CronJob = KubeObject & {
    spec: { schedule: string; jobTemplate: { spec: { template: { spec: PodSpec } } } };
  };
  const cronJob = findObject<CronJob>(withTokenRotation, 'CronJob', 'podbus-token-rotation');
  const jobPod = cronJob.spec.jobTemplate.spec.template.spec;
  const job = jobPod.containers[0] as Container;

  it('runs podbus clusters rotate-token --all into the Secrets the worker mounts', () => {
    expect(job.image).toBe(container.image);
    expect(job.args).toEqual([
      'clusters',
      'rotate-token',
      '--all',
      '--config',
      '/etc/podbus/podbus.yaml',
      '--token-ttl',
      '24h',
      '--secret',
      'podbus/podbus-cluster-{name}',
    ]);
    const volume = (pod: PodSpec) => pod.volumes?.find((v) => v.name === 'cluster-credentials');
    expect(volume(jobPod)).toEqual(volume(podSpec));
    expect(job.securityContext).toEqual(container.securityContext);
  });

  it('may only get and update the cluster token Secrets, by name', () => {
    const role = findObject(withTokenRotation, 'Role', 'podbus-token-rotator') as KubeObject & {
      rules: {
        apiGroups: string[];
        resources: string[];
        resourceNames: string[];
        verbs: string[];
      }[];
    };
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: clusters.map((c) => `podbus-cluster-${c.name}`),
        verbs: ['get', 'update'],
      },
    ]);
    expect(jobPod.serviceAccountName).toBe('podbus-token-rotator');
    const binding = findObject(withTokenRotation, 'RoleBinding', 'podbus-token-rotator');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'podbus-token-rotator', namespace: 'podbus' },
    ]);
  });

  it('lets the podbus service account renew its own token on a target cluster, nothing more', () => {
    const role = findObject(targetWithSelfRenewal, 'Role', 'podbus-token-self-renewal');
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['serviceaccounts/token'],
        resourceNames: ['podbus'],
        verbs: ['create'],
      },
    ]);
    const binding = findObject(targetWithSelfRenewal, 'RoleBinding', 'podbus-token-self-renewal');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'podbus', namespace: 'challenges' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('deploy/target-cluster: least privilege for podbus, bounds for challenges', () => {
  it('grants exactly what the worker needs (pods, their logs, its Leases), in the namespace only', () => {
    const role = findObject(target, 'Role', 'podbus') as KubeObject & {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const granted = role.rules.map((rule) => ({
      apiGroups: rule.apiGroups,
      resources: rule.resources,
      verbs: [...rule.verbs].sort(),
    }));
    expect(granted).toEqual([
      {
        apiGroups: [''],
        resources: ['pods'],
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'],
      },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['create', 'get', 'update'],
      },
    ]);
    const everything = [
      ...target,
      ...targetWithEgress,
      ...sourceObjects.map((d) => d.value as KubeObject),
    ];
    expect(
      everything.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'),
    ).toEqual([]);
  });

  it('binds the Role to the podbus service account', () => {
    const binding = findObject(target, 'RoleBinding', 'podbus') as KubeObject & {
      roleRef: object;
      subjects: object[];
    };
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'podbus',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'podbus', namespace: 'challenges' },
    ]);
    expect(findObject(target, 'ServiceAccount', 'podbus').automountServiceAccountToken).toBe(false);
  });

  it('asks for a long-lived token Secret, without any value of its own', () => {
    const secret = findObject(target, 'Secret', 'podbus-token') as KubeObject & {
      type: string;
      data?: unknown;
      stringData?: unknown;
    };
    expect(secret.type).toBe('kubernetes.io/service-account-token');
    expect(secret.metadata.annotations).toEqual({ 'kubernetes.io/service-account.name': 'podbus' });
    expect(secret.data).toBeUndefined();
    expect(secret.stringData).toBeUndefined();
    // The ServiceAccount must exist before its token Secret: kustomize orders it first.
    const order = target.map((o) => o.kind);
    expect(order.indexOf('ServiceAccount')).toBeLessThan(order.indexOf('Secret'));
  });

  it('bounds challenges with a ResourceQuota (at least every cluster’s maxActivePods) and a LimitRange', () => {
    const quota = findObject(target, 'ResourceQuota') as KubeObject & {
      spec: { hard: Record<string, string> };
    };
    expect(Object.keys(quota.spec.hard).sort()).toEqual(
      ['limits.cpu', 'limits.memory', 'pods', 'requests.cpu', 'requests.memory'].sort(),
    );
    for (const cluster of clusters) {
      expect(cluster.namespace).toBe('challenges');
      expect(Number(quota.spec.hard.pods)).toBeGreaterThanOrEqual(cluster.maxActivePods);
    }
    const limits = findObject(target, 'LimitRange') as KubeObject & {
      spec: { limits: { type: string; default: object; defaultRequest: object; max: object }[] };
    };
    expect(limits.spec.limits[0]).toMatchObject({
      type: 'Container',
      default: expect.any(Object),
      defaultRequest: expect.any(Object),
      max: expect.any(Object),
    });
  });

  it("lets through every pod podbus's policy accepts (LimitRange max >= policy.resources.max)", () => {
    const loaded = loadWithPodbus(
      configMap.data['podbus.yaml'] ?? '',
      configMap.data['clusters.yaml'] ?? '',
    );
    const limits = findObject(target, 'LimitRange') as KubeObject & {
      spec: { limits: { max: Record<string, string>; default: Record<string, string> }[] };
    };
    const range = limits.spec.limits[0];
    for (const resource of ['cpu', 'memory'] as const) {
      const policyMax = loaded.policy.resources.max[resource];
      const rangeMax = range?.max[resource] ?? '0';
      expect(`${resource}: ${rangeMax} >= ${policyMax}`).toBe(
        compareQuantities(mustParseQuantity(rangeMax), mustParseQuantity(policyMax)) >= 0
          ? `${resource}: ${rangeMax} >= ${policyMax}`
          : `${resource}: LimitRange max ${rangeMax} is below podbus's policy.resources.max ${policyMax}`,
      );
    }
  });

  it('denies all ingress and egress by default; the optional components open DNS and the internet only', () => {
    const deny = findObject(target, 'NetworkPolicy', 'default-deny-all') as KubeObject & {
      spec: object;
    };
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(target.filter((o) => o.kind === 'NetworkPolicy')).toHaveLength(1);
    const internet = findObject(
      targetWithEgress,
      'NetworkPolicy',
      'allow-internet-egress',
    ) as KubeObject & {
      spec: { egress: { to: { ipBlock: { except: string[] } }[] }[] };
    };
    expect(internet.spec.egress[0]?.to[0]?.ipBlock.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']),
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe('docker-compose.yml', () => {
  const composeFile = path.join(repoRoot, 'docker-compose.yml');
  const compose = readYamlDocuments(composeFile, { merge: true })[0]?.value as {
    services: Record<
      string,
      {
        image?: string;
        build?: unknown;
        profiles?: string[];
        read_only?: boolean;
        cap_drop?: string[];
        command?: string[];
        environment?: Record<string, string>;
        volumes?: string[];
      }
    >;
  };
  const podbusConfig = parse(
    readFileSync(path.join(deployDir, 'compose/podbus.yaml'), 'utf8'),
  ) as PodbusConfig;
  const serviceBusConfig = JSON.parse(
    readFileSync(path.join(deployDir, 'compose/servicebus-config.json'), 'utf8'),
  ) as { UserConfig: { Namespaces: { Queues: { Name: string }[] }[] } };

  it('matches the Compose Specification schema', () => {
    expect(validateWithSchemaFile('compose-spec.json', compose)).toEqual([]);
  });

  it('declares the queue podbus reads in the official emulator’s config (valid against its schema)', () => {
    expect(
      validateWithSchemaFile('servicebus-emulator-config.schema.json', serviceBusConfig),
    ).toEqual([]);
    const queues = serviceBusConfig.UserConfig.Namespaces[0]?.Queues.map((q) => q.Name);
    expect(queues).toEqual([podbusConfig.serviceBus.queueName]);
  });

  it('runs the official emulator, SQL Server, k3s and the worker by default; podbus’s emulators offline', () => {
    const byProfile = (profile: string | undefined): string[] =>
      Object.entries(compose.services)
        .filter(([, s]) => s.profiles?.[0] === profile)
        .map(([name]) => name)
        .sort();
    expect(byProfile(undefined)).toEqual(['k3s', 'k3s-onboard', 'mssql', 'servicebus', 'worker']);
    expect(byProfile('offline')).toEqual([
      'clusters-add-1',
      'clusters-add-2',
      'kubernetes-emulator',
      'servicebus-emulator',
      'worker-offline',
    ]);
    expect(compose.services.servicebus?.image).toMatch(
      /^mcr\.microsoft\.com\/azure-messaging\/servicebus-emulator:/,
    );
    expect(compose.services.mssql?.image).toMatch(/^mcr\.microsoft\.com\/mssql\/server:/);
    expect(compose.services.k3s?.image).toMatch(/^rancher\/k3s:/);
  });

  it('builds every podbus service from its Dockerfile and runs it hardened', () => {
    const builtBy = (image: string) =>
      Object.entries(compose.services)
        .filter(([, s]) => s.image === image)
        .map(([name, service]) => ({ name, service }));
    const podbus = builtBy('${PODBUS_IMAGE:-podbus:local}');
    expect(podbus.map((s) => s.name).sort()).toEqual(
      ['clusters-add-1', 'clusters-add-2', 'worker', 'worker-offline'].sort(),
    );
    const emulators = [
      ...builtBy('${PODBUS_SERVICEBUS_EMULATOR_IMAGE:-podbus-servicebus-emulator:local}'),
      ...builtBy('${PODBUS_KUBERNETES_EMULATOR_IMAGE:-podbus-kubernetes-emulator:local}'),
    ];
    expect(emulators.map((s) => s.name).sort()).toEqual([
      'kubernetes-emulator',
      'servicebus-emulator',
    ]);
    for (const { service } of podbus) expect(service.build).toMatchObject({ context: '.' });
    for (const { name, service } of emulators) {
      expect(service.build).toMatchObject({
        context: '.',
        dockerfile: 'packages/Dockerfile',
        args: { EMULATOR: name },
      });
    }
    for (const { service } of [...podbus, ...emulators]) {
      expect(service.read_only).toBe(true);
      expect(service.cap_drop).toEqual(['ALL']);
    }
    for (const worker of [compose.services.worker, compose.services['worker-offline']]) {
      expect(worker?.command).toEqual(['run', '--config', '/etc/podbus/podbus.yaml']);
      expect(worker?.environment?.[CONNECTION_STRING_ENV]).toMatch(/UseDevelopmentEmulator=true;$/);
    }
  });

  it("uses a configuration podbus's own loader accepts", () => {
    const loaded = loadWithPodbus(
      readFileSync(path.join(deployDir, 'compose/podbus.yaml'), 'utf8'),
      readFileSync(path.join(deployDir, 'compose/clusters-k3s.yaml'), 'utf8'),
    );
    expect(loaded.clusters.map((c) => c.server)).toEqual(['https://k3s:6443']);
  });

  it('mounts files that exist, and clusters files that match podbus’s config', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (source.startsWith('./')) expect(existsSync(path.join(repoRoot, source))).toBe(true);
      }
    }
    for (const file of ['clusters-k3s.yaml']) {
      const entries = parse(
        readFileSync(path.join(deployDir, 'compose', file), 'utf8'),
      ) as ClusterEntry[];
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        expect(entry.server).toMatch(/^https:\/\//);
        expect(entry.namespace).toBe('challenges');
      }
    }
    expect(podbusConfig.clustersFile).toBe('/etc/podbus/clusters.yaml');
    expect(Object.keys(podbusConfig).sort()).toEqual(Object.keys(config).sort());
  });

  const composeCli = findComposeCli();
  // The CLI check needs a compose CLI: scripts/ensure-docker.sh installs Debian's docker-compose.
  // Without one this fails (a skipped check would read as a passing one).
  it(`validates with \`${composeCli?.join(' ') ?? 'docker compose'} config\` (both profiles)`, () => {
    if (composeCli === undefined) {
      throw new Error(
        'no compose CLI (docker compose or docker-compose): run scripts/ensure-docker.sh',
      );
    }
    for (const profileArgs of [[], ['--profile', 'offline']]) {
      const [command, ...prefix] = composeCli;
      execFileSync(command!, [...prefix, '-f', composeFile, ...profileArgs, 'config', '-q'], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    }
  });
});
