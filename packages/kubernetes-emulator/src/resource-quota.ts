/**
 * ResourceQuota for pods as kube-apiserver 1.32 counts and enforces it: the pod evaluator
 * (pkg/quota/v1/evaluator/core/pods.go: usage, matching resources, scopes, the "must specify"
 * constraints) and the admission check (k8s.io/apiserver/pkg/admission/plugin/resourcequota/
 * controller.go: `failed quota: <name>: must specify <resources>`, then `exceeded quota: <name>,
 * requested: ..., used: ..., limited: ...`, each list `k=v` sorted and comma-joined).
 */
import { isObject } from './json.js';
import {
  addQuantities,
  compareQuantities,
  parseQuantity,
  printResourceList,
  resourceListOf,
  type Quantity,
} from './quantity.js';
import type { JsonObject } from './store.js';

const ONE = parseQuantity('1');

/** Compute resources of one container's or pod's requests and limits (podComputeUsageHelper). */
function computeUsage(
  requests: Map<string, Quantity>,
  limits: Map<string, Quantity>,
): Map<string, Quantity> {
  const out = new Map<string, Quantity>([['pods', ONE]]);
  for (const res of ['cpu', 'memory', 'ephemeral-storage']) {
    const r = requests.get(res);
    if (r !== undefined) {
      out.set(res, r);
      out.set(`requests.${res}`, r);
    }
    const l = limits.get(res);
    if (l !== undefined) out.set(`limits.${res}`, l);
  }
  for (const [res, r] of requests)
    if (res.startsWith('hugepages-') || res.includes('/')) out.set(`requests.${res}`, r);
  return out;
}

function containersOf(pod: JsonObject, key: string): JsonObject[] {
  const list = (pod.spec as JsonObject | undefined)?.[key];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function resourcesOf(c: JsonObject, key: 'requests' | 'limits'): Map<string, Quantity> {
  return resourceListOf((c.resources as JsonObject | undefined)?.[key]);
}

/** Pod requests or limits: the containers' sum, or the largest init container if larger. */
function podResources(pod: JsonObject, key: 'requests' | 'limits'): Map<string, Quantity> {
  const total = new Map<string, Quantity>();
  for (const c of containersOf(pod, 'containers'))
    for (const [k, v] of resourcesOf(c, key)) {
      const prev = total.get(k);
      total.set(k, prev === undefined ? v : addQuantities(prev, v));
    }
  for (const c of containersOf(pod, 'initContainers'))
    for (const [k, v] of resourcesOf(c, key)) {
      const prev = total.get(k);
      if (prev === undefined || compareQuantities(v, prev) > 0) total.set(k, v);
    }
  return total;
}

/**
 * What a pod counts against quota (PodUsageFunc): `count/pods` always (it counts every stored
 * pod); `pods` and compute resources only while the pod is not terminal.
 */
export function podUsage(pod: JsonObject, terminal: boolean): Map<string, Quantity> {
  const usage = new Map<string, Quantity>([['count/pods', ONE]]);
  if (terminal) return usage;
  for (const [k, v] of computeUsage(podResources(pod, 'requests'), podResources(pod, 'limits')))
    usage.set(k, v);
  return usage;
}

const POD_RESOURCES = new Set([
  'pods',
  'count/pods',
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
]);

/** The quota resources the pod evaluator tracks (MatchingResources). */
export function isPodResource(name: string): boolean {
  return (
    POD_RESOURCES.has(name) ||
    name.startsWith('requests.hugepages-') ||
    (name.startsWith('requests.') && name.includes('/'))
  );
}

/** Resources a quota requires every container to set (validationSet). */
const MUST_SPECIFY = new Set([
  'cpu',
  'memory',
  'requests.cpu',
  'requests.memory',
  'limits.cpu',
  'limits.memory',
]);

function isBestEffort(pod: JsonObject): boolean {
  return [...containersOf(pod, 'containers'), ...containersOf(pod, 'initContainers')].every(
    (c) => resourcesOf(c, 'requests').size === 0 && resourcesOf(c, 'limits').size === 0,
  );
}

/** Whether a quota's scopes select the pod (podMatchesScopeFunc, for the pod scopes). */
export function quotaMatchesPod(quota: JsonObject, pod: JsonObject): boolean {
  const spec = isObject(quota.spec) ? quota.spec : {};
  const selectors: { scopeName: string; operator: string; values: string[] }[] = [];
  if (Array.isArray(spec.scopes))
    for (const s of spec.scopes)
      selectors.push({ scopeName: String(s), operator: 'Exists', values: [] });
  const exprs = isObject(spec.scopeSelector) ? spec.scopeSelector.matchExpressions : undefined;
  if (Array.isArray(exprs))
    for (const e of exprs.filter(isObject))
      selectors.push({
        scopeName: String(e.scopeName ?? ''),
        operator: String(e.operator ?? ''),
        values: Array.isArray(e.values) ? e.values.map(String) : [],
      });
  const podSpec = isObject(pod.spec) ? pod.spec : {};
  const terminating = typeof podSpec.activeDeadlineSeconds === 'number';
  return selectors.every((s) => {
    switch (s.scopeName) {
      case 'Terminating':
        return terminating;
      case 'NotTerminating':
        return !terminating;
      case 'BestEffort':
        return isBestEffort(pod);
      case 'NotBestEffort':
        return !isBestEffort(pod);
      case 'PriorityClass': {
        const pc = typeof podSpec.priorityClassName === 'string' ? podSpec.priorityClassName : '';
        if (s.operator === 'Exists') return pc !== '';
        if (s.operator === 'DoesNotExist') return pc === '';
        if (s.operator === 'In') return s.values.includes(pc);
        if (s.operator === 'NotIn') return !s.values.includes(pc);
        return false;
      }
      default:
        return true;
    }
  });
}

function hardOf(quota: JsonObject): Map<string, Quantity> {
  return resourceListOf((quota.spec as JsonObject | undefined)?.hard);
}

function usedOf(quota: JsonObject): Map<string, Quantity> {
  return resourceListOf((quota.status as JsonObject | undefined)?.used);
}

function mask(list: Map<string, Quantity>, keys: Iterable<string>): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const k of keys) {
    const v = list.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

/**
 * The reason ResourceQuota admission refuses a new pod (the text after `is forbidden: `), or
 * undefined. `quotas` are the namespace's ResourceQuotas with current status.
 */
export function quotaRefusal(pod: JsonObject, quotas: readonly JsonObject[]): string | undefined {
  const matched: JsonObject[] = [];
  for (const quota of quotas) {
    if (!quotaMatchesPod(quota, pod)) continue;
    const required = [...hardOf(quota).keys()].filter(
      (k) => isPodResource(k) && MUST_SPECIFY.has(k),
    );
    const missing = new Set<string>();
    for (const c of [...containersOf(pod, 'containers'), ...containersOf(pod, 'initContainers')]) {
      const has = computeUsage(resourcesOf(c, 'requests'), resourcesOf(c, 'limits'));
      for (const r of required) if (!has.has(r)) missing.add(r);
    }
    // Upstream joins an unordered set; sorted here, so the text is stable.
    if (missing.size > 0)
      return `failed quota: ${String((quota.metadata as JsonObject).name)}: must specify ${[...missing].sort().join(',')}`;
    matched.push(quota);
  }
  const delta = new Map([...podUsage(pod, false)].filter(([, v]) => v.nanos !== 0n));
  for (const quota of matched) {
    const hard = hardOf(quota);
    const used = usedOf(quota);
    const requested = mask(delta, [...hard.keys()].filter(isPodResource));
    const exceeded: string[] = [];
    for (const [k, v] of requested) {
      const after = addQuantities(used.get(k) ?? parseQuantity('0'), v);
      if (compareQuantities(after, hard.get(k) as Quantity) > 0) exceeded.push(k);
    }
    if (exceeded.length > 0)
      return `exceeded quota: ${String((quota.metadata as JsonObject).name)}, requested: ${printResourceList(mask(requested, exceeded))}, used: ${printResourceList(mask(used, exceeded))}, limited: ${printResourceList(mask(hard, exceeded))}`;
  }
  return undefined;
}
