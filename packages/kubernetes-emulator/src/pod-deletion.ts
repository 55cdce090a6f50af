/**
 * Pod deletion as kube-apiserver 1.32 does it (rest.BeforeDelete with the pod strategy's
 * CheckGracefulDelete, then the generic store's Delete): every pod delete first *updates* the
 * pod with `deletionTimestamp` and `deletionGracePeriodSeconds` (watches see MODIFIED), then:
 *
 * - grace 0 (asked for, or forced because the pod is unscheduled or terminal): the object is
 *   removed at once (DELETED), and the DELETE answer is that last state;
 * - grace > 0: the pod stays, Terminating, until its kubelet has stopped the containers,
 *   written the final status and deleted it again with grace 0 (MODIFIED, then DELETED);
 * - already being deleted: only a shorter grace period changes anything (the deadline moves
 *   earlier); otherwise the answer is the pod as it is.
 */
import { podResourceType } from './pods.js';
import { metadataOf } from './resource-type.js';
import { rfc3339, type ClusterState } from './state.js';
import type { JsonObject, StoredObject } from './store.js';

/** The simulated kubelet's side of a graceful delete. */
export interface PodTerminator {
  /**
   * Starts stopping a pod the API marked for deletion with `graceSeconds` > 0; false when no
   * kubelet runs it (then the pod is removed at once, as pod GC would soon).
   */
  scheduleRemoval(namespace: string, name: string, graceSeconds: number): boolean;
}

/** podStrategy.CheckGracefulDelete: the grace period a delete of `pod` gets. */
export function gracePeriodFor(pod: JsonObject, requested: number | undefined): number {
  const spec = (pod.spec ?? {}) as JsonObject;
  const status = (pod.status ?? {}) as JsonObject;
  let period = requested ?? (spec.terminationGracePeriodSeconds as number | undefined) ?? 0;
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '') period = 0;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') period = 0;
  if (period < 0) period = 1;
  return period;
}

/**
 * Deletes `prev` with the grace period the client asked for (undefined: the pod's own); returns
 * the pod as the DELETE answer shows it.
 */
export function deletePod(
  state: ClusterState,
  prev: StoredObject,
  requested: number | undefined,
  kubelet: PodTerminator,
  nowMs = Date.now(),
): StoredObject {
  const pod = prev.parse();
  const meta = metadataOf(pod);
  let grace: number;
  if (typeof meta.deletionTimestamp === 'string') {
    const current = meta.deletionGracePeriodSeconds as number | undefined;
    // A deletion stuck at grace 0 is finished without another update.
    if (current === undefined || current === 0) return state.remove(podResourceType, prev);
    if (requested === undefined || requested >= current) return prev;
    grace = Math.max(0, requested);
    const deadline = Date.parse(meta.deletionTimestamp) - current * 1000 + grace * 1000;
    meta.deletionTimestamp = rfc3339(deadline);
  } else {
    grace = gracePeriodFor(pod, requested);
    meta.deletionTimestamp = rfc3339(nowMs + grace * 1000);
  }
  meta.deletionGracePeriodSeconds = grace;
  const marked = state.replace(podResourceType, pod, prev);
  if (grace === 0) return state.remove(podResourceType, marked);
  if (!kubelet.scheduleRemoval(marked.namespace, marked.name, grace))
    return state.remove(podResourceType, marked);
  return marked;
}
