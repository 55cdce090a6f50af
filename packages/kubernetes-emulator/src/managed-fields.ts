/**
 * metadata.managedFields entries. The field set (FieldsV1) is derived from what the client
 * sent, with upstream's encoding: `f:<field>` for struct fields and map keys, `.` for a map or
 * list element itself, `k:{...}` for elements of associative lists (containers by name, ...).
 * Without the OpenAPI schema some fields are classified by name; the result matches upstream
 * for the objects clients typically send.
 */
import type { JsonObject } from './store.js';
import { isObject } from './json.js';

const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'data',
  'binaryData',
  'stringData',
  'nodeSelector',
  'matchLabels',
  'limits',
  'requests',
  'hard',
  'used',
  'capacity',
  'allocatable',
  'max',
  'min',
  'default',
  'defaultRequest',
  'maxLimitRequestRatio',
]);

/** Associative lists and the keys of their elements. */
const LIST_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  volumeMounts: ['mountPath'],
  ports: ['containerPort', 'protocol'],
  imagePullSecrets: ['name'],
  secrets: ['name'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  readinessGates: ['conditionType'],
};

const SKIP_TOP = new Set(['apiVersion', 'kind', 'status']);
const SKIP_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
]);

function elementKey(el: JsonObject, keys: string[], fieldName: string): string | undefined {
  // k:{"name":"c"} with the key fields in the list's declared order.
  let out = 'k:{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    let v = el[key];
    if (v === undefined && fieldName === 'ports' && key === 'protocol') v = 'TCP';
    if (v === undefined) return undefined;
    out += `${i > 0 ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(v)}`;
  }
  return out + '}';
}

function fieldsOf(value: unknown, fieldName: string): JsonObject {
  const out: JsonObject = {};
  if (Array.isArray(value)) {
    const keys = LIST_KEYS[fieldName];
    if (keys === undefined) return out;
    for (const el of value) {
      if (!isObject(el)) continue;
      const key = elementKey(el, keys, fieldName);
      if (key === undefined) continue;
      const item = fieldsOf(el, '');
      const withDot: JsonObject = { '.': {} };
      for (const k in item) withDot[k] = item[k];
      out[key] = withDot;
    }
    return out;
  }
  if (!isObject(value)) return out;
  let hasAny = false;
  for (const k in value) {
    const v = value[k];
    if (v === undefined || v === null) continue;
    if (!hasAny && MAP_FIELDS.has(fieldName)) out['.'] = {};
    hasAny = true;
    out[`f:${k}`] = typeof v === 'object' ? fieldsOf(v, k) : {};
  }
  return out;
}

/** The FieldsV1 set of a request body. */
export function fieldsV1(body: JsonObject): JsonObject {
  const out: JsonObject = {};
  const meta = body.metadata;
  if (isObject(meta)) {
    const m: JsonObject = {};
    for (const [k, v] of Object.entries(meta)) {
      if (SKIP_META.has(k) || v === undefined || v === null) continue;
      m[`f:${k}`] = fieldsOf(v, k);
    }
    if (Object.keys(m).length > 0) out['f:metadata'] = m;
  }
  for (const [k, v] of Object.entries(body)) {
    if (k === 'metadata' || SKIP_TOP.has(k) || v === undefined || v === null) continue;
    out[`f:${k}`] = fieldsOf(v, k);
  }
  return out;
}

export function managedFieldsEntry(opts: {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: string;
  time: string;
  body: JsonObject;
  subresource?: string;
}): JsonObject {
  const entry: JsonObject = {
    manager: opts.manager,
    operation: opts.operation,
    apiVersion: opts.apiVersion,
    time: opts.time,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldsV1(opts.body),
  };
  if (opts.subresource) entry.subresource = opts.subresource;
  return entry;
}

/** The manager name from a User-Agent: everything before the first '/'. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown';
  const i = userAgent.indexOf('/');
  return i < 0 ? userAgent : userAgent.slice(0, i);
}

/**
 * Adds or replaces the entry of (manager, operation, subresource) in `managedFields`, as
 * upstream does on update (one entry per manager and operation).
 */
export function upsertManagedFields(existing: unknown, entry: JsonObject): JsonObject[] {
  const list = Array.isArray(existing) ? (existing as JsonObject[]).filter(isObject) : [];
  const idx = list.findIndex(
    (e) =>
      e.manager === entry.manager &&
      e.operation === entry.operation &&
      (e.subresource ?? '') === (entry.subresource ?? ''),
  );
  if (idx >= 0) list[idx] = entry;
  else list.push(entry);
  return list;
}
