import type { ServiceBusClient, ServiceBusReceiver } from '@azure/service-bus';

import type { KubernetesEmulator, PodObject } from '@podbus/kubernetes-emulator';

/** What has been seen so far, for the demo's summary. */
export interface Seen {
  /** cluster/pod -> last phase */
  readonly pods: ReadonlyMap<string, string>;
  /** messageId -> DeadLetterReason */
  readonly deadLettered: ReadonlyMap<string, string>;
}

/**
 * Narrates the demo: every pod phase change on the simulated clusters and every message that
 * lands in the dead-letter queue, as lines a person can follow. Reads the emulators' state
 * directly (pods) and peeks the DLQ through the SDK, so it never competes with the worker.
 */
export class ProgressReporter {
  private readonly pods = new Map<string, string>();
  private readonly deadLettered = new Map<string, string>();
  private readonly dlq: ServiceBusReceiver;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly kubernetes: KubernetesEmulator,
    client: ServiceBusClient,
    queue: string,
    private readonly write: (line: string) => void,
  ) {
    this.dlq = client.createReceiver(queue, { subQueueType: 'deadLetter' });
  }

  get seen(): Seen {
    return { pods: this.pods, deadLettered: this.deadLettered };
  }

  start(intervalMs = 250): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.dlq.close();
  }

  /** One look at pods and the DLQ; also used to flush before the summary. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const cluster of this.kubernetes.clusters) {
        for (const pod of cluster.listPods(cluster.namespace)) this.notePod(cluster.name, pod);
      }
      for (const message of await this.dlq.peekMessages(50)) {
        const id = String(message.messageId);
        if (this.deadLettered.has(id)) continue;
        const reason = message.deadLetterReason ?? 'unknown';
        this.deadLettered.set(id, reason);
        this.write(
          `  ✗ ${id}  dead-lettered: ${reason}: ${message.deadLetterErrorDescription ?? ''}`,
        );
      }
    } catch {
      // The demo goes on; the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  private notePod(cluster: string, pod: PodObject): void {
    const key = `${cluster}/${pod.metadata.name}`;
    const phase = describePhase(pod);
    if (this.pods.get(key) === phase) return;
    this.pods.set(key, phase);
    this.write(`  ● ${key.padEnd(32)} ${phase}`);
  }
}

function describePhase(pod: PodObject): string {
  const phase = pod.status.phase;
  if (phase !== 'Succeeded' && phase !== 'Failed') return phase;
  const statuses = (pod.status.containerStatuses ?? []) as {
    state?: { terminated?: { exitCode?: number } };
  }[];
  const codes = statuses.map((s) => s.state?.terminated?.exitCode).filter((c) => c !== undefined);
  return codes.length > 0 ? `${phase} (exit ${codes.join(', ')})` : phase;
}
