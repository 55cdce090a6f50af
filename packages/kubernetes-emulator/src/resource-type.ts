/**
 * Describes one served resource type: discovery facts, naming rule, field labels, and the
 * type-specific strategy hooks (defaults, validation, admission, table columns) that the
 * generic REST handlers call, mirroring the per-type strategies of kube-apiserver.
 */
import type { FieldError } from './status.js';
import type { JsonObject, StoredObject } from './store.js';
import type { NameRule } from './validation.js';
import type { SeededRandom } from './random.js';

export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
  /** Set for service-account identities. */
  serviceAccount?: { namespace: string; name: string };
}

/** What a strategy hook may consult besides the object. */
export interface StrategyContext {
  readonly now: Date;
  readonly nowIso: string;
  readonly random: SeededRandom;
  /** Field manager: fieldManager param, or the User-Agent up to the first '/'. */
  readonly manager: string;
  readonly user: UserInfo;
  readonly dryRun: boolean;
}

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  format?: string;
  description: string;
  priority: number;
}

export interface TableConvertor {
  columns: TableColumn[];
  cells(obj: JsonObject, now: number): unknown[];
}

/** The verbs of a plain stored resource type. */
export const STANDARD_VERBS: readonly string[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  /** Plural, lower case: `pods`. */
  readonly resource: string;
  readonly kind: string;
  readonly listKind: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames?: string[];
  readonly categories?: string[];
  /** Verbs advertised by discovery and accepted by the handlers. */
  readonly verbs: readonly string[];
  /** Served subresources with their verbs, e.g. `{ status: ['get','patch','update'] }`. */
  readonly subresources?: Record<
    string,
    { kind: string; group?: string; version?: string; verbs: string[] }
  >;
  readonly nameRule: NameRule;
  /** Field selector labels besides metadata.name/metadata.namespace, and how to read them. */
  readonly fieldLabels?: Record<string, (obj: JsonObject) => string | undefined>;
  /** Not stored (reviews): POST answers with a computed object. */
  readonly virtual?: boolean;
  /** Keeps `status` on create/update of the main resource (types without a status subresource). */
  readonly keepsStatus?: boolean;
  /** DELETE returns the object (pods) instead of a Status. */
  readonly returnsDeletedObject?: boolean;
  /** Sets metadata.generation (types whose spec changes are tracked). */
  readonly tracksGeneration?: boolean;
  /**
   * An update (PUT) must carry metadata.resourceVersion (upstream AllowUnconditionalUpdate
   * false): without one the answer is 422 `metadata.resourceVersion: Invalid value: 0: must be
   * specified for an update`.
   */
  readonly requiresResourceVersionOnUpdate?: boolean;
  /** A PUT to a missing object creates it, 201 (upstream AllowCreateOnUpdate). */
  readonly createsOnUpdate?: boolean;
  /** Defaults and normalisation before validation on create (mutates). */
  prepareForCreate?(obj: JsonObject, ctx: StrategyContext): void;
  /** Validation on create (after defaults), 422 causes. */
  validate?(obj: JsonObject): FieldError[];
  /** Normalisation on update: e.g. keep status from `old` (mutates `obj`). */
  prepareForUpdate?(obj: JsonObject, old: JsonObject, ctx: StrategyContext): void;
  /** Validation on update, including immutability. */
  validateUpdate?(obj: JsonObject, old: JsonObject): FieldError[];
  table?: TableConvertor;
}

/** `apiVersion` as objects carry it: `v1`, `rbac.authorization.k8s.io/v1`. */
export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/** Key of a type in maps: `group/resource` (`/pods` for the core group). */
export function typeKey(group: string, resource: string): string {
  return `${group}/${resource}`;
}

export function metadataOf(obj: JsonObject): JsonObject {
  let m = obj.metadata as JsonObject | undefined;
  if (m === undefined || m === null || typeof m !== 'object') {
    m = {};
    obj.metadata = m;
  }
  return m;
}

/** A stored object's field value for field selectors. */
export function fieldValue(obj: StoredObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.name;
  if (field === 'metadata.namespace') return obj.namespace;
  return obj.fields[field];
}

/** Human-readable age as kubectl prints it (`5s`, `3m2s`, `4h`, `2d`). */
export function humanAge(fromIso: unknown, now: number): string {
  if (typeof fromIso !== 'string') return '<unknown>';
  const t = Date.parse(fromIso);
  if (Number.isNaN(t)) return '<unknown>';
  let s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  let m = Math.floor(s / 60);
  s %= 60;
  if (m < 10) return s === 0 ? `${m}m` : `${m}m${s}s`;
  if (m < 180) return `${m}m`;
  let h = Math.floor(m / 60);
  m %= 60;
  if (h < 8) return m === 0 ? `${h}h` : `${h}h${m}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  h %= 24;
  if (d < 8) return h === 0 ? `${d}d` : `${d}d${h}h`;
  return `${d}d`;
}

export const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

export const AGE_COLUMN: TableColumn = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  priority: 0,
};

/** The default table of types without a dedicated printer: Name, Created At. */
export const DEFAULT_TABLE: TableConvertor = {
  columns: [
    NAME_COLUMN,
    {
      name: 'Created At',
      type: 'date',
      description: AGE_COLUMN.description,
      priority: 0,
    },
  ],
  cells: (obj) => [metadataOf(obj).name, metadataOf(obj).creationTimestamp],
};
