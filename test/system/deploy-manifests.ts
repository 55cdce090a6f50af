// Helpers for test/system/manifests.test.ts (and the kubectl-apply integration test): read the
// YAML under deploy/, render kustomizations with kubectl, and validate Kubernetes objects.
//
// Built-in kinds are validated with kubernetes-models (the OpenAPI schemas of Kubernetes
// itself). Custom resources, which kubernetes-models does not know, are validated against their
// projects' own CRD schemas (test/system/fixtures/schemas/: KEDA's from kedacore/keda v2.20.2,
// the ServiceMonitor and PrometheusRule from prometheus-operator v0.93.0) with ajv, made strict
// about unknown fields the way the API server's strict field validation is.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { parse, parseAllDocuments } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const deployDir = path.join(repoRoot, 'deploy');
const schemaDir = path.join(repoRoot, 'test/system/fixtures/schemas');

/** A Kubernetes object as read from YAML. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface YamlDocument {
  file: string; // relative to the repository root
  index: number;
  value: unknown;
}

/** Every *.yaml / *.yml file below dir, sorted. */
export function yamlFiles(dir: string = deployDir): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(entry.name)) found.push(full);
    }
  };
  walk(dir);
  return found.sort();
}

/** Parses every document of a YAML file; throws with file and position on any error. */
export function readYamlDocuments(file: string, options: { merge?: boolean } = {}): YamlDocument[] {
  const text = readFileSync(file, 'utf8');
  const relative = path.relative(repoRoot, file);
  return parseAllDocuments(text, { merge: options.merge ?? false })
    .map((doc, index) => {
      if (doc.errors.length > 0) {
        throw new Error(`${relative}: ${doc.errors.map((e) => e.message).join('; ')}`);
      }
      return { file: relative, index, value: doc.toJS() as unknown };
    })
    .filter((doc) => doc.value !== null && doc.value !== undefined);
}

export function isKubeObject(value: unknown): value is KubeObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KubeObject).apiVersion === 'string' &&
    typeof (value as KubeObject).kind === 'string'
  );
}

export function isKustomization(value: unknown): boolean {
  return (
    isKubeObject(value) &&
    value.apiVersion.startsWith('kustomize.config.k8s.io/') &&
    (value.kind === 'Kustomization' || value.kind === 'Component')
  );
}

type ModelClass = new (data: never) => { validate(): void };
const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/LimitRange': LimitRange,
  'v1/Namespace': Namespace,
  'v1/ResourceQuota': ResourceQuota,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/CronJob': CronJob,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};

const CRD_FILES: Record<string, string> = {
  'keda.sh/v1alpha1/ScaledObject': 'keda.sh_scaledobjects.yaml',
  'keda.sh/v1alpha1/TriggerAuthentication': 'keda.sh_triggerauthentications.yaml',
  'monitoring.coreos.com/v1/ServiceMonitor': 'monitoring.coreos.com_servicemonitors.yaml',
  'monitoring.coreos.com/v1/PrometheusRule': 'monitoring.coreos.com_prometheusrules.yaml',
};

export const VALIDATED_KINDS = [...Object.keys(MODELS), ...Object.keys(CRD_FILES)];

/**
 * Validates one object: kubernetes-models for built-in kinds, the CRD's OpenAPI schema for
 * custom resources (KEDA's, prometheus-operator's). Returns how it was validated; throws with the problems otherwise (also for kinds
 * nobody knows how to validate, so a new kind cannot slip through unchecked).
 */
export function validateKubeObject(object: KubeObject): 'kubernetes-models' | 'crd-schema' {
  const key = `${object.apiVersion}/${object.kind}`;
  const Model = MODELS[key];
  if (Model !== undefined) {
    new Model(object as never).validate();
    return 'kubernetes-models';
  }
  const crd = crdValidator(key);
  if (crd !== undefined) {
    const valid: boolean = crd(object);
    if (!valid) {
      const problems = (crd.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
      throw new Error(`${key} ${object.metadata.name}: ${problems.join('; ')}`);
    }
    return 'crd-schema';
  }
  throw new Error(`no validator for ${key}: add its model or CRD schema to deploy-manifests.ts`);
}

/**
 * CRD patterns are Go (RE2) regular expressions, checked by the API server with Go's regexp.
 * The one construct they use that JavaScript lacks is the inline flag `(?i)` (prometheus-operator's
 * `partial_response_strategy: ^(?i)(abort|warn)?$`): it becomes the `i` flag of the whole pattern.
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string): RegExp =>
    pattern.includes('(?i)')
      ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`)
      : new RegExp(pattern, flags),
  { code: 'goRegExp' },
);

const ajv = new Ajv({
  strict: false,
  allErrors: true,
  validateFormats: false,
  code: { regExp: goRegExp },
});
const crdValidators = new Map<string, ValidateFunction>();

function crdValidator(key: string): ValidateFunction | undefined {
  const file = CRD_FILES[key];
  if (file === undefined) return undefined;
  let validate = crdValidators.get(key);
  if (validate === undefined) {
    const crd = parse(readFileSync(path.join(schemaDir, file), 'utf8')) as {
      spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] };
    };
    const version = key.split('/')[1];
    const entry = crd.spec.versions.find((v) => v.name === version);
    if (entry === undefined) throw new Error(`${file} has no version ${version}`);
    validate = ajv.compile(strictSchema(entry.schema.openAPIV3Schema) as Record<string, unknown>);
    crdValidators.set(key, validate);
  }
  return validate;
}

/**
 * The API server prunes (or, with strict field validation, rejects) fields a CRD schema does
 * not declare; plain JSON Schema lets them through. Forbid them, except where the schema says
 * unknown fields are kept (x-kubernetes-preserve-unknown-fields) or gives additionalProperties.
 */
function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    copy[key] = key === 'enum' || key === 'required' ? value : strictSchema(value);
  }
  if (
    typeof copy.properties === 'object' &&
    copy.additionalProperties === undefined &&
    copy['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    copy.additionalProperties = false;
  }
  return copy;
}

/** Validates a document against a JSON Schema file from the fixtures. */
export function validateWithSchemaFile(schemaFile: string, value: unknown): string[] {
  const schema = JSON.parse(readFileSync(path.join(schemaDir, schemaFile), 'utf8')) as {
    $schema?: string;
  };
  // Both fixtures are draft-07 (ajv's default), but name it in spellings ajv does not map.
  delete schema.$schema;
  // unicodeRegExp off: the emulator schema's patterns ("[\w-\.]") are not valid with /u.
  const validator = new Ajv({
    strict: false,
    allErrors: true,
    validateFormats: false,
    unicodeRegExp: false,
  });
  const validate = validator.compile(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** `kubectl kustomize DIR`, parsed. kubectl must be on PATH (it is on podbus's machines). */
export function kustomize(dir: string): KubeObject[] {
  let output: string;
  try {
    output = execFileSync('kubectl', ['kustomize', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl kustomize ${path.relative(repoRoot, dir)} failed: ${stderr}`, {
      cause: error,
    });
  }
  return parseAllDocuments(output)
    .map((doc) => doc.toJS() as unknown)
    .filter(isKubeObject);
}

/**
 * Renders `resources` plus `components` through a temporary kustomization (components that a
 * kustomization.yaml only lists as commented-out options are rendered this way).
 */
export function kustomizeWith(
  resources: string[],
  components: string[],
  extra: Record<string, unknown> = {},
): KubeObject[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'podbus-kustomize-'));
  try {
    // kustomize refuses absolute paths; relative ones may leave the root.
    const rel = (p: string): string => path.relative(dir, p);
    const kustomization = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      ...extra,
      resources: resources.map(rel),
      components: components.map(rel),
    };
    writeFileSync(path.join(dir, 'kustomization.yaml'), JSON.stringify(kustomization));
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function findObject<T extends KubeObject = KubeObject>(
  objects: KubeObject[],
  kind: string,
  name?: string,
): T {
  const found = objects.find(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found === undefined) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among the objects`);
  return found as T;
}
