/**
 * The admission plugins the emulator runs, in kube-apiserver's order
 * (pkg/kubeapiserver/options/plugins.go, AllOrderedPlugins): first every mutating plugin
 * (LimitRanger, ServiceAccount; Priority and DefaultTolerationSeconds are create defaults in
 * pods.ts), then the object's own validation (422), then every validating plugin (LimitRanger,
 * PodSecurity, ResourceQuota). A refusal is the 403 each plugin writes: `pods "<name>" is
 * forbidden: <reason>` with details {name, kind: pods}.
 */
import type { Controllers } from './controllers.js';
import type { FaultState } from './faults.js';
import { isObject } from './json.js';
import { mutatePodLimits, validatePodLimits } from './limit-ranger.js';
import { admitNamespace, admitPod, significantPodUpdate } from './pod-security.js';
import { podResourceType, qosClass } from './pods.js';
import { metadataOf } from './resource-type.js';
import { quotaRefusal } from './resource-quota.js';
import { limitRangeType, namespaceType, serviceAccountType } from './resources.js';
import type { ClusterState } from './state.js';
import { forbidden, invalid } from './status.js';
import type { JsonObject } from './store.js';

/** The name an admission refusal reports: upstream admits before generateName is applied. */
export interface AdmissionName {
  /** metadata.name as sent (empty with generateName). */
  name: string;
  /** metadata.generateName as sent. */
  generateName: string;
}

export class Admission {
  constructor(
    private readonly state: ClusterState,
    private readonly controllers: Controllers,
    private readonly faults: FaultState,
  ) {}

  private limitRanges(namespace: string): JsonObject[] {
    const c = this.state.collection(limitRangeType);
    if (c.countIn(namespace) === 0) return [];
    return [...c.values(namespace)]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((o) => o.parse());
  }

  /**
   * Mutating admission of a new pod (after its create defaults): LimitRanger fills in default
   * requests and limits, then ServiceAccount checks the pod's service account exists. The QoS
   * class is computed afterwards, as the pod strategy does.
   */
  mutatePod(namespace: string, names: AdmissionName, pod: JsonObject): void {
    mutatePodLimits(pod, this.limitRanges(namespace));
    const sa = (pod.spec as JsonObject).serviceAccountName as string;
    if (!this.state.collection(serviceAccountType).get(namespace, sa))
      throw forbidden(
        '',
        'pods',
        names.name,
        `error looking up service account ${namespace}/${sa}: serviceaccount "${sa}" not found`,
      );
    if (isObject(pod.status)) pod.status.qosClass = qosClass(pod.spec as JsonObject);
  }

  /**
   * Validating admission of a new pod: LimitRanger (min/max/ratio), PodSecurity (enforce;
   * returns the warn level's warnings), ResourceQuota, then the `quotaFull` fault.
   */
  validatePod(namespace: string, names: AdmissionName, pod: JsonObject): string[] {
    const reported = names.name || names.generateName; // admission.NewForbidden's name
    const limits = validatePodLimits(pod, this.limitRanges(namespace));
    if (limits !== undefined) throw forbidden('', 'pods', reported, limits);
    const security = admitPod(this.namespaceLabels(namespace), pod);
    // The PodSecurity plugin names the pod from the request only (empty with generateName).
    if (security.forbidden !== undefined)
      throw forbidden('', 'pods', names.name, security.forbidden);
    const quota = quotaRefusal(pod, this.controllers.quotasIn(namespace));
    if (quota !== undefined) throw forbidden('', 'pods', reported, quota);
    const full = this.faults.quotaFull;
    if (full !== undefined) {
      const used = this.controllers.activePodCount(namespace);
      throw forbidden(
        '',
        'pods',
        reported,
        `exceeded quota: ${full}, requested: pods=1, used: pods=${used}, limited: pods=${used}`,
      );
    }
    return security.warnings;
  }

  /** Validating admission of a pod update: PodSecurity, when an image changes. */
  validatePodUpdate(namespace: string, pod: JsonObject, old: JsonObject): string[] {
    if (!significantPodUpdate(pod, old)) return [];
    const name = String(metadataOf(pod).name ?? '');
    const security = admitPod(this.namespaceLabels(namespace), pod);
    if (security.forbidden !== undefined) throw forbidden('', 'pods', name, security.forbidden);
    return security.warnings;
  }

  /** Validating admission of a namespace write: PodSecurity checks its labels (422). */
  validateNamespace(ns: JsonObject, old: JsonObject | undefined): string[] {
    const name = String(metadataOf(ns).name ?? '');
    const pods = this.state.collection(podResourceType);
    const decision = admitNamespace(
      metadataOf(ns).labels,
      old === undefined ? undefined : (metadataOf(old).labels ?? {}),
      name,
      function* () {
        for (const p of pods.values(name)) yield p.parse();
      },
    );
    if (decision.errors.length > 0) throw invalid('', 'Namespace', name, decision.errors);
    return decision.warnings;
  }

  private namespaceLabels(namespace: string): unknown {
    const ns = this.state.collection(namespaceType).get('', namespace);
    return ns ? metadataOf(ns.parse()).labels : undefined;
  }
}
