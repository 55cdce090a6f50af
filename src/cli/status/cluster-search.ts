import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';

import type { ClusterClient } from '../../clusters/cluster-client.js';
import type { ClusterEntry } from '../../clusters/cluster-entry.js';
import { isClusterError, type ClusterError } from '../../clusters/errors.js';
import { scrubText } from '../../shared/redaction.js';
import { messageIdOfPod } from './pod-report.js';

/** What `podbus status` uses of the worker's cluster client. */
export type StatusClusterClient = Pick<
  ClusterClient,
  'name' | 'namespace' | 'entry' | 'getPod' | 'listPods' | 'listPodEvents' | 'watchPods' | 'close'
>;

/** What one cluster said about a challenge's pod name. */
export type ClusterAnswer =
  | {
      readonly cluster: string;
      readonly result: 'found';
      readonly pod: V1Pod;
      readonly events: readonly CoreV1Event[] | { readonly problem: string };
    }
  | { readonly cluster: string; readonly result: 'not-found' }
  /** A pod of that name exists but was made for another message (or not by podbus). */
  | { readonly cluster: string; readonly result: 'other-pod'; readonly messageId?: string }
  /** The cluster could not be asked: it may or may not hold the pod. */
  | { readonly cluster: string; readonly result: 'unreachable'; readonly problem: string };

/**
 * Asks one cluster for the pod named after `messageId`: a pod made for that message (podbus's
 * message-id annotation) with its Events, none, someone else's pod under that name, or "could
 * not be asked" with what to do. Never throws.
 */
export async function askCluster(
  client: StatusClusterClient,
  messageId: string,
  podName: string,
  describeProblem: (entry: ClusterEntry, error: ClusterError) => string,
): Promise<ClusterAnswer> {
  const cluster = client.name;
  let pod: V1Pod | undefined;
  try {
    pod = await client.getPod(podName);
  } catch (error) {
    return { cluster, result: 'unreachable', problem: problemText(client, error, describeProblem) };
  }
  if (pod === undefined) return { cluster, result: 'not-found' };
  const owner = messageIdOfPod(pod);
  if (owner !== messageId) {
    return { cluster, result: 'other-pod', ...(owner !== undefined && { messageId: owner }) };
  }
  return { cluster, result: 'found', pod, events: await podEvents(client, pod) };
}

/** The pod's Events, or why they cannot be read (the pod is shown without them). */
export async function podEvents(
  client: StatusClusterClient,
  pod: V1Pod,
): Promise<readonly CoreV1Event[] | { readonly problem: string }> {
  const name = pod.metadata?.name ?? '';
  try {
    return await client.listPodEvents({
      name,
      ...(pod.metadata?.uid !== undefined && { uid: pod.metadata.uid }),
    });
  } catch (error) {
    if (isClusterError(error) && error.kind === 'forbidden') {
      return {
        problem: `the identity of cluster ${client.name} may not list events in namespace ${client.namespace} (give its Role list on events to see them)`,
      };
    }
    return { problem: `events could not be read: ${errorText(error)}` };
  }
}

function problemText(
  client: StatusClusterClient,
  error: unknown,
  describeProblem: (entry: ClusterEntry, error: ClusterError) => string,
): string {
  return isClusterError(error) ? describeProblem(client.entry, error) : errorText(error);
}

function errorText(error: unknown): string {
  return scrubText(error instanceof Error ? error.message : String(error));
}
