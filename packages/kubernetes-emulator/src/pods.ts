/**
 * The Pod strategy: defaults (SetDefaults_Pod plus the ServiceAccount, DefaultTolerationSeconds
 * and Priority admission plugins), validation with upstream field paths and messages, field
 * labels and the server-side table kubectl prints.
 */
import { isObject } from './json.js';
import {
  canonicalResourceList,
  compareQuantities,
  formatQuantity,
  resourceListOf,
  type Quantity,
} from './quantity.js';
import { NAME_SUFFIX_ALPHABET } from './random.js';
import {
  AGE_COLUMN,
  humanAge,
  metadataOf,
  NAME_COLUMN,
  type ResourceType,
  type StrategyContext,
} from './resource-type.js';
import { badRequest, type FieldError } from './status.js';
import type { JsonObject } from './store.js';
import { isDns1123Label, validateLabels, validateObjectMeta } from './validation.js';

export const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

const SPEC_ORDER = [
  'volumes',
  'initContainers',
  'containers',
  'ephemeralContainers',
  'restartPolicy',
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'dnsPolicy',
  'nodeSelector',
  'serviceAccountName',
  'serviceAccount',
  'automountServiceAccountToken',
  'nodeName',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'shareProcessNamespace',
  'securityContext',
  'imagePullSecrets',
  'hostname',
  'subdomain',
  'affinity',
  'schedulerName',
  'tolerations',
  'hostAliases',
  'priorityClassName',
  'priority',
  'dnsConfig',
  'readinessGates',
  'runtimeClassName',
  'enableServiceLinks',
  'preemptionPolicy',
  'overhead',
  'topologySpreadConstraints',
  'setHostnameAsFQDN',
  'os',
  'hostUsers',
  'schedulingGates',
  'resourceClaims',
  'resources',
];

const CONTAINER_ORDER = [
  'name',
  'image',
  'command',
  'args',
  'workingDir',
  'ports',
  'envFrom',
  'env',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'volumeMounts',
  'volumeDevices',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'imagePullPolicy',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
];

export const METADATA_ORDER = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

/** A copy of `obj` with keys in `order` first (Go struct order), the rest after. */
export function ordered(obj: JsonObject, order: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of order) if (obj[k] !== undefined) out[k] = obj[k];
  for (const k of Object.keys(obj))
    if (out[k] === undefined && obj[k] !== undefined) out[k] = obj[k];
  return out;
}

const DEFAULT_TOLERATIONS = [
  {
    key: 'node.kubernetes.io/not-ready',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
  {
    key: 'node.kubernetes.io/unreachable',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
];

function decodeError(field: string, goType: string, got: unknown): never {
  const jsType = Array.isArray(got) ? 'array' : got === null ? 'null' : typeof got;
  throw badRequest(
    `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal ${jsType} into Go struct field ${field} of type ${goType}`,
  );
}

/** Shape checks that the real server does while decoding JSON into Go structs (400, not 422). */
function checkPodShape(pod: JsonObject): void {
  if (pod.spec !== undefined && !isObject(pod.spec))
    decodeError('Pod.spec', 'v1.PodSpec', pod.spec);
  const spec = (pod.spec ?? {}) as JsonObject;
  for (const key of ['containers', 'initContainers'] as const) {
    const list = spec[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) decodeError(`PodSpec.spec.${key}`, '[]v1.Container', list);
    for (const c of list) {
      if (!isObject(c)) decodeError(`PodSpec.spec.${key}`, 'v1.Container', c);
      for (const f of ['name', 'image', 'imagePullPolicy'])
        if (c[f] !== undefined && typeof c[f] !== 'string')
          decodeError(`Container.spec.${key}.${f}`, 'string', c[f]);
      if (c.env !== undefined && c.env !== null && !Array.isArray(c.env))
        decodeError(`Container.spec.${key}.env`, '[]v1.EnvVar', c.env);
    }
  }
  for (const f of ['restartPolicy', 'serviceAccountName', 'nodeName', 'dnsPolicy'])
    if (spec[f] !== undefined && spec[f] !== null && typeof spec[f] !== 'string')
      decodeError(`PodSpec.spec.${f}`, 'string', spec[f]);
  for (const f of ['activeDeadlineSeconds', 'terminationGracePeriodSeconds'])
    if (spec[f] !== undefined && spec[f] !== null && !Number.isInteger(spec[f]))
      decodeError(`PodSpec.spec.${f}`, 'int64', spec[f]);
  const meta = pod.metadata;
  if (meta !== undefined && !isObject(meta)) decodeError('Pod.metadata', 'v1.ObjectMeta', meta);
  for (const f of ['labels', 'annotations']) {
    const m = (meta as JsonObject | undefined)?.[f];
    if (m === undefined || m === null) continue;
    if (!isObject(m)) decodeError(`ObjectMeta.metadata.${f}`, 'map[string]string', m);
    for (const v of Object.values(m))
      if (typeof v !== 'string') decodeError(`ObjectMeta.metadata.${f}`, 'string', v);
  }
}

/** Always for `:latest` or untagged references, IfNotPresent otherwise (upstream SetDefaults_Container). */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return 'Always';
  return image.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

/** A ResourceList in canonical quantities with sorted keys (Go map order), as stored. */
function canonicalList(list: unknown, field: string): JsonObject {
  const canonical = canonicalResourceList(list, field) as JsonObject;
  const out: JsonObject = {};
  for (const k of Object.keys(canonical).sort()) out[k] = canonical[k];
  return out;
}

function defaultContainer(c: JsonObject, saVolume: string | undefined, path: string): JsonObject {
  if (c.resources === undefined || c.resources === null) c.resources = {};
  const res = c.resources as JsonObject;
  for (const key of ['limits', 'requests'])
    if (isObject(res[key])) res[key] = canonicalList(res[key], `${path}.resources.${key}`);
  if (isObject(res.limits)) {
    const requests = isObject(res.requests) ? res.requests : {};
    for (const [k, v] of Object.entries(res.limits)) if (requests[k] === undefined) requests[k] = v;
    res.requests = canonicalList(requests, `${path}.resources.requests`);
  }
  c.resources = ordered(res, ['limits', 'requests', 'claims']);
  if (Array.isArray(c.ports))
    for (const p of c.ports) if (isObject(p) && p.protocol === undefined) p.protocol = 'TCP';
  if (Array.isArray(c.env))
    for (const e of c.env) {
      const fieldRef = isObject(e) && isObject(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
      if (isObject(fieldRef) && fieldRef.apiVersion === undefined) fieldRef.apiVersion = 'v1';
    }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const p = c[probe];
    if (!isObject(p)) continue;
    p.timeoutSeconds ??= 1;
    p.periodSeconds ??= 10;
    p.successThreshold ??= 1;
    p.failureThreshold ??= 3;
  }
  if (saVolume !== undefined) {
    const mounts = Array.isArray(c.volumeMounts) ? (c.volumeMounts as JsonObject[]) : [];
    if (!mounts.some((m) => isObject(m) && m.mountPath === SA_MOUNT_PATH))
      mounts.push({ name: saVolume, readOnly: true, mountPath: SA_MOUNT_PATH });
    c.volumeMounts = mounts;
  }
  if (c.terminationMessagePath === undefined || c.terminationMessagePath === '')
    c.terminationMessagePath = '/dev/termination-log';
  if (c.terminationMessagePolicy === undefined || c.terminationMessagePolicy === '')
    c.terminationMessagePolicy = 'File';
  if ((c.imagePullPolicy === undefined || c.imagePullPolicy === '') && typeof c.image === 'string')
    c.imagePullPolicy = defaultPullPolicy(c.image);
  return ordered(c, CONTAINER_ORDER);
}

function hasResources(
  c: JsonObject,
  which: 'requests' | 'limits',
): { cpu: boolean; memory: boolean } {
  const r = isObject(c.resources) ? c.resources[which] : undefined;
  return {
    cpu: isObject(r) && r.cpu !== undefined,
    memory: isObject(r) && r.memory !== undefined,
  };
}

/** QoS class from requests and limits (after defaulting requests from limits). */
export function qosClass(spec: JsonObject): string {
  const all = [
    ...((spec.initContainers as JsonObject[] | undefined) ?? []),
    ...((spec.containers as JsonObject[] | undefined) ?? []),
  ].filter(isObject);
  let any = false;
  let guaranteed = all.length > 0;
  for (const c of all) {
    const req = hasResources(c, 'requests');
    const lim = hasResources(c, 'limits');
    if (req.cpu || req.memory || lim.cpu || lim.memory) any = true;
    if (!lim.cpu || !lim.memory) guaranteed = false;
    else {
      const r = (c.resources as JsonObject).requests as JsonObject;
      const l = (c.resources as JsonObject).limits as JsonObject;
      if (String(r.cpu) !== String(l.cpu) || String(r.memory) !== String(l.memory))
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Applies create-time defaults and admission mutations in place; returns the final object. */
export function preparePodForCreate(pod: JsonObject, ctx: StrategyContext): JsonObject {
  checkPodShape(pod);
  const spec: JsonObject = isObject(pod.spec) ? pod.spec : {};
  const sa =
    (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName) ||
    (typeof spec.serviceAccount === 'string' && spec.serviceAccount) ||
    'default';
  spec.serviceAccountName = sa;
  spec.serviceAccount = sa;
  const restart = spec.restartPolicy;
  if (restart === undefined || restart === null || restart === '') spec.restartPolicy = 'Always';
  const grace = spec.terminationGracePeriodSeconds;
  if (grace === undefined || grace === null) spec.terminationGracePeriodSeconds = 30;
  else if (typeof grace === 'number' && grace < 0) spec.terminationGracePeriodSeconds = 1;
  if (spec.dnsPolicy === undefined || spec.dnsPolicy === '') spec.dnsPolicy = 'ClusterFirst';
  if (!isObject(spec.securityContext)) spec.securityContext = {};
  if (spec.schedulerName === undefined || spec.schedulerName === '')
    spec.schedulerName = 'default-scheduler';
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null)
    spec.enableServiceLinks = true;
  if (spec.priority === undefined) spec.priority = 0;
  if (spec.preemptionPolicy === undefined) spec.preemptionPolicy = 'PreemptLowerPriority';
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as JsonObject[]) : [];
  for (const t of DEFAULT_TOLERATIONS)
    if (
      !tolerations.some(
        (x) => isObject(x) && x.key === t.key && (x.effect === t.effect || !x.effect),
      )
    )
      tolerations.push({ ...t });
  spec.tolerations = tolerations;

  // ServiceAccount admission: the projected token volume, unless automount is off.
  let saVolume: string | undefined;
  const containers = Array.isArray(spec.containers) ? (spec.containers as JsonObject[]) : [];
  const initContainers = Array.isArray(spec.initContainers)
    ? (spec.initContainers as JsonObject[])
    : undefined;
  const mountsSaPath = [...containers, ...(initContainers ?? [])].some(
    (c) =>
      isObject(c) &&
      Array.isArray(c.volumeMounts) &&
      (c.volumeMounts as JsonObject[]).some((m) => isObject(m) && m.mountPath === SA_MOUNT_PATH),
  );
  if (spec.automountServiceAccountToken !== false && !mountsSaPath) {
    saVolume = `kube-api-access-${ctx.random.chars(NAME_SUFFIX_ALPHABET, 5)}`;
    const volumes = Array.isArray(spec.volumes) ? (spec.volumes as JsonObject[]) : [];
    volumes.push({
      name: saVolume,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          {
            configMap: {
              name: 'kube-root-ca.crt',
              items: [{ key: 'ca.crt', path: 'ca.crt' }],
            },
          },
          {
            downwardAPI: {
              items: [
                {
                  path: 'namespace',
                  fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                },
              ],
            },
          },
        ],
        defaultMode: 420,
      },
    });
    spec.volumes = volumes;
  }
  spec.containers = containers.map((c, i) =>
    isObject(c) ? defaultContainer(c, saVolume, `spec.containers[${i}]`) : c,
  );
  if (initContainers)
    spec.initContainers = initContainers.map((c, i) =>
      isObject(c) ? defaultContainer(c, saVolume, `spec.initContainers[${i}]`) : c,
    );

  const meta = metadataOf(pod);
  return {
    metadata: meta,
    spec: ordered(spec, SPEC_ORDER),
    status: { phase: 'Pending', qosClass: qosClass(spec) },
  };
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];

function notSupported(field: string, value: unknown, supported: string[]): FieldError {
  return {
    type: 'FieldValueNotSupported',
    field,
    value,
    detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

function validateContainers(
  list: unknown,
  path: string,
  names: Set<string>,
  volumes: Set<string>,
  required: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  if (!Array.isArray(list) || list.length === 0) {
    if (required) errs.push({ type: 'FieldValueRequired', field: path });
    return errs;
  }
  list.forEach((raw, i) => {
    // A null element decodes to an empty Container on a real API server: every required
    // field of it is then reported missing.
    const c = (isObject(raw) ? raw : {}) as JsonObject;
    const p = `${path}[${i}]`;
    const name = typeof c.name === 'string' ? c.name : '';
    if (name === '') errs.push({ type: 'FieldValueRequired', field: `${p}.name` });
    else {
      for (const m of isDns1123Label(name))
        errs.push({ type: 'FieldValueInvalid', field: `${p}.name`, value: name, detail: m });
      if (names.has(name))
        errs.push({ type: 'FieldValueDuplicate', field: `${p}.name`, value: name });
      names.add(name);
    }
    const image = typeof c.image === 'string' ? c.image : '';
    if (image === '') errs.push({ type: 'FieldValueRequired', field: `${p}.image` });
    else if (image.trim() !== image)
      errs.push({
        type: 'FieldValueInvalid',
        field: `${p}.image`,
        value: image,
        detail: 'must not have leading or trailing whitespace',
      });
    if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy as string))
      errs.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
    if (
      c.terminationMessagePolicy !== undefined &&
      !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy as string)
    )
      errs.push(
        notSupported(
          `${p}.terminationMessagePolicy`,
          c.terminationMessagePolicy,
          TERMINATION_MESSAGE_POLICIES,
        ),
      );
    if (Array.isArray(c.ports))
      c.ports.forEach((port: unknown, j: number) => {
        const cp = isObject(port) ? port.containerPort : undefined;
        if (typeof cp !== 'number' || cp < 1 || cp > 65535)
          errs.push({
            type: cp === undefined ? 'FieldValueRequired' : 'FieldValueInvalid',
            field: `${p}.ports[${j}].containerPort`,
            value: cp,
            detail: cp === undefined ? undefined : 'must be between 1 and 65535, inclusive',
          });
      });
    errs.push(...validateResources(c.resources, `${p}.resources`));
    if (Array.isArray(c.env))
      c.env.forEach((e: unknown, j: number) => {
        const n = isObject(e) ? e.name : undefined;
        if (typeof n !== 'string' || n === '')
          errs.push({ type: 'FieldValueRequired', field: `${p}.env[${j}].name` });
      });
    if (Array.isArray(c.volumeMounts))
      c.volumeMounts.forEach((m: unknown, j: number) => {
        const mount = isObject(m) ? m : {};
        const n = typeof mount.name === 'string' ? mount.name : '';
        if (n === '')
          errs.push({ type: 'FieldValueRequired', field: `${p}.volumeMounts[${j}].name` });
        else if (!volumes.has(n))
          errs.push({
            type: 'FieldValueNotFound',
            field: `${p}.volumeMounts[${j}].name`,
            value: n,
          });
        if (typeof mount.mountPath !== 'string' || mount.mountPath === '')
          errs.push({ type: 'FieldValueRequired', field: `${p}.volumeMounts[${j}].mountPath` });
      });
  });
  return errs;
}

/** ValidateResourceRequirements: no negative quantity; each request at most its limit. */
function validateResources(resources: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(resources)) return errs;
  const limits = resourceListOf(resources.limits);
  const requests = resourceListOf(resources.requests);
  for (const [key, list] of [
    ['limits', limits],
    ['requests', requests],
  ] as const)
    for (const name of [...list.keys()].sort()) {
      const q = list.get(name) as Quantity;
      if (q.nanos < 0n)
        errs.push({
          type: 'FieldValueInvalid',
          field: `${path}.${key}[${name}]`,
          value: formatQuantity(q),
          detail: 'must be greater than or equal to 0',
        });
    }
  for (const name of [...requests.keys()].sort()) {
    const request = requests.get(name) as Quantity;
    const limit = limits.get(name);
    if (limit !== undefined && compareQuantities(request, limit) > 0)
      errs.push({
        type: 'FieldValueInvalid',
        field: `${path}.requests`,
        value: formatQuantity(request),
        detail: `must be less than or equal to ${name} limit of ${formatQuantity(limit)}`,
      });
  }
  return errs;
}

/** ValidatePodCreate, the parts clients run into. */
export function validatePod(pod: JsonObject): FieldError[] {
  const errs = validateObjectMeta(metadataOf(pod), true, 'subdomain');
  const spec = (pod.spec ?? {}) as JsonObject;
  const volumes = new Set<string>();
  if (Array.isArray(spec.volumes))
    spec.volumes.forEach((v: unknown, i: number) => {
      const n = isObject(v) && typeof v.name === 'string' ? v.name : '';
      const field = `spec.volumes[${i}].name`;
      if (n === '') errs.push({ type: 'FieldValueRequired', field });
      else {
        for (const m of isDns1123Label(n))
          errs.push({ type: 'FieldValueInvalid', field, value: n, detail: m });
        if (volumes.has(n)) errs.push({ type: 'FieldValueDuplicate', field, value: n });
        volumes.add(n);
      }
    });
  const names = new Set<string>();
  errs.push(
    ...validateContainers(spec.initContainers, 'spec.initContainers', names, volumes, false),
  );
  errs.push(...validateContainers(spec.containers, 'spec.containers', names, volumes, true));
  if (!RESTART_POLICIES.includes(spec.restartPolicy as string))
    errs.push(notSupported('spec.restartPolicy', spec.restartPolicy, RESTART_POLICIES));
  if (!DNS_POLICIES.includes(spec.dnsPolicy as string))
    errs.push(notSupported('spec.dnsPolicy', spec.dnsPolicy, DNS_POLICIES));
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null && (typeof ads !== 'number' || ads < 1 || ads > 2147483647))
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.activeDeadlineSeconds',
      value: ads,
      detail: 'must be between 1 and 2147483647, inclusive',
    });
  if (spec.nodeSelector !== undefined)
    errs.push(...validateLabels(spec.nodeSelector, 'spec.nodeSelector'));
  if (Array.isArray(spec.tolerations))
    spec.tolerations.forEach((t: unknown, i: number) => {
      const op = isObject(t) ? t.operator : undefined;
      if (op !== undefined && op !== 'Exists' && op !== 'Equal')
        errs.push(notSupported(`spec.tolerations[${i}].operator`, op, ['Equal', 'Exists']));
    });
  return errs;
}

const MUTABLE_SPEC_MESSAGE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** ValidatePodUpdate: the spec is immutable except images, the deadline and added tolerations. */
export function validatePodUpdate(pod: JsonObject, old: JsonObject): FieldError[] {
  const errs = validatePod(pod);
  const a = structuredClone((pod.spec ?? {}) as JsonObject);
  const b = structuredClone((old.spec ?? {}) as JsonObject);
  for (const s of [a, b]) {
    for (const key of ['containers', 'initContainers'])
      if (Array.isArray(s[key]))
        for (const c of s[key] as JsonObject[]) if (isObject(c)) delete c.image;
    delete s.activeDeadlineSeconds;
    delete s.tolerations;
  }
  if (JSON.stringify(ordered(a, SPEC_ORDER)) !== JSON.stringify(ordered(b, SPEC_ORDER)))
    errs.push({ type: 'FieldValueForbidden', field: 'spec', detail: MUTABLE_SPEC_MESSAGE });
  const oldAds = (old.spec as JsonObject | undefined)?.activeDeadlineSeconds;
  const newAds = (pod.spec as JsonObject | undefined)?.activeDeadlineSeconds;
  if (typeof oldAds === 'number' && (typeof newAds !== 'number' || newAds > oldAds))
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.activeDeadlineSeconds',
      value: newAds ?? null,
      detail: 'must be less than or equal to previous value',
    });
  return errs;
}

/** The STATUS column of `kubectl get pods` (printers.go printPod). */
export function podDisplayStatus(pod: JsonObject): {
  reason: string;
  ready: number;
  total: number;
  restarts: number;
} {
  const status = (pod.status ?? {}) as JsonObject;
  const spec = (pod.spec ?? {}) as JsonObject;
  let reason =
    (status.reason as string | undefined) || (status.phase as string | undefined) || 'Unknown';
  const containers = (spec.containers as JsonObject[] | undefined) ?? [];
  const statuses = (status.containerStatuses as JsonObject[] | undefined) ?? [];
  let ready = 0;
  let restarts = 0;
  let hasRunning = false;
  for (let i = statuses.length - 1; i >= 0; i--) {
    const cs = statuses[i] as JsonObject;
    restarts += (cs.restartCount as number | undefined) ?? 0;
    const state = (cs.state ?? {}) as JsonObject;
    const waiting = state.waiting as JsonObject | undefined;
    const terminated = state.terminated as JsonObject | undefined;
    if (waiting && typeof waiting.reason === 'string' && waiting.reason !== '')
      reason = waiting.reason;
    else if (terminated && typeof terminated.reason === 'string' && terminated.reason !== '')
      reason = terminated.reason;
    else if (terminated)
      reason =
        terminated.signal !== undefined
          ? `Signal:${String(terminated.signal)}`
          : `ExitCode:${String(terminated.exitCode)}`;
    else if (state.running && cs.ready === true) {
      hasRunning = true;
      ready++;
    }
  }
  if (reason === 'Completed' && hasRunning) reason = 'Running';
  const meta = (pod.metadata ?? {}) as JsonObject;
  if (meta.deletionTimestamp !== undefined && status.reason === 'NodeLost') reason = 'Unknown';
  else if (meta.deletionTimestamp !== undefined) reason = 'Terminating';
  return { reason, ready, total: containers.length, restarts };
}

export const podResourceType: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'pods',
  kind: 'Pod',
  listKind: 'PodList',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: {
    status: { kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    log: { kind: 'Pod', verbs: ['get'] },
    // Served as kube-apiserver answers them without a reachable kubelet (pod-connect.ts).
    exec: { kind: 'PodExecOptions', verbs: ['create', 'get'] },
    attach: { kind: 'PodAttachOptions', verbs: ['create', 'get'] },
    portforward: { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  },
  nameRule: 'subdomain',
  returnsDeletedObject: true,
  fieldLabels: {
    'spec.nodeName': (o) =>
      ((o.spec as JsonObject | undefined)?.nodeName as string | undefined) ?? '',
    'spec.restartPolicy': (o) =>
      (o.spec as JsonObject | undefined)?.restartPolicy as string | undefined,
    'spec.schedulerName': (o) =>
      (o.spec as JsonObject | undefined)?.schedulerName as string | undefined,
    'spec.serviceAccountName': (o) =>
      (o.spec as JsonObject | undefined)?.serviceAccountName as string | undefined,
    'spec.hostNetwork': (o) => String((o.spec as JsonObject | undefined)?.hostNetwork === true),
    'status.phase': (o) =>
      ((o.status as JsonObject | undefined)?.phase as string | undefined) ?? '',
    'status.podIP': (o) =>
      ((o.status as JsonObject | undefined)?.podIP as string | undefined) ?? '',
    'status.podIPs': (o) => {
      const ips = (o.status as JsonObject | undefined)?.podIPs as JsonObject[] | undefined;
      return ips ? ips.map((x) => String(x.ip)).join(',') : '';
    },
    'status.nominatedNodeName': (o) =>
      ((o.status as JsonObject | undefined)?.nominatedNodeName as string | undefined) ?? '',
  },
  prepareForCreate: (obj, ctx) => {
    const prepared = preparePodForCreate(obj, ctx);
    for (const k of Object.keys(obj)) delete obj[k];
    Object.assign(obj, prepared);
  },
  validate: validatePod,
  prepareForUpdate: (obj, old) => {
    // The main resource cannot change status; the status subresource cannot change spec.
    obj.status = old.status;
  },
  validateUpdate: validatePodUpdate,
  table: {
    columns: [
      NAME_COLUMN,
      {
        name: 'Ready',
        type: 'string',
        description: 'The aggregate readiness state of this pod for accepting traffic.',
        priority: 0,
      },
      {
        name: 'Status',
        type: 'string',
        description: 'The aggregate status of the containers in this pod.',
        priority: 0,
      },
      {
        name: 'Restarts',
        type: 'string',
        description:
          'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
        priority: 0,
      },
      AGE_COLUMN,
      {
        name: 'IP',
        type: 'string',
        description: 'The IP address assigned to the pod',
        priority: 1,
      },
      {
        name: 'Node',
        type: 'string',
        description: 'The node that the pod is assigned to',
        priority: 1,
      },
      {
        name: 'Nominated Node',
        type: 'string',
        description: 'The node that the pod is nominated to run on',
        priority: 1,
      },
      {
        name: 'Readiness Gates',
        type: 'string',
        description: 'The readiness gates of the pod',
        priority: 1,
      },
    ],
    cells: (pod, now) => {
      const s = podDisplayStatus(pod);
      const status = (pod.status ?? {}) as JsonObject;
      const spec = (pod.spec ?? {}) as JsonObject;
      return [
        (pod.metadata as JsonObject).name,
        `${s.ready}/${s.total}`,
        s.reason,
        String(s.restarts),
        humanAge((pod.metadata as JsonObject).creationTimestamp, now),
        (status.podIP as string | undefined) ?? '<none>',
        (spec.nodeName as string | undefined) ?? '<none>',
        (status.nominatedNodeName as string | undefined) ?? '<none>',
        '<none>',
      ];
    },
  },
};
