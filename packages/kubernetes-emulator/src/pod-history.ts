/**
 * Every pod a cluster ever stored, in creation order, kept after the pod is deleted: what a soak
 * harness counts (pods created per message, across clusters) once cleanup has removed them.
 * Outside the Kubernetes API, like the fault switchboard: in-process and on the admin endpoint.
 */
import { podResourceType } from './pods.js';
import type { ClusterState } from './state.js';
import type { JsonObject, WatchEvent } from './store.js';
import type { PodHistoryEntry } from './types.js';

function stringMap(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

export class PodHistory {
  private readonly entries: PodHistoryEntry[] = [];
  private readonly byUid = new Map<string, PodHistoryEntry>();

  constructor(state: ClusterState) {
    state.collection(podResourceType).listeners.add({ onEvent: (e) => this.onEvent(e) });
  }

  private onEvent(e: WatchEvent): void {
    if (e.type === 'ADDED') {
      const meta = ((e.parsed ?? e.object.parse()).metadata ?? {}) as JsonObject;
      const entry: PodHistoryEntry = {
        namespace: e.object.namespace,
        name: e.object.name,
        uid: e.object.uid,
        createdAt: new Date().toISOString(),
        labels: stringMap(meta.labels),
        annotations: stringMap(meta.annotations),
      };
      this.entries.push(entry);
      this.byUid.set(entry.uid, entry);
    } else if (e.type === 'DELETED') {
      const entry = this.byUid.get(e.object.uid);
      if (entry) {
        entry.deletedAt = new Date().toISOString();
        this.byUid.delete(entry.uid);
      }
    }
  }

  /** Copies of the entries, oldest first, optionally of one namespace. */
  list(namespace?: string): PodHistoryEntry[] {
    const out: PodHistoryEntry[] = [];
    for (const e of this.entries)
      if (namespace === undefined || e.namespace === namespace)
        out.push({ ...e, labels: { ...e.labels }, annotations: { ...e.annotations } });
    return out;
  }
}
