import type { ServiceBusClient, ServiceBusReceiver } from '@azure/service-bus';

import type { KubernetesEmulator, PodObject } from '@podbus/kubernetes-emulator';

/** What has been seen so far, for the demo's summary. */
export interface Seen {
  /** cluster/pod -> last phase */
  readonly pods: ReadonlyMap<string, string>;
  /** messageId -> DeadLetterReason */
  readonly deadLettered: ReadonlyMap<string, string>;
  /** messageId of the challenge -> the outcome of its result */
  readonly results: ReadonlyMap<string, string>;
  /** cluster/pod of the pods seen and then gone (deleted by cleanup) */
  readonly deleted: ReadonlySet<string>;
}

/** The fields of a result body the demo prints (schema/challenge-result.schema.json). */
interface ResultBody {
  readonly outcome?: string;
  readonly cluster?: string;
  readonly pod?: { readonly name?: string };
  readonly reason?: string;
  readonly durations?: { readonly totalSeconds?: number };
  readonly containers?: readonly { readonly exitCode?: number }[];
}

/**
 * Narrates the demo: every pod phase change on the simulated clusters, every message that
 * lands in the dead-letter queue, every result that comes back on the results queue, and every
 * pod cleanup deletes, as lines a person can follow. Reads the emulators' state directly (pods)
 * and peeks the queues through the SDK, so it never competes with the worker or takes a
 * result away from whoever else reads the results queue.
 */
export class ProgressReporter {
  private readonly pods = new Map<string, string>();
  private readonly deadLettered = new Map<string, string>();
  private readonly results = new Map<string, string>();
  private readonly deleted = new Set<string>();
  private readonly dlq: ServiceBusReceiver;
  private readonly resultQueue: ServiceBusReceiver | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly kubernetes: KubernetesEmulator,
    client: ServiceBusClient,
    queues: { readonly challenges: string; readonly results?: string },
    private readonly write: (line: string) => void,
  ) {
    this.dlq = client.createReceiver(queues.challenges, { subQueueType: 'deadLetter' });
    this.resultQueue =
      queues.results === undefined ? undefined : client.createReceiver(queues.results);
  }

  get seen(): Seen {
    return {
      pods: this.pods,
      deadLettered: this.deadLettered,
      results: this.results,
      deleted: this.deleted,
    };
  }

  start(intervalMs = 250): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.dlq.close();
    await this.resultQueue?.close();
  }

  /** One look at pods and the queues; also used to flush before the summary. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const message of await this.dlq.peekMessages(50)) {
        const id = String(message.messageId);
        if (this.deadLettered.has(id)) continue;
        const reason = message.deadLetterReason ?? 'unknown';
        this.deadLettered.set(id, reason);
        this.write(
          `  ✗ ${id}  dead-lettered: ${reason}: ${message.deadLetterErrorDescription ?? ''}`,
        );
      }
      for (const message of (await this.resultQueue?.peekMessages(50)) ?? []) {
        const id = String(message.correlationId);
        if (this.results.has(id)) continue;
        const body = (message.body ?? {}) as ResultBody;
        this.results.set(id, body.outcome ?? String(message.subject));
        this.write(`  ↩ ${id}  result: ${describeResult(body)}`);
      }
      // After the queues: a result comes before the cleanup of its pod.
      const present = new Set<string>();
      for (const cluster of this.kubernetes.clusters) {
        for (const pod of cluster.listPods(cluster.namespace)) {
          present.add(this.notePod(cluster.name, pod));
        }
      }
      for (const key of this.pods.keys()) {
        if (present.has(key) || this.deleted.has(key)) continue;
        this.deleted.add(key);
        this.write(`  ✂ ${key.padEnd(32)} deleted by cleanup (its result was sent)`);
      }
    } catch {
      // The demo goes on; the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  private notePod(cluster: string, pod: PodObject): string {
    const key = `${cluster}/${pod.metadata.name}`;
    const phase = describePhase(pod);
    if (this.pods.get(key) !== phase) {
      this.pods.set(key, phase);
      this.write(`  ● ${key.padEnd(32)} ${phase}`);
    }
    return key;
  }
}

interface ContainerStatusLike {
  state?: { terminated?: { exitCode?: number }; waiting?: { reason?: string } };
}

function describePhase(pod: PodObject): string {
  const phase = pod.status.phase;
  const statuses = (pod.status.containerStatuses ?? []) as ContainerStatusLike[];
  if (phase !== 'Succeeded' && phase !== 'Failed') {
    const waiting = statuses.map((s) => s.state?.waiting?.reason).find((r) => r !== undefined);
    // ErrImagePull and ImagePullBackOff take turns; one word for both keeps the narration calm.
    return waiting === 'ErrImagePull' || waiting === 'ImagePullBackOff'
      ? `${phase} (image pull failing)`
      : phase;
  }
  const codes = statuses.map((s) => s.state?.terminated?.exitCode).filter((c) => c !== undefined);
  return codes.length > 0 ? `${phase} (exit ${codes.join(', ')})` : phase;
}

function describeResult(body: ResultBody): string {
  const codes = (body.containers ?? []).map((c) => c.exitCode).filter((c) => c !== undefined);
  const parts = [
    body.outcome ?? 'unknown',
    codes.length > 0 ? `(exit ${codes.join(', ')})` : body.reason ? `(${body.reason})` : '',
    body.cluster && body.pod?.name ? `from ${body.cluster}/${body.pod.name}` : '',
    body.durations?.totalSeconds !== undefined ? `after ${body.durations.totalSeconds} s` : '',
  ];
  return parts.filter((p) => p !== '').join(' ');
}
