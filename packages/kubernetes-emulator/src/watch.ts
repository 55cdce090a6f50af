/**
 * One watch stream: HTTP 200 with chunked JSON lines `{"type":...,"object":...}`.
 * Objects entering or leaving the selector appear as ADDED/DELETED, as the watch cache's
 * filtering does; an expired resourceVersion is answered with 200 plus an ERROR event (410)
 * and the stream closes. Lines are batched per event-loop turn into one write.
 */
import type { ServerResponse } from 'node:http';

import { fieldValue } from './resource-type.js';
import { matchFields, type FieldRequirement, type LabelSelector } from './selectors.js';
import {
  renderEventLine,
  type Collection,
  type CollectionListener,
  type EventType,
  type StoredObject,
  type WatchEvent,
} from './store.js';

/** Closes a watch whose client does not read (the real server drops slow watchers too). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export interface WatchFilter {
  namespace: string | undefined;
  labels: LabelSelector;
  fields: readonly FieldRequirement[];
}

export function matchesFilter(f: WatchFilter, obj: StoredObject): boolean {
  if (f.namespace !== undefined && obj.namespace !== f.namespace) return false;
  if (!f.labels.empty && !f.labels.matches(obj.labels)) return false;
  if (f.fields.length > 0 && !matchFields(f.fields, (field) => fieldValue(obj, field)))
    return false;
  return true;
}

export interface WatchOptions {
  res: ServerResponse;
  collection: Collection;
  filter: WatchFilter;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs: number;
  /** Current store resourceVersion, for bookmarks. */
  currentRv: () => number;
  /** Renders an event line differently (server-side Table for kubectl -w); undefined = JSON. */
  renderLine?: (type: string, obj: StoredObject, first: boolean) => string;
  onClose: (w: WatchConnection) => void;
}

export class WatchConnection implements CollectionListener {
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private closed = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private sentFirst = false;

  constructor(private readonly o: WatchOptions) {}

  /** Registers with the collection and sends `initial` (ADDED for a fresh watch, or replayed events). */
  start(initial: {
    added?: Iterable<StoredObject>;
    replay?: WatchEvent[];
    initialEventsEnd?: boolean;
  }): void {
    const { res } = this.o;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    res.on('close', () => this.close());
    if (initial.added)
      for (const obj of initial.added)
        if (matchesFilter(this.o.filter, obj)) this.queue('ADDED', obj);
    if (initial.replay) for (const e of initial.replay) this.onEvent(e);
    if (initial.initialEventsEnd) this.queueRaw(this.bookmarkLine(true));
    this.o.collection.listeners.add(this);
    if (this.o.bookmarks && this.o.bookmarkIntervalMs > 0) {
      this.bookmarkTimer = setInterval(
        () => this.queueRaw(this.bookmarkLine(false)),
        this.o.bookmarkIntervalMs,
      );
      this.bookmarkTimer.unref();
    }
    this.timeoutTimer = setTimeout(() => this.end(), this.o.timeoutMs);
    this.timeoutTimer.unref();
  }

  private bookmarkLine(initialEventsEnd: boolean): string {
    const meta: Record<string, unknown> = { resourceVersion: String(this.o.currentRv()) };
    if (initialEventsEnd) meta.annotations = { 'k8s.io/initial-events-end': 'true' };
    const c = this.o.collection;
    return `{"type":"BOOKMARK","object":{"kind":"${c.kind}","apiVersion":"${c.apiVersion}","metadata":${JSON.stringify(meta)}}}\n`;
  }

  onEvent(e: WatchEvent): void {
    if (this.closed) return;
    const f = this.o.filter;
    const cur = e.type !== 'DELETED' && matchesFilter(f, e.object);
    const old = e.prev !== undefined && matchesFilter(f, e.prev);
    if (!cur && !old) return;
    if (cur && !old) this.queueEvent(e, e.type === 'MODIFIED' ? 'ADDED' : e.type);
    else if (cur && old) this.queueEvent(e, 'MODIFIED');
    else if (e.type === 'DELETED') this.queueEvent(e, 'DELETED');
    else {
      // Left the selector: DELETED with the previous content at this event's version.
      const prev = e.prev as StoredObject;
      const body = prev.body.replace(
        `"resourceVersion":"${prev.rv}"`,
        `"resourceVersion":"${e.rv}"`,
      );
      if (this.o.renderLine) this.queueRaw(this.o.renderLine('DELETED', prev, this.first()));
      else this.queueRaw(renderEventLine('DELETED', this.o.collection.header, body));
    }
  }

  private first(): boolean {
    const f = !this.sentFirst;
    this.sentFirst = true;
    return f;
  }

  private queueEvent(e: WatchEvent, type: EventType): void {
    if (this.o.renderLine) this.queueRaw(this.o.renderLine(type, e.object, this.first()));
    else this.queueRaw(e.line(type));
  }

  private queue(type: EventType, obj: StoredObject): void {
    if (this.o.renderLine) this.queueRaw(this.o.renderLine(type, obj, this.first()));
    else this.queueRaw(renderEventLine(type, this.o.collection.header, obj.body));
  }

  private queueRaw(line: string): void {
    if (this.closed) return;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes > 256 * 1024) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? (this.pending[0] as string) : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.o.res.write(chunk);
    if (this.o.res.writableLength > MAX_BUFFERED_BYTES) this.close(true);
  }

  /** Sends a final ERROR event and ends the stream (expired resourceVersion). */
  fail(statusJson: string): void {
    this.queueRaw(`{"type":"ERROR","object":${statusJson}}\n`);
    this.end();
  }

  /** Ends the stream cleanly (timeout, server stop). */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.close();
    this.o.res.end();
  }

  close(destroy = false): void {
    if (this.closed) return;
    this.closed = true;
    this.o.collection.listeners.delete(this);
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    if (destroy) this.o.res.destroy();
    this.o.onClose(this);
  }
}
