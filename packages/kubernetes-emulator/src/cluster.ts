/**
 * Assembles one emulated cluster: certificates, state, controllers, lifecycle, RBAC,
 * authentication, the REST API and its listener; seeds the objects a fresh cluster has, plus the
 * least-privilege `podbus` service account in the configured namespace.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { adminHandler } from './admin.js';
import { Admission } from './admission.js';
import { ClusterApi } from './api/cluster-api.js';
import { ISSUER, TokenAuthenticator } from './auth.js';
import { authenticationConfigErrors } from './authentication-config.js';
import { generateClusterCertificates } from './certificates.js';
import { Controllers } from './controllers.js';
import { Discovery } from './discovery.js';
import { EventRecorder } from './events.js';
import { FaultState } from './faults.js';
import { JwtAuthenticators } from './jwt-authenticator.js';
import { NODE_IP, nodeLabels, PodLifecycle } from './lifecycle.js';
import { ClusterListener } from './listener.js';
import { EmulatorOptionsError } from './options-error.js';
import { PodHistory } from './pod-history.js';
import { podResourceType } from './pods.js';
import type { SeededRandom } from './random.js';
import { bootstrapPolicy, RbacAuthorizer } from './rbac.js';
import {
  namespaceType,
  nodeType,
  roleTypes,
  SA_NAME_ANNOTATION,
  SA_TOKEN_SECRET_TYPE,
  secretType,
  serviceAccountType,
} from './resources.js';
import { ClusterState, rfc3339, type ClusterConfig } from './state.js';
import type { CollectionListener, JsonObject } from './store.js';
import type {
  AuthenticationConfiguration,
  EmulatedCluster,
  EmulatorStats,
  FaultConfig,
  PodHistoryEntry,
  PodObject,
  PodPhase,
  SetPodPhaseOptions,
} from './types.js';

/** Name of the least-privilege service account (and its Role, RoleBinding, token Secret). */
export const PODBUS_SERVICE_ACCOUNT = 'podbus';
/**
 * Rules of the `podbus` Role (what deploy/target-cluster grants): its pods (patch: the
 * annotation that says a pod's result was sent) and their logs, the events about them (`podbus
 * status`), and the Lease a client-go-style leader election reads, creates and renews (one
 * publisher of results per cluster).
 */
export const PODBUS_ROLE_RULES = [
  {
    apiGroups: [''],
    resources: ['pods'],
    verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch'],
  },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export interface ClusterStartOptions {
  config: ClusterConfig;
  host: string;
  port: number;
  plainHttp: boolean;
  random: SeededRandom;
  /** Stream of fault decisions (rates, jitter), separate from `random`. */
  faultRandom: SeededRandom;
  tempDir: string;
  faults?: FaultConfig;
  tls?: { certPem: string; keyPem: string; caPem: string };
  authenticationConfig?: AuthenticationConfiguration;
  resolveSibling: (name: string) => EmulatedCluster | undefined;
}

export class ClusterRuntime implements EmulatedCluster {
  readonly name: string;
  readonly namespace: string;
  server = '';
  caPem = '';
  caFile = '';
  adminToken = '';
  serviceAccountToken = '';
  private readonly counters = { requests: 0, byVerb: {} as Record<string, number>, connections: 0 };
  readonly state: ClusterState;
  readonly auth: TokenAuthenticator;
  /** Bearer tokens from the configured OIDC issuers (authenticationConfig). */
  readonly jwt: JwtAuthenticators;
  readonly rbac: RbacAuthorizer;
  readonly faults: FaultState;
  readonly lifecycle: PodLifecycle;
  readonly events: EventRecorder;
  private readonly history: PodHistory;
  controllers!: Controllers;
  private api!: ClusterApi;
  private listener!: ClusterListener;

  constructor(private readonly o: ClusterStartOptions) {
    this.name = o.config.name;
    this.namespace = o.config.namespace;
    this.state = new ClusterState(o.config, o.random);
    this.auth = new TokenAuthenticator(this.state);
    this.jwt = new JwtAuthenticators(o.config.oidcSigningAlgs);
    const s = this.state;
    const entries = (group: string, resource: string, clusterScoped: boolean) =>
      function* () {
        for (const obj of s.collectionOf(group, resource).values()) {
          const parsed = obj.parse();
          yield { namespace: clusterScoped ? '' : obj.namespace, name: obj.name, obj: parsed };
        }
      };
    const rbacGroup = 'rbac.authorization.k8s.io';
    this.rbac = new RbacAuthorizer({
      roles: entries(rbacGroup, 'roles', false),
      clusterRoles: entries(rbacGroup, 'clusterroles', true),
      roleBindings: entries(rbacGroup, 'rolebindings', false),
      clusterRoleBindings: entries(rbacGroup, 'clusterrolebindings', true),
    });
    const invalidate: CollectionListener = { onEvent: () => this.rbac.invalidate() };
    for (const t of Object.values(roleTypes)) s.collection(t).listeners.add(invalidate);
    this.faults = new FaultState(o.faultRandom, { setDown: (down) => this.listener.setDown(down) });
    this.events = new EventRecorder(this.state, {
      ...o.config.events,
      nodeName: o.config.nodeName,
    });
    this.lifecycle = new PodLifecycle(this.state, this.events);
    this.history = new PodHistory(this.state);
  }

  async start(): Promise<void> {
    const o = this.o;
    const scheme = o.plainHttp ? 'http' : 'https';
    let tls: { cert: string; key: string } | undefined;
    if (!o.plainHttp) {
      const certs = o.tls
        ? { caPem: o.tls.caPem, serverCertPem: o.tls.certPem, serverKeyPem: o.tls.keyPem }
        : await generateClusterCertificates(this.name, [o.host]);
      this.caPem = certs.caPem;
      tls = { cert: certs.serverCertPem, key: certs.serverKeyPem };
      this.caFile = join(o.tempDir, `${this.name}-ca.crt`);
      await writeFile(this.caFile, this.caPem, { mode: 0o644 });
    }
    this.controllers = new Controllers(this.state, this.auth, this.caPem);
    this.bootstrap();
    const discovery = new Discovery(() => `${displayHost(o.host)}:${this.listener.port}`);
    this.api = new ClusterApi({
      state: this.state,
      auth: this.auth,
      jwt: this.jwt,
      rbac: this.rbac,
      faults: this.faults,
      lifecycle: this.lifecycle,
      controllers: this.controllers,
      admission: new Admission(this.state, this.controllers, this.faults),
      discovery,
      random: this.state.random,
      stats: this.counters,
      admin: adminHandler(() => this, o.resolveSibling),
    });
    this.listener = new ClusterListener({
      host: o.host,
      port: o.port,
      tls,
      handler: this.api.handle,
      connectionFault: () =>
        this.faults.blackhole ? 'blackhole' : this.faults.connectionReset ? 'reset' : undefined,
      onConnection: () => {
        this.counters.connections++;
      },
    });
    if (o.authenticationConfig) await this.jwt.configure(o.authenticationConfig);
    const port = await this.listener.listen();
    this.server = `${scheme}://${displayHost(o.host)}:${port}`;
    if (o.faults) await this.faults.set(o.faults);
  }

  private bootstrap(): void {
    const s = this.state;
    const now = Date.now();
    const ns = this.namespace;
    for (const name of [...SYSTEM_NAMESPACES, ...(SYSTEM_NAMESPACES.includes(ns) ? [] : [ns])]) {
      s.insert(
        namespaceType,
        {
          metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
          spec: { finalizers: ['kubernetes'] },
          status: { phase: 'Active' },
        },
        now,
      );
      this.controllers.namespaceCreated(name);
    }
    const node = s.config.nodeName;
    const nowIso = rfc3339(now);
    const capacity = {
      cpu: '8',
      'ephemeral-storage': '102400Mi',
      memory: '32Gi',
      pods: String(s.config.nodeCapacityPods),
    };
    s.insert(nodeType, {
      metadata: {
        name: node,
        labels: nodeLabels(node),
      },
      spec: {
        podCIDR: '10.244.0.0/16',
        podCIDRs: ['10.244.0.0/16'],
        providerID: `podbus-emulator://${node}`,
      },
      status: {
        capacity,
        allocatable: capacity,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            lastHeartbeatTime: nowIso,
            lastTransitionTime: nowIso,
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        addresses: [
          { type: 'InternalIP', address: NODE_IP },
          { type: 'Hostname', address: node },
        ],
        nodeInfo: {
          machineID: 'podbus-emulator',
          systemUUID: 'podbus-emulator',
          bootID: 'podbus-emulator',
          kernelVersion: '6.1.0',
          osImage: 'podbus Kubernetes emulator',
          containerRuntimeVersion: 'containerd://1.7.24',
          kubeletVersion: 'v1.32.0',
          kubeProxyVersion: 'v1.32.0',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    });
    const policy = bootstrapPolicy();
    const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
    for (const r of policy.clusterRoles)
      s.insert(roleTypes.clusterRole, {
        metadata: { name: r.name, labels: bootstrapLabels },
        rules: r.rules,
      });
    for (const b of policy.clusterRoleBindings)
      s.insert(roleTypes.clusterRoleBinding, {
        metadata: { name: b.name, labels: bootstrapLabels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: b.roleRef },
        subjects: b.subjects,
      });

    // The least-privilege identity podbus uses, in its namespace only.
    s.insert(serviceAccountType, { metadata: { name: PODBUS_SERVICE_ACCOUNT, namespace: ns } });
    s.insert(roleTypes.role, {
      metadata: { name: PODBUS_SERVICE_ACCOUNT, namespace: ns },
      rules: PODBUS_ROLE_RULES,
    });
    s.insert(roleTypes.roleBinding, {
      metadata: { name: PODBUS_SERVICE_ACCOUNT, namespace: ns },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: PODBUS_SERVICE_ACCOUNT,
      },
      subjects: [{ kind: 'ServiceAccount', name: PODBUS_SERVICE_ACCOUNT, namespace: ns }],
    });
    const secretName = `${PODBUS_SERVICE_ACCOUNT}-token`;
    s.insert(secretType, {
      metadata: {
        name: secretName,
        namespace: ns,
        annotations: { [SA_NAME_ANNOTATION]: PODBUS_SERVICE_ACCOUNT },
      },
      type: SA_TOKEN_SECRET_TYPE,
    });
    this.serviceAccountToken = this.controllers.populateTokenNow(ns, secretName) ?? '';
    s.startHistory();
    this.adminToken = this.auth.addStaticToken({
      name: 'kubernetes-admin',
      uid: '',
      groups: ['system:masters', 'system:authenticated'],
    });
  }

  // ---- EmulatedCluster ----------------------------------------------------------------

  async setAuthenticationConfig(config: AuthenticationConfiguration | undefined): Promise<void> {
    const errs =
      config === undefined
        ? []
        : authenticationConfigErrors(config, [ISSUER], this.o.config.oidcSigningAlgs);
    if (errs.length > 0)
      throw new EmulatorOptionsError(`authentication config is invalid: ${errs.join('; ')}`);
    await this.jwt.configure(config);
  }

  authenticationStatus(): {
    config: AuthenticationConfiguration | null;
    keyFetchErrors: Record<string, string>;
  } {
    return { config: this.jwt.config ?? null, keyFetchErrors: this.jwt.fetchErrors };
  }

  revokeToken(token: string): void {
    this.auth.revoke(token);
  }

  issueToken(opts: {
    namespace: string;
    serviceAccount: string;
    expiresInSeconds?: number;
  }): string {
    const sas = this.state.collection(serviceAccountType);
    let sa = sas.get(opts.namespace, opts.serviceAccount);
    if (!sa) {
      if (!this.state.collection(namespaceType).get('', opts.namespace)) {
        this.state.insert(namespaceType, {
          metadata: {
            name: opts.namespace,
            labels: { 'kubernetes.io/metadata.name': opts.namespace },
          },
          spec: { finalizers: ['kubernetes'] },
          status: { phase: 'Active' },
        });
        this.controllers.namespaceCreated(opts.namespace);
      }
      sa = this.state.insert(serviceAccountType, {
        metadata: { name: opts.serviceAccount, namespace: opts.namespace },
      });
    }
    return this.auth.issueBound({
      namespace: opts.namespace,
      serviceAccount: opts.serviceAccount,
      serviceAccountUid: sa.uid,
      expirationSeconds: opts.expiresInSeconds ?? 3600,
      audiences: ['https://kubernetes.default.svc.cluster.local'],
    }).token;
  }

  listPods(namespace?: string): PodObject[] {
    const c = this.state.collection(podResourceType);
    return [...c.values(namespace)].map((o) => JSON.parse(c.render(o)) as PodObject);
  }

  getPod(namespace: string, name: string): PodObject | undefined {
    const c = this.state.collection(podResourceType);
    const o = c.get(namespace, name);
    return o ? (JSON.parse(c.render(o)) as PodObject) : undefined;
  }

  podHistory(namespace?: string): PodHistoryEntry[] {
    return this.history.list(namespace);
  }

  setPodPhase(
    namespace: string,
    name: string,
    phase: PodPhase,
    options?: SetPodPhaseOptions,
  ): void {
    this.lifecycle.setPhase(namespace, name, phase, options);
  }

  get stats(): EmulatorStats {
    return {
      requests: this.counters.requests,
      byVerb: { ...this.counters.byVerb },
      connections: this.counters.connections,
      objects: this.state.objectCount(),
      compactionBacklog: this.state.compactor.backlog,
    };
  }

  /** Open watch streams (test helper). */
  get openWatches(): number {
    return this.api.openWatches;
  }

  async stop(): Promise<void> {
    this.faults.dispose();
    this.lifecycle.stop();
    this.events.stop();
    this.state.compactor.stop();
    this.controllers?.stop();
    this.api?.shutdown();
    await this.listener?.close();
  }
}

function displayHost(host: string): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]` : h;
}

export type { JsonObject };
