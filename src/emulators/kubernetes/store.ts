/**
 * Object storage of one emulated cluster: a global resourceVersion counter (like etcd's
 * revision), one collection per resource type with O(1) lookups by namespace/name, and a
 * bounded history of watch events per collection for resuming watches.
 *
 * Objects are kept as serialized JSON without `kind`/`apiVersion` (the shape of a list item);
 * GET and watch prepend those two fields. This keeps 50,000 pods small (one compact string
 * each instead of a tree of small objects) and makes list and watch fan-out string
 * concatenation instead of re-serialization.
 */
import type { Labels } from './selectors.js';

export type JsonObject = Record<string, unknown>;

/** One stored version of an object. Immutable; a write creates a new one. */
export class StoredObject {
  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly uid: string,
    readonly rv: number,
    readonly labels: Labels,
    /** Values of the type's field labels (field selectors), interned strings. */
    readonly fields: Readonly<Record<string, string>>,
    /** JSON of the object without kind/apiVersion: `{"metadata":{...},...}`. */
    readonly body: string,
  ) {}

  /** A fresh parsed copy, safe to mutate. */
  parse(): JsonObject {
    return JSON.parse(this.body) as JsonObject;
  }
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A change to a collection, as stored in the watch history. */
export class WatchEvent {
  private lines: Partial<Record<EventType, string>> = {};
  constructor(
    readonly type: EventType,
    /** New state; for DELETED the last state carrying the deletion's resourceVersion. */
    readonly object: StoredObject,
    /** State before the change (MODIFIED and DELETED). */
    readonly prev: StoredObject | undefined,
    private readonly header: string,
  ) {}

  get rv(): number {
    return this.object.rv;
  }

  /** The wire line of this event as `type` (cached: every watcher shares one string). */
  line(type: EventType, object: StoredObject = this.object): string {
    if (object !== this.object) return renderEventLine(type, this.header, object.body);
    let l = this.lines[type];
    if (l === undefined) {
      l = renderEventLine(type, this.header, object.body);
      this.lines[type] = l;
    }
    return l;
  }
}

export function renderEventLine(type: string, header: string, body: string): string {
  return `{"type":"${type}","object":${withTypeMeta(header, body)}}\n`;
}

/** `{"kind":"Pod","apiVersion":"v1",` + the rest of the stored body. */
export function withTypeMeta(header: string, body: string): string {
  return body.length > 2 ? header + body.slice(1) : header.slice(0, -1) + '}';
}

/** Something that receives a collection's events (a watch connection, the lifecycle simulator). */
export interface CollectionListener {
  onEvent(event: WatchEvent): void;
}

/** Bounded, resourceVersion-ordered history of a collection's events. */
export class EventHistory {
  private readonly events: (WatchEvent | undefined)[];
  private start = 0;
  private count = 0;
  /** The highest resourceVersion that fell out of the history (0 = nothing dropped yet). */
  droppedThrough = 0;

  constructor(readonly capacity: number) {
    this.events = new Array<WatchEvent | undefined>(capacity);
  }

  /**
   * Forgets everything up to `rv`, like a watch cache initialised at that revision: resuming
   * from an older resourceVersion answers 410.
   */
  reset(rv: number): void {
    this.events.fill(undefined);
    this.start = 0;
    this.count = 0;
    this.droppedThrough = rv;
  }

  push(e: WatchEvent): void {
    if (this.capacity === 0) {
      this.droppedThrough = e.rv;
      return;
    }
    if (this.count === this.capacity) {
      const old = this.events[this.start] as WatchEvent;
      this.droppedThrough = old.rv;
      this.events[this.start] = e;
      this.start = (this.start + 1) % this.capacity;
    } else {
      this.events[(this.start + this.count) % this.capacity] = e;
      this.count++;
    }
  }

  /** The oldest resourceVersion still held, or undefined when empty. */
  get oldestRv(): number | undefined {
    return this.count === 0 ? undefined : (this.events[this.start] as WatchEvent).rv;
  }

  /** Events with rv > `rv`, oldest first; undefined when some of them were already dropped. */
  since(rv: number): WatchEvent[] | undefined {
    if (rv < this.droppedThrough) return undefined;
    const out: WatchEvent[] = [];
    // Binary search for the first event with rv > `rv`.
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.events[(this.start + mid) % this.capacity] as WatchEvent;
      if (e.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.count; i++)
      out.push(this.events[(this.start + i) % this.capacity] as WatchEvent);
    return out;
  }
}

/** All objects of one resource type, indexed by namespace then name. */
export class Collection {
  private readonly byNamespace = new Map<string, Map<string, StoredObject>>();
  private total = 0;
  readonly listeners = new Set<CollectionListener>();
  readonly history: EventHistory;
  /** `{"kind":"Pod","apiVersion":"v1",` */
  readonly header: string;

  constructor(
    readonly kind: string,
    readonly apiVersion: string,
    historySize: number,
  ) {
    this.header = `{"kind":"${kind}","apiVersion":"${apiVersion}",`;
    this.history = new EventHistory(historySize);
  }

  get size(): number {
    return this.total;
  }

  get(namespace: string, name: string): StoredObject | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  /** Objects of one namespace (or all), unordered. */
  *values(namespace?: string): IterableIterator<StoredObject> {
    if (namespace !== undefined) {
      const m = this.byNamespace.get(namespace);
      if (m) yield* m.values();
      return;
    }
    for (const m of this.byNamespace.values()) yield* m.values();
  }

  countIn(namespace: string): number {
    return this.byNamespace.get(namespace)?.size ?? 0;
  }

  namespaces(): IterableIterator<string> {
    return this.byNamespace.keys();
  }

  /** Inserts or replaces without emitting (the caller emits). */
  put(obj: StoredObject): StoredObject | undefined {
    let m = this.byNamespace.get(obj.namespace);
    if (!m) {
      m = new Map();
      this.byNamespace.set(obj.namespace, m);
    }
    const prev = m.get(obj.name);
    m.set(obj.name, obj);
    if (!prev) this.total++;
    return prev;
  }

  remove(namespace: string, name: string): StoredObject | undefined {
    const m = this.byNamespace.get(namespace);
    const prev = m?.get(name);
    if (m && prev) {
      m.delete(name);
      this.total--;
      if (m.size === 0) this.byNamespace.delete(namespace);
    }
    return prev;
  }

  emit(event: WatchEvent): void {
    this.history.push(event);
    for (const l of this.listeners) l.onEvent(event);
  }

  /** Renders one stored object as a GET returns it. */
  render(obj: StoredObject): string {
    return withTypeMeta(this.header, obj.body);
  }
}
