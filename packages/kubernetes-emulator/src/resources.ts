/**
 * The resource types the emulator serves besides pods and leases (leases.ts), with their
 * strategies: core v1 (namespaces, serviceaccounts, secrets, configmaps, resourcequotas,
 * limitranges, events, nodes), RBAC, networking (NetworkPolicy, stored but not enforced) and
 * the review APIs.
 */
import { isObject } from './json.js';
import { leaseType } from './leases.js';
import { defaultLimitRange } from './limit-ranger.js';
import { podResourceType } from './pods.js';
import { canonicalResourceList } from './quantity.js';
import {
  AGE_COLUMN,
  DEFAULT_TABLE,
  humanAge,
  metadataOf,
  NAME_COLUMN,
  STANDARD_VERBS,
  typeKey,
  type ResourceType,
  type TableColumn,
} from './resource-type.js';
import { badRequest, type FieldError } from './status.js';
import type { JsonObject } from './store.js';
import { validateLabels, validateObjectMeta } from './validation.js';

function col(
  name: string,
  type: TableColumn['type'],
  description: string,
  priority = 0,
): TableColumn {
  return { name, type, description, priority };
}

const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

function validateDataKeys(data: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(data)) return errs;
  for (const k of Object.keys(data)) {
    if (k.length > 253 || !CONFIG_KEY_RE.test(k))
      errs.push({
        type: 'FieldValueInvalid',
        field: `${field}[${k}]`,
        value: k,
        detail: CONFIG_KEY_MSG,
      });
    else if (k === '.' || k === '..' || k.startsWith('..'))
      errs.push({
        type: 'FieldValueInvalid',
        field: `${field}[${k}]`,
        value: k,
        detail: `must not start with '..'`,
      });
  }
  return errs;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export const namespaceType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'namespaces',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: {
    status: { kind: 'Namespace', verbs: ['get', 'patch', 'update'] },
    finalize: { kind: 'Namespace', verbs: ['update'] },
  },
  nameRule: 'label',
  returnsDeletedObject: true,
  fieldLabels: {
    'status.phase': (o) =>
      ((o.status as JsonObject | undefined)?.phase as string | undefined) ?? '',
  },
  prepareForCreate: (obj) => {
    const meta = metadataOf(obj);
    const labels = isObject(meta.labels) ? meta.labels : {};
    if (typeof meta.name === 'string') labels['kubernetes.io/metadata.name'] = meta.name;
    meta.labels = labels;
    obj.spec = { finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
  },
  validate: (obj) => validateObjectMeta(metadataOf(obj), false, 'label'),
  prepareForUpdate: (obj, old) => {
    obj.status = old.status;
    obj.spec = old.spec;
    const meta = metadataOf(obj);
    const labels = isObject(meta.labels) ? meta.labels : {};
    labels['kubernetes.io/metadata.name'] = meta.name;
    meta.labels = labels;
  },
  table: {
    columns: [NAME_COLUMN, col('Status', 'string', 'The status of the namespace'), AGE_COLUMN],
    cells: (o, now) => [
      metadataOf(o).name,
      (o.status as JsonObject | undefined)?.phase ?? '',
      humanAge(metadataOf(o).creationTimestamp, now),
    ],
  },
};

export const serviceAccountType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'serviceaccounts',
  kind: 'ServiceAccount',
  listKind: 'ServiceAccountList',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  verbs: STANDARD_VERBS,
  subresources: {
    token: {
      kind: 'TokenRequest',
      group: 'authentication.k8s.io',
      version: 'v1',
      verbs: ['create'],
    },
  },
  nameRule: 'subdomain',
  keepsStatus: true,
  validate: (obj) => validateObjectMeta(metadataOf(obj), true, 'subdomain'),
  table: {
    columns: [NAME_COLUMN, col('Secrets', 'string', 'Number of secrets'), AGE_COLUMN],
    cells: (o, now) => [
      metadataOf(o).name,
      Array.isArray(o.secrets) ? o.secrets.length : 0,
      humanAge(metadataOf(o).creationTimestamp, now),
    ],
  },
};

export const SA_TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

export const secretType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'secrets',
  kind: 'Secret',
  listKind: 'SecretList',
  singular: 'secret',
  namespaced: true,
  verbs: STANDARD_VERBS,
  nameRule: 'subdomain',
  keepsStatus: true,
  fieldLabels: { type: (o) => (o.type as string | undefined) ?? 'Opaque' },
  prepareForCreate: (obj) => normaliseSecret(obj),
  validate: (obj) => {
    const errs = validateObjectMeta(metadataOf(obj), true, 'subdomain');
    errs.push(...validateDataKeys(obj.data, 'data'));
    if (obj.type === SA_TOKEN_SECRET_TYPE) {
      const ann = metadataOf(obj).annotations as JsonObject | undefined;
      if (!ann || typeof ann[SA_NAME_ANNOTATION] !== 'string' || ann[SA_NAME_ANNOTATION] === '')
        errs.push({
          type: 'FieldValueRequired',
          field: `metadata.annotations[${SA_NAME_ANNOTATION}]`,
        });
    }
    let size = 0;
    if (isObject(obj.data))
      for (const v of Object.values(obj.data)) size += Math.floor(((v as string).length * 3) / 4);
    if (size > 1024 * 1024)
      errs.push({
        type: 'FieldValueTooLong',
        field: 'data',
        detail: 'may not be more than 1048576 bytes',
      });
    return errs;
  },
  prepareForUpdate: (obj) => normaliseSecret(obj),
  validateUpdate: (obj, old) => {
    const errs = secretType.validate!(obj);
    if ((obj.type ?? 'Opaque') !== (old.type ?? 'Opaque'))
      errs.push({
        type: 'FieldValueInvalid',
        field: 'type',
        value: obj.type,
        detail: 'field is immutable',
      });
    if (old.immutable === true && JSON.stringify(obj.data ?? {}) !== JSON.stringify(old.data ?? {}))
      errs.push({
        type: 'FieldValueForbidden',
        field: 'data',
        detail: 'field is immutable when `immutable` is set',
      });
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Type', 'string', 'The type of the secret'),
      col('Data', 'string', 'The number of data items'),
      AGE_COLUMN,
    ],
    cells: (o, now) => [
      metadataOf(o).name,
      o.type ?? 'Opaque',
      isObject(o.data) ? Object.keys(o.data).length : 0,
      humanAge(metadataOf(o).creationTimestamp, now),
    ],
  },
};

function normaliseSecret(obj: JsonObject): void {
  if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
  if (obj.data !== undefined && obj.data !== null && !isObject(obj.data))
    throw badRequest(
      'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal into Go struct field Secret.data of type map[string][]uint8',
    );
  const data = isObject(obj.data) ? obj.data : {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string' || !BASE64_RE.test(v) || v.length % 4 === 1)
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${String(Math.max(0, typeof v === 'string' ? v.length - 1 : 0))}`,
      );
    data[k] = v;
  }
  if (isObject(obj.stringData)) {
    for (const [k, v] of Object.entries(obj.stringData))
      data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  }
  delete obj.stringData;
  if (Object.keys(data).length > 0) obj.data = data;
  else delete obj.data;
}

export const configMapType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  listKind: 'ConfigMapList',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  verbs: STANDARD_VERBS,
  nameRule: 'subdomain',
  keepsStatus: true,
  validate: (obj) => {
    const errs = validateObjectMeta(metadataOf(obj), true, 'subdomain');
    errs.push(...validateDataKeys(obj.data, 'data'));
    return errs;
  },
  table: {
    columns: [NAME_COLUMN, col('Data', 'string', 'Number of data items'), AGE_COLUMN],
    cells: (o, now) => [
      metadataOf(o).name,
      (isObject(o.data) ? Object.keys(o.data).length : 0) +
        (isObject(o.binaryData) ? Object.keys(o.binaryData).length : 0),
      humanAge(metadataOf(o).creationTimestamp, now),
    ],
  },
};

/** Quantities are checked while decoding: 400, not 422. */
function validateQuantities(map: unknown, field: string): FieldError[] {
  canonicalResourceList(map, field);
  return [];
}

/** spec.hard in canonical quantities, keys sorted, as the server stores them. */
function canonicalHard(obj: JsonObject): void {
  const spec = obj.spec as JsonObject;
  if (isObject(spec.hard))
    spec.hard = sortedResourceList(canonicalResourceList(spec.hard, 'spec.hard'));
}

function sortedResourceList(list: unknown): unknown {
  if (!isObject(list)) return list;
  const out: JsonObject = {};
  for (const k of Object.keys(list).sort()) out[k] = list[k];
  return out;
}

export const resourceQuotaType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'resourcequotas',
  kind: 'ResourceQuota',
  listKind: 'ResourceQuotaList',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  verbs: STANDARD_VERBS,
  subresources: { status: { kind: 'ResourceQuota', verbs: ['get', 'patch', 'update'] } },
  nameRule: 'subdomain',
  prepareForCreate: (obj) => {
    delete obj.status;
    if (!isObject(obj.spec)) obj.spec = {};
    canonicalHard(obj);
  },
  validate: (obj) => {
    const errs = validateObjectMeta(metadataOf(obj), true, 'subdomain');
    errs.push(...validateQuantities((obj.spec as JsonObject).hard, 'spec.hard'));
    return errs;
  },
  prepareForUpdate: (obj, old) => {
    obj.status = old.status;
    canonicalHard(obj);
  },
  validateUpdate: (obj) => resourceQuotaType.validate!(obj),
  table: {
    columns: [
      NAME_COLUMN,
      AGE_COLUMN,
      col(
        'Request',
        'string',
        'Request represents a minimum amount of cpu/memory that a container may consume.',
      ),
      col(
        'Limit',
        'string',
        'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.',
      ),
    ],
    cells: (o, now) => {
      const status = (o.status ?? {}) as JsonObject;
      const hard = (status.hard ?? {}) as JsonObject;
      const used = (status.used ?? {}) as JsonObject;
      const req: string[] = [];
      const lim: string[] = [];
      for (const k of Object.keys(hard).sort()) {
        const entry = `${k}: ${String(used[k] ?? '0')}/${String(hard[k])}`;
        if (k.startsWith('limits.')) lim.push(entry);
        else req.push(entry);
      }
      return [
        metadataOf(o).name,
        humanAge(metadataOf(o).creationTimestamp, now),
        req.join(', '),
        lim.join(', '),
      ];
    },
  },
};

export const limitRangeType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'limitranges',
  kind: 'LimitRange',
  listKind: 'LimitRangeList',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  verbs: STANDARD_VERBS,
  nameRule: 'subdomain',
  keepsStatus: true,
  prepareForCreate: (obj) => defaultLimitRange(obj),
  prepareForUpdate: (obj) => defaultLimitRange(obj),
  validate: (obj) => {
    const errs = validateObjectMeta(metadataOf(obj), true, 'subdomain');
    const limits = (obj.spec as JsonObject | undefined)?.limits;
    if (Array.isArray(limits))
      limits.forEach((l: unknown, i: number) => {
        const t = isObject(l) ? l.type : undefined;
        if (typeof t !== 'string' || t === '')
          errs.push({ type: 'FieldValueRequired', field: `spec.limits[${i}].type` });
        for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'])
          if (isObject(l)) errs.push(...validateQuantities(l[f], `spec.limits[${i}].${f}`));
      });
    return errs;
  },
  table: DEFAULT_TABLE,
};

const INVOLVED = (f: string) => (o: JsonObject) =>
  ((o.involvedObject as JsonObject | undefined)?.[f] as string | undefined) ?? '';

export const eventType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'events',
  kind: 'Event',
  listKind: 'EventList',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: STANDARD_VERBS,
  nameRule: 'subdomain',
  keepsStatus: true,
  fieldLabels: {
    'involvedObject.kind': INVOLVED('kind'),
    'involvedObject.namespace': INVOLVED('namespace'),
    'involvedObject.name': INVOLVED('name'),
    'involvedObject.uid': INVOLVED('uid'),
    'involvedObject.apiVersion': INVOLVED('apiVersion'),
    'involvedObject.resourceVersion': INVOLVED('resourceVersion'),
    'involvedObject.fieldPath': INVOLVED('fieldPath'),
    reason: (o) => (o.reason as string | undefined) ?? '',
    reportingComponent: (o) => (o.reportingComponent as string | undefined) ?? '',
    source: (o) => ((o.source as JsonObject | undefined)?.component as string | undefined) ?? '',
    type: (o) => (o.type as string | undefined) ?? '',
  },
  validate: (obj) => validateObjectMeta(metadataOf(obj), true, 'subdomain'),
  table: {
    columns: [
      col(
        'Last Seen',
        'string',
        'The time at which the most recent occurrence of this event was recorded.',
      ),
      col(
        'Type',
        'string',
        'Type of this event (Normal, Warning), new types could be added in the future',
      ),
      col(
        'Reason',
        'string',
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
      ),
      col('Object', 'string', 'The object that this event is about.'),
      col(
        'Subobject',
        'string',
        'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
        1,
      ),
      col(
        'Source',
        'string',
        'The component reporting this event. Should be a short machine understandable string.',
        1,
      ),
      col('Message', 'string', 'A human-readable description of the status of this operation.'),
      col(
        'First Seen',
        'string',
        'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
        1,
      ),
      col('Count', 'string', 'The number of times this event has occurred.', 1),
      { ...col('Name', 'string', NAME_COLUMN.description, 1), format: 'name' },
    ],
    // printers.go printEvent: new-API events (no first/last timestamps) show eventTime.
    cells: (o, now) => {
      const io = (o.involvedObject ?? {}) as JsonObject;
      const source = (o.source ?? {}) as JsonObject;
      const first = humanAge(o.firstTimestamp ?? o.eventTime, now);
      const series = o.series as JsonObject | undefined;
      const last = series
        ? humanAge(series.lastObservedTime, now)
        : o.lastTimestamp
          ? humanAge(o.lastTimestamp, now)
          : first;
      const count = series
        ? series.count
        : typeof o.count === 'number' && o.count > 0
          ? o.count
          : 1;
      const component = String(source.component || o.reportingComponent || '');
      const instance = String(source.host || o.reportingInstance || '');
      const kind = String(io.kind ?? '').toLowerCase();
      const message = String(o.message ?? '');
      return [
        last,
        o.type ?? '',
        o.reason ?? '',
        io.name ? `${kind}/${String(io.name)}` : kind,
        io.fieldPath ?? '',
        instance === '' ? component : `${component}, ${instance}`,
        message.slice(0, 200),
        first,
        count,
        metadataOf(o).name,
      ];
    },
  },
};

export const nodeType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'nodes',
  kind: 'Node',
  listKind: 'NodeList',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  verbs: ['get', 'list', 'patch', 'update', 'watch'],
  subresources: { status: { kind: 'Node', verbs: ['get', 'patch', 'update'] } },
  nameRule: 'subdomain',
  fieldLabels: {
    'spec.unschedulable': (o) => String((o.spec as JsonObject | undefined)?.unschedulable === true),
  },
  prepareForUpdate: (obj, old) => {
    obj.status = old.status;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      AGE_COLUMN,
      col('Version', 'string', 'Kubelet Version reported by the node.'),
    ],
    cells: (o, now) => [
      metadataOf(o).name,
      'Ready',
      'control-plane',
      humanAge(metadataOf(o).creationTimestamp, now),
      ((o.status as JsonObject | undefined)?.nodeInfo as JsonObject | undefined)?.kubeletVersion ??
        '',
    ],
  },
};

const RBAC = 'rbac.authorization.k8s.io';

function validateRules(rules: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (rules === undefined || rules === null) return errs;
  if (!Array.isArray(rules)) return errs;
  rules.forEach((r: unknown, i: number) => {
    const rule = isObject(r) ? r : {};
    const verbs = rule.verbs;
    if (!Array.isArray(verbs) || verbs.length === 0)
      errs.push({
        type: 'FieldValueRequired',
        field: `rules[${i}].verbs`,
        detail: 'verbs must contain at least one value',
      });
    const nonResource = Array.isArray(rule.nonResourceURLs) && rule.nonResourceURLs.length > 0;
    if (!nonResource) {
      if (!Array.isArray(rule.apiGroups) || rule.apiGroups.length === 0)
        errs.push({
          type: 'FieldValueRequired',
          field: `rules[${i}].apiGroups`,
          detail: 'resource rules must supply at least one api group',
        });
      if (!Array.isArray(rule.resources) || rule.resources.length === 0)
        errs.push({
          type: 'FieldValueRequired',
          field: `rules[${i}].resources`,
          detail: 'resource rules must supply at least one resource',
        });
    }
  });
  return errs;
}

function roleType(cluster: boolean): ResourceType {
  const kind = cluster ? 'ClusterRole' : 'Role';
  return {
    group: RBAC,
    version: 'v1',
    resource: cluster ? 'clusterroles' : 'roles',
    kind,
    listKind: `${kind}List`,
    singular: cluster ? 'clusterrole' : 'role',
    namespaced: !cluster,
    verbs: STANDARD_VERBS,
    nameRule: 'path-segment',
    keepsStatus: true,
    validate: (obj) => [
      ...validateObjectMeta(metadataOf(obj), !cluster, 'path-segment'),
      ...validateRules(obj.rules),
    ],
    table: DEFAULT_TABLE,
  };
}

function validateBinding(obj: JsonObject, cluster: boolean): FieldError[] {
  const errs = validateObjectMeta(metadataOf(obj), !cluster, 'path-segment');
  const ref = obj.roleRef;
  if (!isObject(ref)) {
    errs.push({ type: 'FieldValueRequired', field: 'roleRef' });
  } else {
    if (ref.apiGroup !== RBAC)
      errs.push({
        type: 'FieldValueNotSupported',
        field: 'roleRef.apiGroup',
        value: ref.apiGroup ?? '',
        detail: `supported values: "${RBAC}"`,
      });
    const kinds = cluster ? ['ClusterRole'] : ['Role', 'ClusterRole'];
    if (!kinds.includes(ref.kind as string))
      errs.push({
        type: 'FieldValueNotSupported',
        field: 'roleRef.kind',
        value: ref.kind ?? '',
        detail: `supported values: ${kinds.map((k) => JSON.stringify(k)).join(', ')}`,
      });
    if (typeof ref.name !== 'string' || ref.name === '')
      errs.push({ type: 'FieldValueRequired', field: 'roleRef.name' });
  }
  if (Array.isArray(obj.subjects))
    obj.subjects.forEach((s: unknown, i: number) => {
      const subject = isObject(s) ? s : {};
      if (typeof subject.name !== 'string' || subject.name === '')
        errs.push({ type: 'FieldValueRequired', field: `subjects[${i}].name` });
      if (!['ServiceAccount', 'User', 'Group'].includes(subject.kind as string))
        errs.push({
          type: 'FieldValueNotSupported',
          field: `subjects[${i}].kind`,
          value: subject.kind ?? '',
          detail: 'supported values: "ServiceAccount", "User", "Group"',
        });
      if (subject.kind === 'ServiceAccount' && cluster && !subject.namespace)
        errs.push({ type: 'FieldValueRequired', field: `subjects[${i}].namespace` });
    });
  return errs;
}

function bindingType(cluster: boolean): ResourceType {
  const kind = cluster ? 'ClusterRoleBinding' : 'RoleBinding';
  return {
    group: RBAC,
    version: 'v1',
    resource: cluster ? 'clusterrolebindings' : 'rolebindings',
    kind,
    listKind: `${kind}List`,
    singular: cluster ? 'clusterrolebinding' : 'rolebinding',
    namespaced: !cluster,
    verbs: STANDARD_VERBS,
    nameRule: 'path-segment',
    keepsStatus: true,
    prepareForCreate: (obj) => {
      if (Array.isArray(obj.subjects))
        for (const s of obj.subjects as JsonObject[])
          if (isObject(s) && s.apiGroup === undefined && (s.kind === 'User' || s.kind === 'Group'))
            s.apiGroup = RBAC;
    },
    validate: (obj) => validateBinding(obj, cluster),
    validateUpdate: (obj, old) => {
      const errs = validateBinding(obj, cluster);
      if (JSON.stringify(obj.roleRef) !== JSON.stringify(old.roleRef))
        errs.push({
          type: 'FieldValueInvalid',
          field: 'roleRef',
          value: obj.roleRef,
          detail: 'cannot change roleRef',
        });
      return errs;
    },
    table: {
      columns: [
        NAME_COLUMN,
        col('Role', 'string', 'Role that this binding refers to'),
        AGE_COLUMN,
        col('Users', 'string', 'Users in the binding', 1),
        col('Groups', 'string', 'Groups in the binding', 1),
        col('ServiceAccounts', 'string', 'ServiceAccounts in the binding', 1),
      ],
      cells: (o, now) => {
        const ref = (o.roleRef ?? {}) as JsonObject;
        const subjects = (Array.isArray(o.subjects) ? o.subjects : []) as JsonObject[];
        const of = (k: string) =>
          subjects
            .filter((s) => s.kind === k)
            .map((s) =>
              k === 'ServiceAccount'
                ? `${String(s.namespace ?? '')}/${String(s.name)}`
                : String(s.name),
            )
            .join(', ');
        return [
          metadataOf(o).name,
          `${String(ref.kind ?? '')}/${String(ref.name ?? '')}`,
          humanAge(metadataOf(o).creationTimestamp, now),
          of('User'),
          of('Group'),
          of('ServiceAccount'),
        ];
      },
    },
  };
}

export const networkPolicyType: ResourceType = {
  group: 'networking.k8s.io',
  version: 'v1',
  resource: 'networkpolicies',
  kind: 'NetworkPolicy',
  listKind: 'NetworkPolicyList',
  singular: 'networkpolicy',
  namespaced: true,
  shortNames: ['netpol'],
  verbs: STANDARD_VERBS,
  nameRule: 'subdomain',
  tracksGeneration: true,
  keepsStatus: true,
  prepareForCreate: (obj) => {
    const spec = isObject(obj.spec) ? obj.spec : {};
    obj.spec = spec;
    if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
      const types = ['Ingress'];
      if (Array.isArray(spec.egress) && spec.egress.length > 0) types.push('Egress');
      spec.policyTypes = types;
    }
    if (!isObject(spec.podSelector)) spec.podSelector = {};
  },
  validate: (obj) => {
    const errs = validateObjectMeta(metadataOf(obj), true, 'subdomain');
    const spec = (obj.spec ?? {}) as JsonObject;
    const sel = spec.podSelector as JsonObject;
    if (isObject(sel.matchLabels))
      errs.push(...validateLabels(sel.matchLabels, 'spec.podSelector.matchLabels'));
    if (Array.isArray(spec.policyTypes))
      spec.policyTypes.forEach((t: unknown, i: number) => {
        if (t !== 'Ingress' && t !== 'Egress')
          errs.push({
            type: 'FieldValueNotSupported',
            field: `spec.policyTypes[${i}]`,
            value: t,
            detail: 'supported values: "Ingress", "Egress"',
          });
      });
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Pod-Selector', 'string', 'Selects the pods to which this NetworkPolicy object applies'),
      AGE_COLUMN,
    ],
    cells: (o, now) => {
      const sel = ((o.spec as JsonObject | undefined)?.podSelector ?? {}) as JsonObject;
      const labels = isObject(sel.matchLabels) ? sel.matchLabels : {};
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',');
      return [
        metadataOf(o).name,
        text === '' ? '<none>' : text,
        humanAge(metadataOf(o).creationTimestamp, now),
      ];
    },
  },
};

function reviewType(
  group: string,
  resource: string,
  kind: string,
  namespaced = false,
): ResourceType {
  return {
    group,
    version: 'v1',
    resource,
    kind,
    listKind: `${kind}List`,
    singular: resource.replace(/s$/, ''),
    namespaced,
    verbs: ['create'],
    nameRule: 'subdomain',
    virtual: true,
  };
}

export const roleTypes = {
  role: roleType(false),
  clusterRole: roleType(true),
  roleBinding: bindingType(false),
  clusterRoleBinding: bindingType(true),
};

export const selfSubjectAccessReviewType = reviewType(
  'authorization.k8s.io',
  'selfsubjectaccessreviews',
  'SelfSubjectAccessReview',
);
export const selfSubjectRulesReviewType = reviewType(
  'authorization.k8s.io',
  'selfsubjectrulesreviews',
  'SelfSubjectRulesReview',
);
export const subjectAccessReviewType = reviewType(
  'authorization.k8s.io',
  'subjectaccessreviews',
  'SubjectAccessReview',
);
export const localSubjectAccessReviewType = reviewType(
  'authorization.k8s.io',
  'localsubjectaccessreviews',
  'LocalSubjectAccessReview',
  true,
);
export const tokenReviewType = reviewType('authentication.k8s.io', 'tokenreviews', 'TokenReview');
export const selfSubjectReviewType = reviewType(
  'authentication.k8s.io',
  'selfsubjectreviews',
  'SelfSubjectReview',
);

/** Every served type, in discovery order. */
export const ALL_TYPES: readonly ResourceType[] = [
  namespaceType,
  podResourceType,
  serviceAccountType,
  secretType,
  configMapType,
  resourceQuotaType,
  limitRangeType,
  eventType,
  nodeType,
  roleTypes.clusterRoleBinding,
  roleTypes.clusterRole,
  roleTypes.roleBinding,
  roleTypes.role,
  networkPolicyType,
  leaseType,
  selfSubjectAccessReviewType,
  selfSubjectRulesReviewType,
  subjectAccessReviewType,
  localSubjectAccessReviewType,
  tokenReviewType,
  selfSubjectReviewType,
];

const BY_KEY = new Map(ALL_TYPES.map((t) => [typeKey(t.group, t.resource), t]));

/** The type served at group/resource (version is checked by the router). */
export function findType(group: string, resource: string): ResourceType | undefined {
  return BY_KEY.get(typeKey(group, resource));
}

/** Group versions the emulator serves, for discovery (the core group first). */
export function servedGroups(): { group: string; version: string; types: ResourceType[] }[] {
  const groups = new Map<string, ResourceType[]>();
  for (const t of ALL_TYPES) {
    const list = groups.get(t.group) ?? [];
    list.push(t);
    groups.set(t.group, list);
  }
  return [...groups.entries()].map(([group, types]) => ({ group, version: 'v1', types }));
}
