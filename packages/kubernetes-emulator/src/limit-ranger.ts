/**
 * LimitRange as kube-apiserver applies it:
 * - the stored object is defaulted as SetDefaults_LimitRangeItem does (pkg/apis/core/v1/
 *   defaults.go): for `type: Container`, `default` <- `max`, `defaultRequest` <- `default`,
 *   `defaultRequest` <- `min`, key by key; so a LimitRange that only sets `default` is stored
 *   with `defaultRequest` too, and `kubectl apply` reports it `configured` on every re-apply;
 * - the LimitRanger admission plugin (plugin/pkg/admission/limitranger/admission.go) first
 *   mutates a new pod (container requests/limits from `defaultRequest`/`default`, and the
 *   `kubernetes.io/limit-ranger` annotation), then validates it against `min`, `max` and
 *   `maxLimitRequestRatio` per Container and per Pod, refusing with 403 and its messages.
 */
import { isObject } from './json.js';
import { ordered } from './pods.js';
import {
  addQuantities,
  canonicalResourceList,
  compareQuantities,
  formatQuantity,
  milliValue,
  resourceListOf,
  type Quantity,
} from './quantity.js';
import type { JsonObject } from './store.js';

const ITEM_ORDER = ['type', 'max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'];
const RESOURCE_LISTS = ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'];
const ANNOTATION = 'kubernetes.io/limit-ranger';

/** Canonical quantities and the defaults of SetDefaults_LimitRangeItem, in place. */
export function defaultLimitRange(obj: JsonObject): void {
  const spec = obj.spec;
  if (!isObject(spec) || !Array.isArray(spec.limits)) return;
  spec.limits = spec.limits.map((raw: unknown, i: number) => {
    if (!isObject(raw)) return raw;
    const item: JsonObject = { ...raw };
    for (const key of RESOURCE_LISTS)
      if (item[key] !== undefined && item[key] !== null)
        item[key] = canonicalResourceList(item[key], `spec.limits[${i}].${key}`);
    if (item.type === 'Container') {
      const fill = (target: string, source: string): void => {
        const from = isObject(item[source]) ? item[source] : {};
        const to: JsonObject = isObject(item[target]) ? { ...item[target] } : {};
        for (const [k, v] of Object.entries(from)) if (to[k] === undefined) to[k] = v;
        if (Object.keys(to).length > 0) item[target] = sortedKeys(to);
      };
      fill('default', 'max');
      fill('defaultRequest', 'default');
      fill('defaultRequest', 'min');
    }
    return ordered(item, ITEM_ORDER);
  });
}

function sortedKeys(list: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(list).sort()) out[k] = list[k];
  return out;
}

function containersOf(spec: JsonObject, key: 'containers' | 'initContainers'): JsonObject[] {
  return Array.isArray(spec[key]) ? (spec[key] as unknown[]).filter(isObject) : [];
}

function itemsOf(limitRange: JsonObject, type: string): JsonObject[] {
  const limits = (limitRange.spec as JsonObject | undefined)?.limits;
  return Array.isArray(limits) ? limits.filter((l) => isObject(l) && l.type === type) : [];
}

/**
 * The mutating half (PodMutateLimitFunc), for each LimitRange of the namespace in turn: fills
 * in the requests and limits a container leaves unset and records them in the annotation.
 */
export function mutatePodLimits(pod: JsonObject, limitRanges: readonly JsonObject[]): void {
  const spec = pod.spec as JsonObject;
  for (const lr of limitRanges) {
    const requests: JsonObject = {};
    const limits: JsonObject = {};
    for (const item of itemsOf(lr, 'Container')) {
      if (isObject(item.defaultRequest)) Object.assign(requests, item.defaultRequest);
      if (isObject(item.default)) Object.assign(limits, item.default);
    }
    const notes: string[] = [];
    const merge = (c: JsonObject, what: string): void => {
      const resources: JsonObject = isObject(c.resources) ? c.resources : {};
      const set = (key: 'requests' | 'limits', defaults: JsonObject): string[] => {
        const current: JsonObject = isObject(resources[key]) ? { ...resources[key] } : {};
        const added = Object.keys(defaults).filter((k) => current[k] === undefined);
        for (const k of added) current[k] = defaults[k];
        if (added.length > 0) resources[key] = sortedKeys(current);
        return added.sort();
      };
      const setLimits = set('limits', limits);
      const setRequests = set('requests', requests);
      c.resources = ordered(resources, ['limits', 'requests', 'claims']);
      if (setRequests.length > 0)
        notes.push(`${setRequests.join(', ')} request for ${what} ${String(c.name)}`);
      if (setLimits.length > 0)
        notes.push(`${setLimits.join(', ')} limit for ${what} ${String(c.name)}`);
    };
    for (const c of containersOf(spec, 'containers')) merge(c, 'container');
    for (const c of containersOf(spec, 'initContainers')) merge(c, 'init container');
    if (notes.length > 0) {
      const meta = pod.metadata as JsonObject;
      const annotations = isObject(meta.annotations) ? meta.annotations : {};
      annotations[ANNOTATION] = `LimitRanger plugin set: ${notes.join('; ')}`;
      meta.annotations = annotations;
    }
  }
}

type Constraint = (
  limitType: string,
  resource: string,
  enforced: Quantity,
  requests: Map<string, Quantity>,
  limits: Map<string, Quantity>,
) => string | undefined;

const q = formatQuantity;

const minConstraint: Constraint = (type, res, enforced, requests, limits) => {
  const req = requests.get(res);
  const lim = limits.get(res);
  if (req === undefined)
    return `minimum ${res} usage per ${type} is ${q(enforced)}.  No request is specified`;
  if (milliValue(req) < milliValue(enforced))
    return `minimum ${res} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  if (lim !== undefined && milliValue(lim) < milliValue(enforced))
    return `minimum ${res} usage per ${type} is ${q(enforced)}, but limit is ${q(lim)}`;
  return undefined;
};

const maxConstraint: Constraint = (type, res, enforced, requests, limits) => {
  const req = requests.get(res);
  const lim = limits.get(res);
  if (lim === undefined)
    return `maximum ${res} usage per ${type} is ${q(enforced)}.  No limit is specified`;
  if (milliValue(lim) > milliValue(enforced))
    return `maximum ${res} usage per ${type} is ${q(enforced)}, but limit is ${q(lim)}`;
  if (req !== undefined && milliValue(req) > milliValue(enforced))
    return `maximum ${res} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  return undefined;
};

const ratioConstraint: Constraint = (type, res, enforced, requests, limits) => {
  const req = requests.get(res);
  const lim = limits.get(res);
  const prefix = `${res} max limit to request ratio per ${type} is ${q(enforced)}`;
  if (req === undefined || milliValue(req) === 0n)
    return `${prefix}, but no request is specified or request is 0`;
  if (lim === undefined || milliValue(lim) === 0n)
    return `${prefix}, but no limit is specified or limit is 0`;
  const observed = Number(milliValue(lim)) / Number(milliValue(req));
  if (observed * 1000 > Number(milliValue(enforced)))
    return `${prefix}, but provided ratio is ${observed.toFixed(6)}`;
  return undefined;
};

const CONSTRAINTS: [string, Constraint][] = [
  ['min', minConstraint],
  ['max', maxConstraint],
  ['maxLimitRequestRatio', ratioConstraint],
];

function check(
  item: JsonObject,
  type: string,
  requests: Map<string, Quantity>,
  limits: Map<string, Quantity>,
  errors: string[],
): void {
  for (const [key, constraint] of CONSTRAINTS) {
    const enforced = resourceListOf(item[key]);
    for (const res of [...enforced.keys()].sort()) {
      const e = constraint(type, res, enforced.get(res) as Quantity, requests, limits);
      if (e !== undefined) errors.push(e);
    }
  }
}

function resources(c: JsonObject, key: 'requests' | 'limits'): Map<string, Quantity> {
  return resourceListOf((c.resources as JsonObject | undefined)?.[key]);
}

/** Sum over containers, max with each init container (podRequests/podLimits, without sidecars). */
function podTotal(spec: JsonObject, key: 'requests' | 'limits'): Map<string, Quantity> {
  const total = new Map<string, Quantity>();
  for (const c of containersOf(spec, 'containers'))
    for (const [k, v] of resources(c, key)) {
      const prev = total.get(k);
      total.set(k, prev === undefined ? v : addQuantities(prev, v));
    }
  for (const c of containersOf(spec, 'initContainers'))
    for (const [k, v] of resources(c, key)) {
      const prev = total.get(k);
      if (prev === undefined || compareQuantities(v, prev) > 0) total.set(k, v);
    }
  return total;
}

/**
 * The validating half (PodValidateLimitFunc): the violations of the first LimitRange that the
 * pod breaks, as the aggregate error upstream formats (`a` or `[a, b]`), or undefined.
 */
export function validatePodLimits(
  pod: JsonObject,
  limitRanges: readonly JsonObject[],
): string | undefined {
  const spec = pod.spec as JsonObject;
  for (const lr of limitRanges) {
    const errors: string[] = [];
    for (const item of itemsOf(lr, 'Container'))
      for (const c of [
        ...containersOf(spec, 'containers'),
        ...containersOf(spec, 'initContainers'),
      ])
        check(item, 'Container', resources(c, 'requests'), resources(c, 'limits'), errors);
    for (const item of itemsOf(lr, 'Pod'))
      check(item, 'Pod', podTotal(spec, 'requests'), podTotal(spec, 'limits'), errors);
    const unique = [...new Set(errors)];
    if (unique.length === 1) return unique[0];
    if (unique.length > 1) return `[${unique.join(', ')}]`;
  }
  return undefined;
}
