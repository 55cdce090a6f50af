/**
 * The state of one emulated cluster: collections per resource type behind a single
 * resourceVersion counter, and the storage primitives (insert, replace, remove) that assign
 * server-set metadata, serialize, and emit watch events.
 */
import { detach } from './delta-codec.js';
import { METADATA_ORDER, ordered } from './pods.js';
import type { SeededRandom } from './random.js';
import { apiVersionOf, metadataOf, typeKey, type ResourceType } from './resource-type.js';
import { ALL_TYPES } from './resources.js';
import type { Labels } from './selectors.js';
import { Collection, Compactor, StoredObject, WatchEvent, type JsonObject } from './store.js';

/** Resolved configuration of one cluster (all defaults applied). */
export interface ClusterConfig {
  name: string;
  namespace: string;
  nodeName: string;
  nodeCapacityPods: number;
  lifecycle: { scheduleMs: number; startMs: number; runMs: number; terminateMs: number };
  bookmarkIntervalMs: number;
  historySize: number;
  defaultWatchTimeoutSeconds: number;
  tokenControllerDelayMs: number;
  /** JWS algorithms the JWT authenticators accept (`--oidc-signing-algs`). */
  oidcSigningAlgs: string[];
  /** Events the simulated scheduler and kubelet record, and how long events live. */
  events: { record: boolean; ttlSeconds: number };
  /** Compression of cold object versions (see Compactor). */
  storage: { compressAfterMs: number; compressAboveObjects: number };
}

const INTERN_LIMIT = 4096;

let lastSecond = -1;
let lastText = '';

/** RFC 3339 at second precision, as metav1.Time serializes (memoized per second). */
export function rfc3339(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastText;
}

export class ClusterState {
  private rv = 0;
  private readonly byKey = new Map<string, { type: ResourceType; collection: Collection }>();
  private readonly interned = new Map<string, string>();
  private readonly internedFields = new Map<string, Readonly<Record<string, string>>>();
  readonly compactor: Compactor;

  constructor(
    readonly config: ClusterConfig,
    readonly random: SeededRandom,
  ) {
    this.compactor = new Compactor(
      {
        coldAfterMs: config.storage.compressAfterMs,
        minObjects: config.storage.compressAboveObjects,
        budgetMs: 25,
      },
      () => this.objectCount(),
    );
    for (const t of ALL_TYPES) {
      if (t.virtual) continue;
      this.byKey.set(typeKey(t.group, t.resource), {
        type: t,
        collection: new Collection(t.kind, apiVersionOf(t), config.historySize),
      });
    }
  }

  /** Objects stored across all collections. */
  objectCount(): number {
    let n = 0;
    for (const { collection } of this.byKey.values()) n += collection.size;
    return n;
  }

  /** The current resourceVersion (what a list reports). */
  get resourceVersion(): number {
    return this.rv;
  }

  collection(type: ResourceType): Collection {
    const e = this.byKey.get(typeKey(type.group, type.resource));
    if (!e) throw new Error(`no collection for ${type.resource}`);
    return e.collection;
  }

  /** A collection by group and resource (`''`, `'pods'`). */
  collectionOf(group: string, resource: string): Collection {
    const e = this.byKey.get(typeKey(group, resource));
    if (!e) throw new Error(`no collection for ${resource}`);
    return e.collection;
  }

  now(): number {
    return Date.now();
  }

  /** Identical field-value sets (e.g. every Pending pod's) share one object. */
  private internFields(fields: Record<string, string>): Readonly<Record<string, string>> {
    const key = JSON.stringify(fields);
    const hit = this.internedFields.get(key);
    if (hit !== undefined) return hit;
    if (this.internedFields.size < INTERN_LIMIT) this.internedFields.set(key, fields);
    return fields;
  }

  private intern(v: string): string {
    const hit = this.interned.get(v);
    if (hit !== undefined) return hit;
    if (this.interned.size < INTERN_LIMIT && v.length <= 64) this.interned.set(v, v);
    return v;
  }

  /** Serializes `obj` as stored version `rv` (sets metadata.resourceVersion). */
  serialize(type: ResourceType, obj: JsonObject, rv: number): StoredObject {
    const meta = metadataOf(obj);
    meta.resourceVersion = String(rv);
    const out: JsonObject = { metadata: ordered(meta, METADATA_ORDER) };
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'metadata' || k === 'kind' || k === 'apiVersion' || v === undefined) continue;
      out[k] = v;
    }
    const fields: Record<string, string> = {};
    if (type.fieldLabels)
      for (const [f, get] of Object.entries(type.fieldLabels))
        fields[f] = this.intern(get(obj) ?? '');
    const labels = meta.labels as Labels;
    return new StoredObject(
      type.namespaced ? (meta.namespace as string) : '',
      meta.name as string,
      meta.uid as string,
      rv,
      labels && Object.keys(labels).length > 0 ? labels : undefined,
      this.internFields(fields),
      JSON.stringify(out),
    );
  }

  /**
   * Stores a new object: assigns uid and creationTimestamp (unless set by the caller, e.g. a
   * bootstrap object), resourceVersion, generation; emits ADDED.
   */
  insert(type: ResourceType, obj: JsonObject, nowMs = this.now()): StoredObject {
    const meta = metadataOf(obj);
    if (typeof meta.uid !== 'string' || meta.uid === '') meta.uid = this.random.uuid();
    if (typeof meta.creationTimestamp !== 'string') meta.creationTimestamp = rfc3339(nowMs);
    if (type.tracksGeneration) meta.generation = 1;
    const stored = this.serialize(type, obj, ++this.rv);
    const c = this.collection(type);
    c.put(stored);
    this.compactor.written(stored, c);
    c.emit(new WatchEvent('ADDED', stored, undefined, c.header, obj));
    return stored;
  }

  /** Replaces `prev` with `obj` as a new version; emits MODIFIED. */
  replace(type: ResourceType, obj: JsonObject, prev: StoredObject): StoredObject {
    const stored = this.serialize(type, obj, ++this.rv);
    const c = this.collection(type);
    c.put(stored);
    this.compactor.written(stored, c);
    c.emit(new WatchEvent('MODIFIED', stored, prev, c.header, obj));
    return stored;
  }

  /**
   * Replaces only the `status` of `prev` (status is the last top-level key of stored objects):
   * splices the new status into the stored JSON instead of re-serializing the whole object.
   * Falls back to a full parse when the stored shape is unusual.
   */
  replaceStatus(
    type: ResourceType,
    prev: StoredObject,
    mutate: (status: JsonObject) => void,
  ): StoredObject {
    const body = prev.body;
    const at = body.lastIndexOf(',"status":{');
    let status: JsonObject | undefined;
    if (at > 0 && body.endsWith('}}')) {
      try {
        status = JSON.parse(body.slice(at + 10, -1)) as JsonObject;
      } catch {
        status = undefined;
      }
    }
    if (status === undefined) {
      const obj = prev.parse();
      const st = (obj.status ?? {}) as JsonObject;
      mutate(st);
      obj.status = st;
      return this.replace(type, obj, prev);
    }
    mutate(status);
    const rv = ++this.rv;
    const oldRv = `"resourceVersion":"${prev.rv}"`;
    const head = body.slice(0, at);
    const rvAt = head.indexOf(oldRv);
    const newHead =
      rvAt < 0
        ? head
        : `${head.slice(0, rvAt)}"resourceVersion":"${rv}"${head.slice(rvAt + oldRv.length)}`;
    const fields: Record<string, string> = { ...prev.fields };
    if (type.fieldLabels)
      for (const [f, get] of Object.entries(type.fieldLabels))
        if (f.startsWith('status.')) fields[f] = this.intern(get({ status }) ?? '');
    const stored = new StoredObject(
      prev.namespace,
      prev.name,
      prev.uid,
      rv,
      prev.labels,
      this.internFields(fields),
      // Flattened copy: the slices of the previous version must not keep it alive.
      detach(`${newHead},"status":${JSON.stringify(status)}}`),
    );
    const c = this.collection(type);
    c.put(stored);
    this.compactor.written(stored, c);
    c.emit(new WatchEvent('MODIFIED', stored, prev, c.header));
    return stored;
  }

  /** Removes `prev`; emits DELETED carrying the last state at the deletion's resourceVersion. */
  remove(type: ResourceType, prev: StoredObject): StoredObject {
    const c = this.collection(type);
    c.remove(prev.namespace, prev.name);
    const tombstone = this.serialize(type, prev.parse(), ++this.rv);
    this.compactor.written(tombstone, c);
    c.emit(new WatchEvent('DELETED', tombstone, prev, c.header));
    return tombstone;
  }

  /** Marks the end of bootstrap: watch history starts here (older versions are expired). */
  startHistory(): void {
    for (const { collection } of this.byKey.values()) collection.history.reset(this.rv);
  }

  /** The uid of a live object by kind (token liveness checks). */
  uidOf(kind: string, namespace: string, name: string): string | undefined {
    const resource = KIND_TO_RESOURCE[kind];
    if (!resource) return undefined;
    return this.collectionOf('', resource).get(namespace, name)?.uid;
  }
}

const KIND_TO_RESOURCE: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Secret: 'secrets',
  Pod: 'pods',
  Node: 'nodes',
};
