/**
 * The PodSecurity admission plugin of kube-apiserver 1.32 with its default configuration
 * (every mode `privileged:latest` unless the namespace says otherwise, no exemptions), as
 * k8s.io/pod-security-admission v0.32 implements it (api/helpers.go, admission/admission.go):
 * - the namespace labels `pod-security.kubernetes.io/<mode>[-version]` (mode enforce, warn,
 *   audit) choose a level and a policy version; an invalid enforce level means restricted, an
 *   invalid warn or audit level privileged, an invalid version latest; `warn` follows `enforce`
 *   when only enforce is set;
 * - a pod that breaks the enforce level is refused with 403 `pods "<name>" is forbidden:
 *   violates PodSecurity "<level>:<version>": <check> (<detail>), ...`; one that passes but
 *   breaks the warn level gets the warning `would violate PodSecurity ...` (the `Warning`
 *   response header); audit results only go to the audit log, which the emulator does not keep;
 * - namespaces with invalid labels are refused with 422; a namespace update that tightens the
 *   enforce level warns about the existing pods that would break it.
 */
import {
  evaluatePod,
  forbiddenDetail,
  forbiddenReason,
  type Level,
} from './pod-security-checks.js';
import { isObject } from './json.js';
import type { FieldError } from './status.js';
import type { JsonObject } from './store.js';

const LABEL_PREFIX = 'pod-security.kubernetes.io/';
const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];
const VERSION_RE = /^v1\.([0-9]|[1-9][0-9]*)$/;

/** A policy level at a version (`latest` or the minor of `v1.<minor>`). */
export interface LevelVersion {
  level: Level;
  version: 'latest' | number;
}

export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

const PRIVILEGED_LATEST: LevelVersion = { level: 'privileged', version: 'latest' };

/** `restricted:latest`, `baseline:v1.30` */
export function levelVersionText(lv: LevelVersion): string {
  return `${lv.level}:${lv.version === 'latest' ? 'latest' : `v1.${lv.version}`}`;
}

function rank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** PolicyToEvaluate: the namespace's policy and the label errors that a namespace write gets. */
export function policyFromLabels(labels: unknown): { policy: Policy; errors: FieldError[] } {
  const policy: Policy = {
    enforce: { ...PRIVILEGED_LATEST },
    audit: { ...PRIVILEGED_LATEST },
    warn: { ...PRIVILEGED_LATEST },
  };
  const errors: FieldError[] = [];
  const l = isObject(labels) ? (labels as Record<string, unknown>) : {};
  const invalid = (key: string, value: unknown, detail: string): void => {
    errors.push({
      type: 'FieldValueInvalid',
      field: `metadata.labels[${LABEL_PREFIX}${key}]`,
      value,
      detail,
    });
  };
  const level = (key: string, onError: Level): Level | undefined => {
    if (!(`${LABEL_PREFIX}${key}` in l)) return undefined;
    const value = l[`${LABEL_PREFIX}${key}`];
    if (LEVELS.includes(value as Level)) return value as Level;
    invalid(key, value, `must be one of ${LEVELS.join(', ')}`);
    return onError;
  };
  const version = (key: string): LevelVersion['version'] | undefined => {
    if (!(`${LABEL_PREFIX}${key}` in l)) return undefined;
    const value = l[`${LABEL_PREFIX}${key}`];
    if (value === 'latest') return 'latest';
    const m = typeof value === 'string' ? VERSION_RE.exec(value) : null;
    if (m) return Number(m[1]);
    invalid(key, value, 'must be "latest" or "v1.x"');
    return 'latest';
  };
  const errorsBefore = errors.length;
  const enforceLevel = level('enforce', 'restricted');
  const hasEnforceLevel = enforceLevel !== undefined && errors.length === errorsBefore;
  if (enforceLevel !== undefined) policy.enforce.level = enforceLevel;
  const enforceVersion = version('enforce-version');
  if (enforceVersion !== undefined) policy.enforce.version = enforceVersion;
  const auditLevel = level('audit', 'privileged');
  if (auditLevel !== undefined) policy.audit.level = auditLevel;
  const auditVersion = version('audit-version');
  if (auditVersion !== undefined) policy.audit.version = auditVersion;
  const warnLevel = level('warn', 'privileged');
  if (warnLevel !== undefined) policy.warn.level = warnLevel;
  const warnVersion = version('warn-version');
  if (warnVersion !== undefined) policy.warn.version = warnVersion;
  if (
    warnLevel === undefined &&
    hasEnforceLevel &&
    rank(policy.enforce.level) > rank(policy.warn.level)
  ) {
    policy.warn.level = policy.enforce.level;
    if (warnVersion === undefined) policy.warn.version = policy.enforce.version;
  }
  return { policy, errors };
}

function minorOf(lv: LevelVersion): number {
  return lv.version === 'latest' ? Number.MAX_SAFE_INTEGER : lv.version;
}

function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && a.version === b.version;
}

/** The outcome for a pod: refused with `forbidden` (the text after `is forbidden: `), or warnings. */
export interface PodSecurityDecision {
  forbidden?: string;
  warnings: string[];
}

/** Admission of a new pod (or a pod update that changes an image) into a namespace. */
export function admitPod(namespaceLabels: unknown, pod: JsonObject): PodSecurityDecision {
  const { policy, errors } = policyFromLabels(namespaceLabels);
  const fullyPrivileged =
    policy.enforce.level === 'privileged' &&
    policy.audit.level === 'privileged' &&
    policy.warn.level === 'privileged';
  if (errors.length === 0 && fullyPrivileged) return { warnings: [] };
  const enforced = evaluatePod(policy.enforce.level, minorOf(policy.enforce), pod);
  if (enforced.length > 0)
    return {
      forbidden: `violates PodSecurity "${levelVersionText(policy.enforce)}": ${forbiddenDetail(enforced)}`,
      warnings: [],
    };
  const warned = sameLevelVersion(policy.warn, policy.enforce)
    ? enforced
    : evaluatePod(policy.warn.level, minorOf(policy.warn), pod);
  return {
    warnings:
      warned.length > 0
        ? [
            `would violate PodSecurity "${levelVersionText(policy.warn)}": ${forbiddenDetail(warned)}`,
          ]
        : [],
  };
}

/** Whether a pod update is one PodSecurity looks at (isSignificantPodUpdate: an image changed). */
export function significantPodUpdate(pod: JsonObject, old: JsonObject): boolean {
  const images = (p: JsonObject, key: string): string[] => {
    const list = (p.spec as JsonObject | undefined)?.[key];
    return Array.isArray(list) ? list.map((c) => String(isObject(c) ? c.image : '')) : [];
  };
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
    const a = images(pod, key);
    const b = images(old, key);
    if (a.length !== b.length || a.some((img, i) => img !== b[i])) return true;
  }
  return false;
}

/** The outcome for a namespace write: label errors (422), or warnings about existing pods. */
export interface NamespaceDecision {
  errors: FieldError[];
  warnings: string[];
}

/**
 * Admission of a namespace create or update (ValidateNamespace). `pods` are the namespace's
 * current pods, evaluated when an update tightens the enforce level.
 */
export function admitNamespace(
  labels: unknown,
  oldLabels: unknown | undefined,
  namespace: string,
  pods: () => Iterable<JsonObject>,
): NamespaceDecision {
  const next = policyFromLabels(labels);
  if (oldLabels === undefined) return { errors: next.errors, warnings: [] };
  const prev = policyFromLabels(oldLabels);
  if (
    next.errors.length > 0 &&
    (prev.errors.length === 0 || JSON.stringify(next.errors) !== JSON.stringify(prev.errors))
  )
    return { errors: next.errors, warnings: [] };
  const a = next.policy.enforce;
  const b = prev.policy.enforce;
  if (sameLevelVersion(a, b) || a.level === 'privileged') return { errors: [], warnings: [] };
  if (a.version === b.version && rank(a.level) <= rank(b.level))
    return { errors: [], warnings: [] };
  // EvaluatePodsInNamespace: one warning per distinct set of reasons, naming the first pod.
  const byReason = new Map<string, { first: string; count: number }>();
  const order: string[] = [];
  for (const pod of pods()) {
    const violations = evaluatePod(a.level, minorOf(a), pod);
    if (violations.length === 0) continue;
    const reason = forbiddenReason(violations);
    const name = String((pod.metadata as JsonObject | undefined)?.name ?? '');
    const seen = byReason.get(reason);
    if (!seen) {
      byReason.set(reason, { first: name, count: 1 });
      order.push(reason);
    } else {
      seen.count++;
      if (name < seen.first) seen.first = name;
    }
  }
  if (order.length === 0) return { errors: [], warnings: [] };
  const podWarnings = order
    .map((reason) => {
      const { first, count } = byReason.get(reason) as { first: string; count: number };
      if (count === 1) return `${first}: ${reason}`;
      if (count === 2) return `${first} (and 1 other pod): ${reason}`;
      return `${first} (and ${count - 1} other pods): ${reason}`;
    })
    .sort();
  return {
    errors: [],
    warnings: [
      `existing pods in namespace "${namespace}" violate the new PodSecurity enforce level "${levelVersionText(a)}"`,
      ...podWarnings,
    ],
  };
}
