import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import type { KubernetesEmulator } from '@podbus/kubernetes-emulator';
import type { QueueInspection, ServiceBusEmulator } from '@podbus/servicebus-emulator';

import { idText, type PlannedMessage } from './message-plan.js';
import { CREATED_BY } from './replicas.js';
import { QUEUE } from './stack.js';

/** The pod annotation podbus writes the message ID into (README, "Messages"). */
const MESSAGE_ID_ANNOTATION = 'podbus.io/message-id';

export interface PodRecord {
  readonly cluster: string;
  readonly name: string;
  /** When the cluster stored it (ISO 8601, milliseconds). */
  readonly createdAt: string;
  /** The replica process that created it (replicas.ts, CREATED_BY). */
  readonly createdBy: string;
}

/** What the emulators hold at the end of a run. */
export interface EndState {
  /** Pods by the message ID annotation, across every cluster. */
  readonly pods: Map<string, PodRecord[]>;
  readonly podsPerCluster: Map<string, number>;
  /** Dead letters by message ID: their reasons. */
  readonly deadLetters: Map<string, string[]>;
  /** IDs of the messages still in the queue (active, locked, scheduled or deferred). */
  readonly leftInQueue: Set<string>;
  readonly queue: QueueInspection;
}

/**
 * Reads the end state from the emulators themselves: every pod each cluster ever created (its
 * creation history, not what podbus logged), the broker's counts and its dead letters.
 */
export async function readEndState(
  kubernetes: KubernetesEmulator,
  serviceBus: ServiceBusEmulator,
  client: ServiceBusClient,
): Promise<EndState> {
  const pods = new Map<string, PodRecord[]>();
  const podsPerCluster = new Map<string, number>();
  for (const cluster of kubernetes.clusters) {
    // Every pod the cluster ever stored, deleted ones too: what was created, not what is left.
    const created = cluster.podHistory(cluster.namespace);
    podsPerCluster.set(cluster.name, created.length);
    for (const pod of created) {
      const id = pod.annotations[MESSAGE_ID_ANNOTATION] ?? `(no annotation: ${pod.name})`;
      const list = pods.get(id) ?? [];
      list.push({
        cluster: cluster.name,
        name: pod.name,
        createdAt: pod.createdAt,
        createdBy: pod.annotations[CREATED_BY] ?? '?',
      });
      pods.set(id, list);
    }
  }
  const deadLetters = new Map<string, string[]>();
  for (const letter of serviceBus.deadLetters(QUEUE)) {
    const id = letter.messageId ?? '';
    deadLetters.set(id, [...(deadLetters.get(id) ?? []), letter.reason ?? '(none)']);
  }
  const queue = serviceBus.inspect(QUEUE);
  // Which messages are left, when some are: peeked with the SDK (the broker's own listing
  // has only the dead letters).
  const left = queue.active + queue.scheduled + queue.deferred + queue.locked > 0;
  const leftInQueue = new Set(
    left ? (await peekAll(client)).map((m) => idText(m.messageId as string | number | Buffer)) : [],
  );
  return { pods, podsPerCluster, deadLetters, leftInQueue, queue };
}

async function peekAll(client: ServiceBusClient): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(QUEUE);
  try {
    const all: ServiceBusReceivedMessage[] = [];
    for (;;) {
      const batch = await receiver.peekMessages(250);
      if (batch.length === 0) return all;
      all.push(...batch);
    }
  } finally {
    await receiver.close();
  }
}

/** How each planned message ended, and what the run proves. */
export interface Tally {
  readonly sent: number;
  readonly valid: number;
  readonly invalid: number;
  readonly sentTwice: number;
  readonly pods: number;
  readonly podsPerCluster: Map<string, number>;
  /** Pods beyond the first for one message ID (any cluster). */
  readonly duplicates: number;
  /** Message IDs with more than one pod, and those pods (cluster, name, replica, time). */
  readonly duplicateIds: string[];
  readonly duplicatePods: string[];
  /** Messages with no pod, no dead letter, and not in the queue. */
  readonly lost: string[];
  readonly leftInQueue: string[];
  /** Valid messages that were dead-lettered (any reason), with the reasons. */
  readonly validDeadLettered: { id: string; reasons: string[] }[];
  /** Invalid messages that got a pod, or the wrong reason. */
  readonly invalidMishandled: { id: string; expected: string; got: string }[];
  /** Pods whose message ID was never sent. */
  readonly strayPods: string[];
  readonly deadLettered: Map<string, number>;
  /** Enqueue -> pod created, of valid messages, in ms (sorted). */
  readonly latenciesMs: number[];
}

export function tally(
  plan: readonly PlannedMessage[],
  state: EndState,
  sentAt: ReadonlyMap<number, number>,
): Tally {
  const planned = new Set(plan.map((m) => m.idText));
  // The broker lists a uuid message ID with dashes; podbus (and the plan) writes its hex.
  const deadLetters = new Map<string, string[]>();
  for (const [id, reasons] of state.deadLetters) {
    const undashed = id.replaceAll('-', '');
    const key = !planned.has(id) && planned.has(undashed) ? undashed : id;
    deadLetters.set(key, [...(deadLetters.get(key) ?? []), ...reasons]);
  }
  const lost: string[] = [];
  const leftInQueue: string[] = [];
  const validDeadLettered: Tally['validDeadLettered'] = [];
  const invalidMishandled: Tally['invalidMishandled'] = [];
  const latenciesMs: number[] = [];
  for (const m of plan) {
    const pods = state.pods.get(m.idText) ?? [];
    const reasons = deadLetters.get(m.idText) ?? [];
    if (pods.length === 0 && reasons.length === 0) {
      (state.leftInQueue.has(m.idText) ? leftInQueue : lost).push(m.idText);
      continue;
    }
    if (m.expected.kind === 'pod') {
      if (reasons.length > 0) validDeadLettered.push({ id: m.idText, reasons });
      const sent = sentAt.get(m.index);
      if (pods.length > 0 && sent !== undefined)
        latenciesMs.push(Math.min(...pods.map((p) => Date.parse(p.createdAt))) - sent);
    } else {
      const expected = m.expected.reason;
      if (pods.length > 0) {
        invalidMishandled.push({ id: m.idText, expected, got: `a pod on ${pods[0]!.cluster}` });
      } else if (reasons.some((r) => r !== expected)) {
        invalidMishandled.push({ id: m.idText, expected, got: reasons.join(', ') });
      }
    }
  }
  let duplicates = 0;
  const duplicateIds: string[] = [];
  const duplicatePods: string[] = [];
  let pods = 0;
  const strayPods: string[] = [];
  for (const [id, records] of state.pods) {
    pods += records.length;
    if (!planned.has(id)) strayPods.push(...records.map((r) => `${r.cluster}/${r.name}`));
    if (records.length > 1) {
      duplicates += records.length - 1;
      duplicateIds.push(id);
      const twice = plan.find((m) => m.idText === id)?.sentTwice ? ' (sent twice)' : '';
      duplicatePods.push(
        `${id}${twice}: ${records.map((r) => `${r.cluster}/${r.name} by replica ${r.createdBy} at ${r.createdAt}`).join(', ')}`,
      );
    }
  }
  const deadLettered = new Map<string, number>();
  for (const reasons of deadLetters.values()) {
    for (const r of reasons) deadLettered.set(r, (deadLettered.get(r) ?? 0) + 1);
  }
  const valid = plan.filter((m) => m.expected.kind === 'pod').length;
  return {
    sent: plan.length,
    valid,
    invalid: plan.length - valid,
    sentTwice: plan.filter((m) => m.sentTwice).length,
    pods,
    podsPerCluster: state.podsPerCluster,
    duplicates,
    duplicateIds,
    duplicatePods,
    lost,
    leftInQueue,
    validDeadLettered,
    invalidMishandled,
    strayPods,
    deadLettered,
    latenciesMs: latenciesMs.sort((a, b) => a - b),
  };
}

/** The run passes only if nothing was duplicated, lost, left or mishandled. */
export function failures(t: Tally): string[] {
  const out: string[] = [];
  if (t.duplicates > 0) out.push(`${t.duplicates} duplicate pod(s)`);
  if (t.lost.length > 0) out.push(`${t.lost.length} message(s) lost`);
  if (t.leftInQueue.length > 0) out.push(`${t.leftInQueue.length} message(s) still in the queue`);
  if (t.validDeadLettered.length > 0)
    out.push(`${t.validDeadLettered.length} valid message(s) dead-lettered`);
  if (t.invalidMishandled.length > 0)
    out.push(`${t.invalidMishandled.length} invalid message(s) not dead-lettered as expected`);
  if (t.strayPods.length > 0) out.push(`${t.strayPods.length} pod(s) for no message sent`);
  return out;
}
