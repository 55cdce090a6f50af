/**
 * The controllers an emulated cluster needs besides the scheduler/kubelet:
 * - namespace: every new namespace gets the `default` ServiceAccount and the `kube-root-ca.crt`
 *   ConfigMap; deleting a namespace marks it Terminating, deletes its content, then removes it;
 * - tokens: a `kubernetes.io/service-account-token` Secret gets `token`, `ca.crt` and `namespace`
 *   shortly after creation (once its ServiceAccount exists), as the legacy token controller did;
 * - quota: keeps ResourceQuota status.hard/used current from the pods (resource-quota.ts
 *   says what a pod counts), so admission sees what the real quota controller would report.
 */
import type { TokenAuthenticator } from './auth.js';
import { podResourceType } from './pods.js';
import { metadataOf, type ResourceType } from './resource-type.js';
import { addQuantities, formatQuantity, ZERO, type Quantity } from './quantity.js';
import { isPodResource, podUsage, quotaMatchesPod } from './resource-quota.js';
import {
  configMapType,
  namespaceType,
  resourceQuotaType,
  SA_NAME_ANNOTATION,
  SA_TOKEN_SECRET_TYPE,
  SA_UID_ANNOTATION,
  secretType,
  serviceAccountType,
} from './resources.js';
import { ALL_TYPES } from './resources.js';
import { rfc3339, type ClusterState } from './state.js';
import type { CollectionListener, JsonObject, StoredObject, WatchEvent } from './store.js';

const TERMINAL = new Set(['Succeeded', 'Failed']);

function scoped(quota: JsonObject): boolean {
  const spec = quota.spec as JsonObject | undefined;
  return (
    (Array.isArray(spec?.scopes) && spec.scopes.length > 0) ||
    (spec?.scopeSelector !== undefined && spec.scopeSelector !== null)
  );
}

function addUsage(totals: Map<string, Quantity>, usage: Map<string, Quantity>): void {
  for (const [k, v] of usage) {
    const prev = totals.get(k);
    totals.set(k, prev === undefined ? v : addQuantities(prev, v));
  }
}

function subtractUsage(totals: Map<string, Quantity>, usage: Map<string, Quantity>): void {
  for (const [k, v] of usage) {
    const prev = totals.get(k) ?? ZERO;
    totals.set(k, { nanos: prev.nanos - v.nanos, format: prev.format });
  }
}

export class Controllers {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Non-terminal pods per namespace (what the `pods` quota counts). */
  private readonly activePods = new Map<string, number>();
  /** Quota usage of all pods, per namespace that has a ResourceQuota (kept incrementally). */
  private readonly quotaTotals = new Map<string, Map<string, Quantity>>();
  private stopped = false;

  constructor(
    private readonly state: ClusterState,
    private readonly auth: TokenAuthenticator,
    private readonly caPem: string,
  ) {
    const pods = state.collection(podResourceType);
    const podListener: CollectionListener = { onEvent: (e) => this.onPodEvent(e) };
    pods.listeners.add(podListener);
    const sas = state.collection(serviceAccountType);
    sas.listeners.add({
      onEvent: (e) => {
        if (e.type === 'ADDED') this.populateTokensFor(e.object.namespace, e.object.name);
      },
    });
    const secrets = state.collection(secretType);
    secrets.listeners.add({
      onEvent: (e) => {
        if (e.type === 'ADDED' && e.object.fields.type === SA_TOKEN_SECRET_TYPE)
          this.later(this.state.config.tokenControllerDelayMs, () =>
            this.populateToken(e.object.namespace, e.object.name),
          );
      },
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  // ---- namespaces ---------------------------------------------------------------------

  /** Objects every namespace gets from controllers right after creation. */
  namespaceCreated(name: string): void {
    const now = Date.now();
    if (!this.state.collection(serviceAccountType).get(name, 'default'))
      this.state.insert(
        serviceAccountType,
        { metadata: { name: 'default', namespace: name } },
        now,
      );
    if (!this.state.collection(configMapType).get(name, 'kube-root-ca.crt'))
      this.state.insert(
        configMapType,
        {
          metadata: {
            name: 'kube-root-ca.crt',
            namespace: name,
            annotations: {
              'kubernetes.io/description':
                'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
            },
          },
          data: { 'ca.crt': this.caPem },
        },
        now,
      );
  }

  /** True when the namespace exists but is being deleted. */
  isTerminating(namespace: string): boolean {
    const ns = this.state.collection(namespaceType).get('', namespace);
    return ns !== undefined && ns.fields['status.phase'] === 'Terminating';
  }

  /** Starts namespace deletion; returns the Namespace as the DELETE response shows it. */
  deleteNamespace(prev: StoredObject, graceMs: number): StoredObject {
    if (prev.fields['status.phase'] === 'Terminating') return prev;
    const ns = prev.parse();
    const meta = metadataOf(ns);
    meta.deletionTimestamp = rfc3339(Date.now());
    meta.deletionGracePeriodSeconds = 0;
    ns.status = { phase: 'Terminating' };
    const stored = this.state.replace(namespaceType, ns, prev);
    this.later(graceMs, () => this.finalizeNamespace(prev.name));
    return stored;
  }

  private finalizeNamespace(name: string): void {
    for (const t of ALL_TYPES) {
      if (!t.namespaced || t.virtual) continue;
      const c = this.state.collection(t);
      for (const obj of [...c.values(name)]) this.state.remove(t, obj);
    }
    const ns = this.state.collection(namespaceType).get('', name);
    if (ns) this.state.remove(namespaceType, ns);
  }

  // ---- service-account token secrets --------------------------------------------------

  private populateTokensFor(namespace: string, serviceAccount: string): void {
    for (const s of this.state.collection(secretType).values(namespace)) {
      if (s.fields.type !== SA_TOKEN_SECRET_TYPE) continue;
      if (!s.body.includes(`"${SA_NAME_ANNOTATION}":"${serviceAccount}"`)) continue;
      this.later(this.state.config.tokenControllerDelayMs, () =>
        this.populateToken(namespace, s.name),
      );
    }
  }

  private populateToken(namespace: string, name: string): void {
    const secrets = this.state.collection(secretType);
    const prev = secrets.get(namespace, name);
    if (!prev) return;
    const secret = prev.parse();
    const meta = metadataOf(secret);
    const annotations = (meta.annotations ?? {}) as Record<string, string>;
    const saName = annotations[SA_NAME_ANNOTATION];
    if (!saName) return;
    const sa = this.state.collection(serviceAccountType).get(namespace, saName);
    if (!sa) return; // populated when the ServiceAccount appears
    const data = (secret.data ?? {}) as Record<string, string>;
    if (data.token && annotations[SA_UID_ANNOTATION] === sa.uid) return;
    const token = this.auth.issueLegacy({
      namespace,
      serviceAccount: saName,
      serviceAccountUid: sa.uid,
      secretName: name,
      secretUid: prev.uid,
    });
    annotations[SA_UID_ANNOTATION] = sa.uid;
    meta.annotations = annotations;
    secret.data = {
      ...data,
      'ca.crt': Buffer.from(this.caPem).toString('base64'),
      namespace: Buffer.from(namespace).toString('base64'),
      token: Buffer.from(token).toString('base64'),
    };
    this.state.replace(secretType, secret, prev);
  }

  /** Synchronous population for bootstrap objects (the emulator's own SA token). */
  populateTokenNow(namespace: string, name: string): string | undefined {
    this.populateToken(namespace, name);
    const s = this.state.collection(secretType).get(namespace, name)?.parse();
    const t = (s?.data as Record<string, string> | undefined)?.token;
    return t ? Buffer.from(t, 'base64').toString('utf8') : undefined;
  }

  // ---- quota --------------------------------------------------------------------------

  private onPodEvent(e: WatchEvent): void {
    const ns = e.object.namespace;
    const isActive = (o: StoredObject | undefined): boolean =>
      o !== undefined && !TERMINAL.has(o.fields['status.phase'] ?? '');
    const before = e.type === 'ADDED' ? false : isActive(e.prev);
    const after = e.type === 'DELETED' ? false : isActive(e.object);
    const added = e.type === 'ADDED';
    const removed = e.type === 'DELETED';
    if (before === after && !added && !removed) return; // usage only moves with these
    if (before !== after) {
      const n = (this.activePods.get(ns) ?? 0) + (after ? 1 : -1);
      if (n <= 0) this.activePods.delete(ns);
      else this.activePods.set(ns, n);
    }
    const totals = this.quotaTotals.get(ns);
    if (totals === undefined) return; // no quota in this namespace
    if (!added && e.prev) subtractUsage(totals, podUsage(e.prev.parse(), !before));
    if (!removed) addUsage(totals, podUsage(e.parsed ?? e.object.parse(), !after));
    this.refreshQuotas(ns);
  }

  /** Non-terminal pods in a namespace. */
  activePodCount(namespace: string): number {
    return this.activePods.get(namespace) ?? 0;
  }

  /** Usage of every pod of the namespace (when its first quota appears). */
  private recountUsage(namespace: string): Map<string, Quantity> {
    const totals = new Map<string, Quantity>();
    for (const pod of this.state.collection(podResourceType).values(namespace))
      addUsage(totals, podUsage(pod.parse(), TERMINAL.has(pod.fields['status.phase'] ?? '')));
    return totals;
  }

  /**
   * Recomputes status.hard/used of the namespace's quotas, as the quota controller does: every
   * resource the pod evaluator tracks is counted (scoped quotas over their matching pods only);
   * others keep what they had, or 0.
   */
  refreshQuotas(namespace: string): void {
    const quotas = this.state.collection(resourceQuotaType);
    if (quotas.countIn(namespace) === 0) {
      this.quotaTotals.delete(namespace);
      return;
    }
    let totals = this.quotaTotals.get(namespace);
    if (totals === undefined) {
      totals = this.recountUsage(namespace);
      this.quotaTotals.set(namespace, totals);
    }
    for (const q of [...quotas.values(namespace)]) {
      const obj = q.parse();
      const hard = ((obj.spec as JsonObject | undefined)?.hard ?? {}) as Record<string, unknown>;
      const previous = ((obj.status as JsonObject | undefined)?.used ?? {}) as Record<
        string,
        string
      >;
      const usage = scoped(obj) ? this.scopedUsage(namespace, obj) : totals;
      const status = { hard: { ...hard }, used: {} as Record<string, string> };
      for (const k of Object.keys(hard).sort())
        status.used[k] = isPodResource(k)
          ? formatQuantity(usage.get(k) ?? ZERO)
          : (previous[k] ?? '0');
      if (JSON.stringify(obj.status) === JSON.stringify(status)) continue;
      obj.status = status;
      this.state.replace(resourceQuotaType, obj, q);
    }
  }

  private scopedUsage(namespace: string, quota: JsonObject): Map<string, Quantity> {
    const totals = new Map<string, Quantity>();
    for (const pod of this.state.collection(podResourceType).values(namespace)) {
      const parsed = pod.parse();
      if (quotaMatchesPod(quota, parsed))
        addUsage(totals, podUsage(parsed, TERMINAL.has(pod.fields['status.phase'] ?? '')));
    }
    return totals;
  }

  /** The namespace's ResourceQuotas, by name, with current status (for admission). */
  quotasIn(namespace: string): JsonObject[] {
    const quotas = this.state.collection(resourceQuotaType);
    if (quotas.countIn(namespace) === 0) return [];
    return [...quotas.values(namespace)]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((q) => q.parse());
  }

  /** Hook after any create through the API. */
  afterCreate(type: ResourceType, stored: StoredObject): void {
    if (type === namespaceType) this.namespaceCreated(stored.name);
    else if (type === resourceQuotaType) this.refreshQuotas(stored.namespace);
  }

  afterUpdate(type: ResourceType, stored: StoredObject): void {
    if (type === resourceQuotaType) this.refreshQuotas(stored.namespace);
  }

  afterDelete(type: ResourceType, stored: StoredObject): void {
    if (type === resourceQuotaType) this.refreshQuotas(stored.namespace);
  }
}

export { TERMINAL as TERMINAL_PHASES };
