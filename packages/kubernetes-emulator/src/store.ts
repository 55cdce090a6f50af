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
import { DeltaDictionary } from './delta-codec.js';
import type { Labels } from './selectors.js';

export type JsonObject = Record<string, unknown>;

/**
 * One stored version of an object. Immutable in content; a write creates a new one. A version
 * that has been idle for a while may be compressed in place (see Compactor): its JSON is then
 * kept delta-encoded against a per-collection dictionary and decoded on each read.
 */
export class StoredObject {
  private text: string | undefined;
  private packed: string | undefined;
  private dictionary: DeltaDictionary | undefined;

  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly uid: string,
    readonly rv: number,
    readonly labels: Labels,
    /** Values of the type's field labels (field selectors), interned strings. */
    readonly fields: Readonly<Record<string, string>>,
    /** JSON of the object without kind/apiVersion: `{"metadata":{...},...}`. */
    body: string,
  ) {
    this.text = body;
  }

  /** JSON of the object without kind/apiVersion. */
  get body(): string {
    if (this.text !== undefined) return this.text;
    return (this.dictionary as DeltaDictionary).decode(this.packed as string);
  }

  get compressed(): boolean {
    return this.text === undefined;
  }

  /** Delta-encodes the JSON against `dictionary` when that saves at least a fifth; returns chars saved. */
  compress(dictionary: DeltaDictionary): number {
    const text = this.text;
    if (text === undefined) return 0;
    const packed = dictionary.encode(text);
    if (packed === undefined) return 0;
    this.packed = packed;
    this.dictionary = dictionary;
    this.text = undefined;
    return text.length - packed.length;
  }

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
    /**
     * The object `object` was serialized from, when the writer had it (saves listeners a parse).
     * Listeners must treat it as read-only; it is dropped after the event is dispatched.
     */
    public parsed?: JsonObject,
  ) {}

  get rv(): number {
    return this.object.rv;
  }

  dropLines(): void {
    this.lines = {};
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
    // Keep history entries small: the rendered lines and the parsed object were for this dispatch.
    event.parsed = undefined;
    event.dropLines();
  }

  /** Renders one stored object as a GET returns it. */
  render(obj: StoredObject): string {
    return withTypeMeta(this.header, obj.body);
  }
}

/**
 * Compresses cold object versions so that tens of thousands of stored pods stay small: versions
 * idle for `coldAfterMs` (current objects and the history's old versions alike) are
 * delta-encoded against a dictionary sampled from the collection's own objects. Runs on a timer with a time
 * budget per tick, only while the cluster holds at least `minObjects` objects.
 */
export class Compactor {
  private readonly queue: { obj: StoredObject; collection: Collection; at: number }[] = [];
  private head = 0;
  private readonly dictionaries = new Map<
    Collection,
    { dict: DeltaDictionary; samples: string[]; misses: number }
  >();
  private timer: NodeJS.Timeout | undefined;
  bytesSaved = 0;

  constructor(
    private readonly options: { coldAfterMs: number; minObjects: number; budgetMs: number },
    private readonly objectCount: () => number,
  ) {}

  /** Registers a freshly written version. */
  written(obj: StoredObject, collection: Collection): void {
    this.queue.push({ obj, collection, at: Date.now() });
    if (this.timer === undefined && this.options.coldAfterMs >= 0) {
      this.timer = setInterval(() => this.sweep(), 100);
      this.timer.unref();
    }
  }

  /**
   * Compresses one version with its collection's dictionary: initially the first version seen;
   * when versions keep encoding poorly (a new shape, e.g. pods in a phase not sampled yet), one
   * of them is added to the samples (up to 6) and the dictionary rebuilt. Versions already
   * encoded keep a reference to the dictionary they were encoded with.
   */
  private compressOne(collection: Collection, obj: StoredObject): void {
    const body = obj.body;
    let st = this.dictionaries.get(collection);
    if (st === undefined) {
      st = { dict: new DeltaDictionary(body), samples: [body], misses: 0 };
      this.dictionaries.set(collection, st);
    }
    const before = body.length;
    const saved = obj.compress(st.dict);
    this.bytesSaved += saved;
    if (saved < before * 0.75 && ++st.misses >= 16) {
      st.samples.push(body);
      if (st.samples.length > 6) st.samples.shift();
      st.dict = new DeltaDictionary(st.samples.join(''));
      st.misses = 0;
    }
  }

  /** Compresses what has cooled down, within the time budget. */
  sweep(now = Date.now()): void {
    const big = this.objectCount() >= this.options.minObjects;
    // A larger slice while far behind (bursts of writes), a small one otherwise.
    const budget = this.backlog > 5000 ? this.options.budgetMs * 2 : this.options.budgetMs;
    const deadline = performance.now() + budget;
    while (this.head < this.queue.length) {
      const e = this.queue[this.head] as { obj: StoredObject; collection: Collection; at: number };
      if (now - e.at < this.options.coldAfterMs) break;
      if (big && !e.obj.compressed) this.compressOne(e.collection, e.obj);
      this.head++;
      if (performance.now() > deadline) break;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Written versions not yet considered for compression. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.head = 0;
  }
}
