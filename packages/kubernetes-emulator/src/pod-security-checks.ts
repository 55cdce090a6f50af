/**
 * The checks of the Pod Security Standards as kube-apiserver 1.32 evaluates them
 * (k8s.io/pod-security-admission v0.32, policy/check_*.go): the same IDs, levels, policy
 * versions, overrides, reasons and details, so the 403 and the warnings read as a real
 * server's. Each check looks at the pod's metadata and spec (after mutating admission).
 */
import { isObject } from './json.js';
import type { JsonObject } from './store.js';

export type Level = 'privileged' | 'baseline' | 'restricted';

/** A failed check: `reason` always, `detail` (the parenthesised part) when there is one. */
export interface Violation {
  reason: string;
  detail: string;
}

type CheckFn = (meta: JsonObject, spec: JsonObject) => Violation | undefined;

interface VersionedCheck {
  /** The first policy version (1.<minor>) this variant applies to. */
  minor: number;
  check: CheckFn;
  /** Baseline checks this restricted check replaces at the restricted level. */
  overrides?: string[];
}

export interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  versions: VersionedCheck[];
}

// ---- helpers (policy/helpers.go, visitor.go) ----------------------------------------------

/** `"a", "b"` */
function joinQuote(items: readonly string[]): string {
  return items.length === 0 ? '' : `"${items.join('", "')}"`;
}

function plural(singular: string, pluralForm: string, n: number): string {
  return n === 1 ? singular : pluralForm;
}

function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Init containers, containers, ephemeral containers, in that order. */
function containers(spec: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  for (const key of ['initContainers', 'containers', 'ephemeralContainers'])
    if (Array.isArray(spec[key])) out.push(...(spec[key] as unknown[]).filter(isObject));
  return out;
}

function nameOf(c: JsonObject): string {
  return typeof c.name === 'string' ? c.name : '';
}

function securityContext(o: JsonObject): JsonObject | undefined {
  return isObject(o.securityContext) ? o.securityContext : undefined;
}

/** `container "a"` / `containers "a", "b"` */
function containersPhrase(names: readonly string[]): string {
  return `${plural('container', 'containers', names.length)} ${joinQuote(names)}`;
}

function isWindows(spec: JsonObject): boolean {
  return isObject(spec.os) && spec.os.name === 'windows';
}

function windowsExempt(check: CheckFn): CheckFn {
  return (meta, spec) => (isWindows(spec) ? undefined : check(meta, spec));
}

// ---- baseline ---------------------------------------------------------------------------

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

const appArmorProfile: CheckFn = (meta, spec) => {
  const allowedType = (t: unknown): boolean => t === 'RuntimeDefault' || t === 'Localhost';
  const setters: string[] = [];
  const values: string[] = [];
  const podProfile = securityContext(spec)?.appArmorProfile;
  if (isObject(podProfile) && !allowedType(podProfile.type)) {
    setters.push('pod');
    values.push(String(podProfile.type ?? ''));
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const p = securityContext(c)?.appArmorProfile;
    if (isObject(p) && !allowedType(p.type)) {
      bad.push(nameOf(c));
      values.push(String(p.type ?? ''));
    }
  }
  if (bad.length > 0) setters.push(containersPhrase(bad));
  const annotations = isObject(meta.annotations) ? meta.annotations : {};
  const forbidden = Object.entries(annotations)
    .filter(
      ([k, v]) =>
        k.startsWith(APPARMOR_ANNOTATION_PREFIX) &&
        !(v === '' || v === 'runtime/default' || String(v).startsWith('localhost/')),
    )
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .sort();
  const list = [...sortedSet(values), ...forbidden];
  if (forbidden.length > 0) setters.push(plural('annotation', 'annotations', forbidden.length));
  if (setters.length === 0) return undefined;
  return {
    reason: plural('forbidden AppArmor profile', 'forbidden AppArmor profiles', list.length),
    detail: `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(list)}`,
  };
};

const DEFAULT_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

function addedCapabilities(c: JsonObject): string[] {
  const caps = securityContext(c)?.capabilities;
  return isObject(caps) && Array.isArray(caps.add) ? caps.add.map(String) : [];
}

const capabilitiesBaseline: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const caps: string[] = [];
  for (const c of containers(spec)) {
    const extra = addedCapabilities(c).filter((cap) => !DEFAULT_CAPABILITIES.has(cap));
    if (extra.length > 0) {
      bad.push(nameOf(c));
      caps.push(...extra);
    }
  }
  if (bad.length === 0) return undefined;
  return {
    reason: 'non-default capabilities',
    detail: `${containersPhrase(bad)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`,
  };
};

const hostNamespaces: CheckFn = (_meta, spec) => {
  const used = (['hostNetwork', 'hostPID', 'hostIPC'] as const)
    .filter((k) => spec[k] === true)
    .map((k) => `${k}=true`);
  return used.length === 0 ? undefined : { reason: 'host namespaces', detail: used.join(', ') };
};

function volumes(spec: JsonObject): JsonObject[] {
  return Array.isArray(spec.volumes) ? (spec.volumes as unknown[]).filter(isObject) : [];
}

const hostPathVolumes: CheckFn = (_meta, spec) => {
  const bad = volumes(spec)
    .filter((v) => isObject(v.hostPath))
    .map((v) => String(v.name ?? ''));
  if (bad.length === 0) return undefined;
  return {
    reason: 'hostPath volumes',
    detail: `${plural('volume', 'volumes', bad.length)} ${joinQuote(bad)}`,
  };
};

const hostPorts: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const ports: string[] = [];
  for (const c of containers(spec)) {
    const used = (Array.isArray(c.ports) ? c.ports : [])
      .filter(isObject)
      .map((p) => p.hostPort)
      .filter((p) => typeof p === 'number' && p !== 0);
    if (used.length > 0) {
      bad.push(nameOf(c));
      ports.push(...used.map(String));
    }
  }
  if (bad.length === 0) return undefined;
  const unique = sortedSet(ports);
  return {
    reason: 'hostPort',
    detail: `${containersPhrase(bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', unique.length)} ${unique.join(', ')}`,
  };
};

const privileged: CheckFn = (_meta, spec) => {
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.privileged === true)
    .map(nameOf);
  if (bad.length === 0) return undefined;
  return {
    reason: 'privileged',
    detail: `${containersPhrase(bad)} must not set securityContext.privileged=true`,
  };
};

const procMount: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const c of containers(spec)) {
    const pm = securityContext(c)?.procMount;
    if (pm !== undefined && pm !== null && pm !== 'Default') {
      bad.push(nameOf(c));
      types.push(String(pm));
    }
  }
  if (bad.length === 0) return undefined;
  return {
    reason: 'procMount',
    detail: `${containersPhrase(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`,
  };
};

function seLinuxOptions(allowedTypes: ReadonlySet<string>): CheckFn {
  return (_meta, spec) => {
    const badTypes: string[] = [];
    let setUser = false;
    let setRole = false;
    const valid = (o: JsonObject): boolean => {
      let ok = true;
      const type = typeof o.type === 'string' ? o.type : '';
      if (!allowedTypes.has(type)) {
        ok = false;
        badTypes.push(type);
      }
      if (typeof o.user === 'string' && o.user !== '') {
        ok = false;
        setUser = true;
      }
      if (typeof o.role === 'string' && o.role !== '') {
        ok = false;
        setRole = true;
      }
      return ok;
    };
    const setters: string[] = [];
    const podOpts = securityContext(spec)?.seLinuxOptions;
    if (isObject(podOpts) && !valid(podOpts)) setters.push('pod');
    const bad = containers(spec)
      .filter((c) => {
        const o = securityContext(c)?.seLinuxOptions;
        return isObject(o) && !valid(o);
      })
      .map(nameOf);
    if (bad.length > 0) setters.push(containersPhrase(bad));
    if (setters.length === 0) return undefined;
    const data: string[] = [];
    const types = sortedSet(badTypes);
    if (types.length > 0) data.push(`${plural('type', 'types', types.length)} ${joinQuote(types)}`);
    if (setUser) data.push('user may not be set');
    if (setRole) data.push('role may not be set');
    return {
      reason: 'seLinuxOptions',
      detail: `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`,
    };
  };
}

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';

const seccompBaselineAnnotations: CheckFn = (meta, spec) => {
  const annotations = isObject(meta.annotations) ? meta.annotations : {};
  const validValue = (v: unknown): boolean =>
    v === 'runtime/default' || v === 'docker/default' || String(v).startsWith('localhost/');
  const forbidden: string[] = [];
  const checkKey = (key: string): void => {
    if (key in annotations && !validValue(annotations[key]))
      forbidden.push(`${key}=${JSON.stringify(annotations[key])}`);
  };
  checkKey(SECCOMP_POD_ANNOTATION);
  for (const c of containers(spec)) checkKey(SECCOMP_CONTAINER_ANNOTATION_PREFIX + nameOf(c));
  if (forbidden.length === 0) return undefined;
  const list = sortedSet(forbidden);
  return {
    reason: 'seccompProfile',
    detail: `forbidden ${plural('annotation', 'annotations', list.length)} ${list.join(', ')}`,
  };
};

function validSeccomp(profile: unknown): boolean {
  return isObject(profile) && (profile.type === 'Localhost' || profile.type === 'RuntimeDefault');
}

/** Explicitly bad seccomp profiles (pod or containers); `implicit` collects unset containers. */
function seccompSetters(
  spec: JsonObject,
  implicit?: string[],
): { setters: string[]; values: string[] } {
  const setters: string[] = [];
  const values: string[] = [];
  const podProfile = securityContext(spec)?.seccompProfile;
  let podValid = false;
  if (isObject(podProfile)) {
    if (!validSeccomp(podProfile)) {
      setters.push('pod');
      values.push(String(podProfile.type ?? ''));
    } else podValid = true;
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const p = securityContext(c)?.seccompProfile;
    if (isObject(p)) {
      if (!validSeccomp(p)) {
        bad.push(nameOf(c));
        values.push(String(p.type ?? ''));
      }
    } else if (!podValid) implicit?.push(nameOf(c));
  }
  if (bad.length > 0) setters.push(containersPhrase(bad));
  return { setters, values };
}

const seccompBaselineFields: CheckFn = (_meta, spec) => {
  const { setters, values } = seccompSetters(spec);
  if (setters.length === 0) return undefined;
  return {
    reason: 'seccompProfile',
    detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`,
  };
};

function sysctls(allowed: ReadonlySet<string>): CheckFn {
  return (_meta, spec) => {
    const list = securityContext(spec)?.sysctls;
    const forbidden = (Array.isArray(list) ? list : [])
      .filter(isObject)
      .map((s) => String(s.name ?? ''))
      .filter((n) => !allowed.has(n));
    return forbidden.length === 0
      ? undefined
      : { reason: 'forbidden sysctls', detail: forbidden.join(', ') };
  };
}

const SYSCTLS_1_0 = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
]);
const SYSCTLS_1_27 = new Set([...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports']);
const SYSCTLS_1_29 = new Set([
  ...SYSCTLS_1_27,
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SYSCTLS_1_32 = new Set([...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);

const windowsHostProcess: CheckFn = (_meta, spec) => {
  const hostProcess = (o: JsonObject): boolean => {
    const w = securityContext(o)?.windowsOptions;
    return isObject(w) && w.hostProcess === true;
  };
  const setters: string[] = [];
  if (hostProcess(spec)) setters.push('pod');
  const bad = containers(spec).filter(hostProcess).map(nameOf);
  if (bad.length > 0) setters.push(containersPhrase(bad));
  if (setters.length === 0) return undefined;
  return {
    reason: 'hostProcess',
    detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
  };
};

// ---- restricted -------------------------------------------------------------------------

const allowPrivilegeEscalation: CheckFn = (_meta, spec) => {
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.allowPrivilegeEscalation !== false)
    .map(nameOf);
  if (bad.length === 0) return undefined;
  return {
    reason: 'allowPrivilegeEscalation != false',
    detail: `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`,
  };
};

const capabilitiesRestricted: CheckFn = (_meta, spec) => {
  const missingDropAll: string[] = [];
  const adding: string[] = [];
  const forbidden: string[] = [];
  for (const c of containers(spec)) {
    const caps = securityContext(c)?.capabilities;
    if (!isObject(caps)) {
      missingDropAll.push(nameOf(c));
      continue;
    }
    if (!(Array.isArray(caps.drop) && caps.drop.includes('ALL'))) missingDropAll.push(nameOf(c));
    const extra = addedCapabilities(c).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (extra.length > 0) {
      adding.push(nameOf(c));
      forbidden.push(...extra);
    }
  }
  const details: string[] = [];
  if (missingDropAll.length > 0)
    details.push(
      `${containersPhrase(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`,
    );
  if (adding.length > 0)
    details.push(
      `${containersPhrase(adding)} must not include ${joinQuote(sortedSet(forbidden))} in securityContext.capabilities.add`,
    );
  return details.length === 0
    ? undefined
    : { reason: 'unrestricted capabilities', detail: details.join('; ') };
};

const ALLOWED_VOLUME_TYPES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];
/** The restricted volume types in the order upstream tests them. */
const RESTRICTED_VOLUME_TYPES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
];

const restrictedVolumes: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const v of volumes(spec)) {
    if (ALLOWED_VOLUME_TYPES.some((t) => isObject(v[t]))) continue;
    bad.push(String(v.name ?? ''));
    types.push(RESTRICTED_VOLUME_TYPES.find((t) => isObject(v[t])) ?? 'unknown');
  }
  if (bad.length === 0) return undefined;
  const unique = sortedSet(types);
  return {
    reason: 'restricted volume types',
    detail: `${plural('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', unique.length)} ${joinQuote(unique)}`,
  };
};

const runAsNonRoot: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  const podValue = securityContext(spec)?.runAsNonRoot;
  if (podValue === false) setters.push('pod');
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const v = securityContext(c)?.runAsNonRoot;
    if (typeof v === 'boolean') {
      if (!v) explicit.push(nameOf(c));
    } else if (podValue !== true) implicit.push(nameOf(c));
  }
  if (explicit.length > 0) setters.push(containersPhrase(explicit));
  if (setters.length > 0)
    return {
      reason: 'runAsNonRoot != true',
      detail: `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
    };
  if (implicit.length > 0)
    return {
      reason: 'runAsNonRoot != true',
      detail: `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`,
    };
  return undefined;
};

const runAsUser: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  if (securityContext(spec)?.runAsUser === 0) setters.push('pod');
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.runAsUser === 0)
    .map(nameOf);
  if (bad.length > 0) setters.push(containersPhrase(bad));
  if (setters.length === 0) return undefined;
  return { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` };
};

const seccompRestricted: CheckFn = (_meta, spec) => {
  const implicit: string[] = [];
  const { setters, values } = seccompSetters(spec, implicit);
  if (setters.length > 0)
    return {
      reason: 'seccompProfile',
      detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`,
    };
  if (implicit.length > 0)
    return {
      reason: 'seccompProfile',
      detail: `pod or ${containersPhrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    };
  return undefined;
};

/** Every check of policy v0.32, with its versions (policy/check_*.go). */
export const CHECKS: readonly Check[] = [
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minor: 0, check: appArmorProfile }] },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    versions: [{ minor: 0, check: capabilitiesBaseline }],
  },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minor: 0, check: hostNamespaces }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ minor: 0, check: hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minor: 0, check: hostPorts }] },
  { id: 'privileged', level: 'baseline', versions: [{ minor: 0, check: privileged }] },
  { id: 'procMount', level: 'baseline', versions: [{ minor: 0, check: procMount }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minor: 0, check: seLinuxOptions(SELINUX_TYPES_1_0) },
      { minor: 31, check: seLinuxOptions(SELINUX_TYPES_1_31) },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    versions: [
      { minor: 0, check: seccompBaselineAnnotations },
      { minor: 19, check: seccompBaselineFields },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minor: 0, check: sysctls(SYSCTLS_1_0) },
      { minor: 27, check: sysctls(SYSCTLS_1_27) },
      { minor: 29, check: sysctls(SYSCTLS_1_29) },
      { minor: 32, check: sysctls(SYSCTLS_1_32) },
    ],
  },
  {
    id: 'windowsHostProcess',
    level: 'baseline',
    versions: [{ minor: 0, check: windowsHostProcess }],
  },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minor: 8, check: allowPrivilegeEscalation },
      { minor: 25, check: windowsExempt(allowPrivilegeEscalation) },
    ],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minor: 22, check: capabilitiesRestricted, overrides: ['capabilities_baseline'] },
      {
        minor: 25,
        check: windowsExempt(capabilitiesRestricted),
        overrides: ['capabilities_baseline'],
      },
    ],
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    versions: [{ minor: 0, check: restrictedVolumes, overrides: ['hostPathVolumes'] }],
  },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minor: 0, check: runAsNonRoot }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minor: 23, check: runAsUser }] },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minor: 19, check: seccompRestricted, overrides: ['seccompProfile_baseline'] },
      {
        minor: 25,
        check: windowsExempt(seccompRestricted),
        overrides: ['seccompProfile_baseline'],
      },
    ],
  },
];

/** The newest policy version any check knows; later versions (and `latest`) evaluate as it. */
export const MAX_POLICY_MINOR = Math.max(...CHECKS.flatMap((c) => c.versions.map((v) => v.minor)));

function variantAt(check: Check, minor: number): VersionedCheck | undefined {
  let found: VersionedCheck | undefined;
  for (const v of check.versions) if (v.minor <= minor) found = v;
  return found;
}

/**
 * The checks a level and policy version evaluate, in upstream's order (baseline IDs sorted,
 * then restricted IDs sorted); at `restricted`, baseline checks a restricted check overrides
 * are left out (policy/registry.go).
 */
export function checksFor(level: Level, minor: number): CheckFn[] {
  if (level === 'privileged') return [];
  const v = Math.min(minor, MAX_POLICY_MINOR);
  const byId = (a: Check, b: Check): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const baseline = CHECKS.filter((c) => c.level === 'baseline').sort(byId);
  const restricted =
    level === 'restricted' ? CHECKS.filter((c) => c.level === 'restricted').sort(byId) : [];
  const active = restricted.flatMap((c) => {
    const variant = variantAt(c, v);
    return variant ? [variant] : [];
  });
  const overridden = new Set(active.flatMap((a) => a.overrides ?? []));
  const fns: CheckFn[] = [];
  for (const c of baseline) {
    const variant = variantAt(c, v);
    if (variant && !overridden.has(c.id)) fns.push(variant.check);
  }
  return [...fns, ...active.map((a) => a.check)];
}

/** Runs the checks of a level/version on a pod; the violations in order. */
export function evaluatePod(level: Level, minor: number, pod: JsonObject): Violation[] {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const spec = isObject(pod.spec) ? pod.spec : {};
  const out: Violation[] = [];
  for (const check of checksFor(level, minor)) {
    const v = check(meta, spec);
    if (v) out.push(v);
  }
  return out;
}

/** AggregateCheckResult.ForbiddenDetail(): `reason (detail), reason, ...`. */
export function forbiddenDetail(violations: readonly Violation[]): string {
  return violations
    .map((v) => (v.detail === '' ? v.reason : `${v.reason} (${v.detail})`))
    .join(', ');
}

/** AggregateCheckResult.ForbiddenReason(): the reasons only. */
export function forbiddenReason(violations: readonly Violation[]): string {
  return violations.map((v) => v.reason).join(', ');
}
