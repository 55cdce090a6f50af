/**
 * The state of one emulated cluster: collections per resource type behind a single
 * resourceVersion counter, and the storage primitives (insert, replace, remove) that assign
 * server-set metadata, serialize, and emit watch events.
 */
import { METADATA_ORDER, ordered } from './pods.js';
import type { SeededRandom } from './random.js';
import { apiVersionOf, metadataOf, typeKey, type ResourceType } from './resource-type.js';
import { ALL_TYPES } from './resources.js';
import type { Labels } from './selectors.js';
import { Collection, StoredObject, WatchEvent, type JsonObject } from './store.js';

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
}

const INTERN_LIMIT = 4096;

/** RFC 3339 at second precision, as metav1.Time serializes. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class ClusterState {
  private rv = 0;
  private readonly byKey = new Map<string, { type: ResourceType; collection: Collection }>();
  private readonly interned = new Map<string, string>();

  constructor(
    readonly config: ClusterConfig,
    readonly random: SeededRandom,
  ) {
    for (const t of ALL_TYPES) {
      if (t.virtual) continue;
      this.byKey.set(typeKey(t.group, t.resource), {
        type: t,
        collection: new Collection(t.kind, apiVersionOf(t), config.historySize),
      });
    }
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
      fields,
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
    c.emit(new WatchEvent('ADDED', stored, undefined, c.header));
    return stored;
  }

  /** Replaces `prev` with `obj` as a new version; emits MODIFIED. */
  replace(type: ResourceType, obj: JsonObject, prev: StoredObject): StoredObject {
    const stored = this.serialize(type, obj, ++this.rv);
    const c = this.collection(type);
    c.put(stored);
    c.emit(new WatchEvent('MODIFIED', stored, prev, c.header));
    return stored;
  }

  /** Removes `prev`; emits DELETED carrying the last state at the deletion's resourceVersion. */
  remove(type: ResourceType, prev: StoredObject): StoredObject {
    const c = this.collection(type);
    c.remove(prev.namespace, prev.name);
    const tombstone = this.serialize(type, prev.parse(), ++this.rv);
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
