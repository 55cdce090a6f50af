import type { V1Pod } from '@kubernetes/client-node';

import { Backoff, sleep } from '../../clusters/backoff.js';
import type { WatchEventType } from '../../clusters/cluster-client.js';
import { isClusterError, type ClusterError } from '../../clusters/errors.js';
import type { StatusClusterClient } from './cluster-search.js';

/** What a pod follower reports: the pod as it is now, its deletion, or a cluster that fails. */
export type PodNews =
  | { readonly kind: 'pod'; readonly pod: V1Pod | undefined }
  | { readonly kind: 'deleted' }
  | { readonly kind: 'problem'; readonly error: unknown };

/**
 * Follows one pod name on one cluster, as `kubectl get pod NAME --watch` does: a list with
 * `fieldSelector=metadata.name=NAME` (the pod, or none yet), then a watch from that list's
 * resourceVersion, so its creation, every change and its deletion arrive as they happen; no
 * polling. The watch is resumed from the last resourceVersion when it ends (client-node ends a
 * quiet watch after 30 s, the server at its timeout), relisted when that version has expired,
 * and retried with backoff while the cluster fails (reported as a problem meanwhile).
 * Runs until `signal` aborts.
 */
export async function followPod(
  client: StatusClusterClient,
  podName: string,
  report: (news: PodNews) => void,
  signal: AbortSignal,
): Promise<void> {
  const fieldSelector = `metadata.name=${podName}`;
  const backoff = new Backoff({ baseMs: 500, maxMs: 10_000, jitter: 'full' });
  let resourceVersion: string | undefined;
  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      try {
        const list = await client.listPods({ fieldSelector, signal });
        resourceVersion = list.resourceVersion;
        report({ kind: 'pod', pod: list.items[0] });
      } catch (error) {
        if (signal.aborted) return;
        report({ kind: 'problem', error });
        await pause(backoff.next(retryAfter(error)), signal);
        continue;
      }
    }
    const end = await watchOnce(client, { fieldSelector, resourceVersion }, report, signal);
    if (end.resourceVersion !== undefined) resourceVersion = end.resourceVersion;
    if (end.progressed) backoff.reset();
    if (end.relist) resourceVersion = undefined;
    if (signal.aborted) return;
    if (end.error !== undefined) {
      report({ kind: 'problem', error: end.error });
      await pause(backoff.next(retryAfter(end.error)), signal);
    } else if (!end.progressed) {
      // A watch that ends at once with nothing in it must not turn into a tight loop.
      await pause(backoff.next(), signal);
    }
  }
}

interface WatchEnd {
  /** The last resourceVersion seen (events and BOOKMARKs). */
  readonly resourceVersion?: string;
  /** Events arrived: the cluster works, the backoff starts over. */
  readonly progressed: boolean;
  /** The version expired (410): list again. */
  readonly relist: boolean;
  readonly error?: ClusterError;
}

async function watchOnce(
  client: StatusClusterClient,
  query: { fieldSelector: string; resourceVersion: string },
  report: (news: PodNews) => void,
  signal: AbortSignal,
): Promise<WatchEnd> {
  let resourceVersion: string | undefined;
  let progressed = false;
  let relist = false;
  let resolveDone!: (error: ClusterError | null) => void;
  const done = new Promise<ClusterError | null>((resolve) => (resolveDone = resolve));
  const onEvent = (type: WatchEventType, object: unknown): void => {
    const obj = (object ?? {}) as V1Pod & { code?: number };
    if (type === 'ERROR') {
      // An expired resourceVersion arrives as 200 + an ERROR event carrying a 410 Status.
      relist = true;
      return;
    }
    progressed = true;
    resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED') report({ kind: 'pod', pod: obj });
    else if (type === 'DELETED') report({ kind: 'deleted' });
  };
  let handle: { stop(): void } | undefined;
  const stop = (): void => handle?.stop();
  signal.addEventListener('abort', stop, { once: true });
  try {
    handle = await client.watchPods({ ...query, allowWatchBookmarks: true }, onEvent, (error) =>
      resolveDone(error),
    );
    if (signal.aborted) handle.stop();
    const error = await done;
    if (error?.kind === 'expired') return { progressed, relist: true };
    // client-node ends a watch that has been quiet for 30 s: resume it, nothing is wrong.
    const quiet = error?.kind === 'timeout';
    return {
      ...(resourceVersion !== undefined && { resourceVersion }),
      progressed: progressed || quiet,
      relist,
      ...(error !== null && !quiet && { error }),
    };
  } catch (error) {
    return { progressed, relist, ...(isClusterError(error) && { error }) };
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

function retryAfter(error: unknown): number | undefined {
  return isClusterError(error) ? error.retryAfterMs : undefined;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, signal).catch(() => undefined);
}
