import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import type { KubernetesEmulator } from '@podbus/kubernetes-emulator';
import type { QueueInspection, ServiceBusEmulator } from '@podbus/servicebus-emulator';

import { idText, type PlannedMessage } from './message-plan.js';
import type { PodClock } from './pod-clock.js';
import { QUEUE } from './stack.js';

/** The pod annotation podbus writes the message ID into (README, "Messages"). */
const MESSAGE_ID_ANNOTATION = 'podbus.io/message-id';

export interface PodRecord {
  readonly cluster: string;
  readonly name: string;
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
 * Reads the end state from the emulators themselves: the pods stored on every cluster (not
 * what podbus logged), and the broker's queue and dead-letter queue (peeked with the SDK, so
 * the messages are left where they are).
 */
export async function readEndState(
  kubernetes: KubernetesEmulator,
  serviceBus: ServiceBusEmulator,
  client: ServiceBusClient,
): Promise<EndState> {
  const pods = new Map<string, PodRecord[]>();
  const podsPerCluster = new Map<string, number>();
  for (const cluster of kubernetes.clusters) {
    const stored = cluster.listPods(cluster.namespace);
    podsPerCluster.set(cluster.name, stored.length);
    for (const pod of stored) {
      const annotations = (pod.metadata.annotations ?? {}) as Record<string, string>;
      const id = annotations[MESSAGE_ID_ANNOTATION] ?? `(no annotation: ${pod.metadata.name})`;
      const list = pods.get(id) ?? [];
      list.push({ cluster: cluster.name, name: pod.metadata.name });
      pods.set(id, list);
    }
  }
  const deadLetters = new Map<string, string[]>();
  for (const m of await peekAll(client, 'deadLetter')) {
    const id = idText(m.messageId as string | number | Buffer | undefined);
    deadLetters.set(id, [...(deadLetters.get(id) ?? []), m.deadLetterReason ?? '(none)']);
  }
  const leftInQueue = new Set(
    (await peekAll(client)).map((m) => idText(m.messageId as string | number | Buffer)),
  );
  return { pods, podsPerCluster, deadLetters, leftInQueue, queue: serviceBus.inspect(QUEUE) };
}

async function peekAll(
  client: ServiceBusClient,
  subQueueType?: 'deadLetter',
): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(QUEUE, subQueueType ? { subQueueType } : {});
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
  readonly duplicateIds: string[];
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
  /** Enqueue -> pod first seen, of valid messages, in ms (sorted). */
  readonly latenciesMs: number[];
}

export function tally(
  plan: readonly PlannedMessage[],
  state: EndState,
  sentAt: ReadonlyMap<number, number>,
  clock: PodClock,
): Tally {
  const planned = new Set(plan.map((m) => m.idText));
  const lost: string[] = [];
  const leftInQueue: string[] = [];
  const validDeadLettered: Tally['validDeadLettered'] = [];
  const invalidMishandled: Tally['invalidMishandled'] = [];
  const latenciesMs: number[] = [];
  for (const m of plan) {
    const pods = state.pods.get(m.idText) ?? [];
    const reasons = state.deadLetters.get(m.idText) ?? [];
    if (pods.length === 0 && reasons.length === 0) {
      (state.leftInQueue.has(m.idText) ? leftInQueue : lost).push(m.idText);
      continue;
    }
    if (m.expected.kind === 'pod') {
      if (reasons.length > 0) validDeadLettered.push({ id: m.idText, reasons });
      const seen = pods.map((p) => clock.seenAt(p.cluster, p.name)).filter((t) => t !== undefined);
      const sent = sentAt.get(m.index);
      if (seen.length > 0 && sent !== undefined) latenciesMs.push(Math.min(...seen) - sent);
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
  let pods = 0;
  const strayPods: string[] = [];
  for (const [id, records] of state.pods) {
    pods += records.length;
    if (!planned.has(id)) strayPods.push(...records.map((r) => `${r.cluster}/${r.name}`));
    if (records.length > 1) {
      duplicates += records.length - 1;
      duplicateIds.push(id);
    }
  }
  const deadLettered = new Map<string, number>();
  for (const reasons of state.deadLetters.values()) {
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
