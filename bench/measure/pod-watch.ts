import { Agent, request } from 'undici';

import type { BenchCluster } from '../stack/stack.ts';

export interface CreatedPod {
  /** performance.now() when the ADDED event reached the bench. */
  readonly at: number;
  readonly cluster: string;
}

/**
 * Sees every pod the consumer under test creates: one watch per cluster on the pods that carry
 * a `messageId` label (podbus's and the plain consumers' alike), timestamped as the ADDED
 * events arrive. Counting at the API server rather than asking the consumer treats every
 * consumer the same and costs the consumer nothing; it also gives enqueue -> pod latencies
 * and per-cluster create rates.
 */
export class PodWatch {
  /** By message ID (the pods' `messageId` label). */
  readonly created = new Map<string, CreatedPod>();
  private readonly thresholds: { count: number; resolve: (at: number) => void }[] = [];
  private readonly controller = new AbortController();
  private readonly agents = new Map<string, Agent>();
  private readonly clusters = new Map<string, BenchCluster>();
  private readonly toDelete: { cluster: string; name: string }[] = [];
  private deleting = 0;
  private readonly deleteCreated: boolean;

  private constructor(deleteCreated: boolean) {
    this.deleteCreated = deleteCreated;
  }

  /**
   * Resolves once every cluster's watch has answered (so no creation is missed). With
   * `deleteCreated`, every pod seen is deleted again (a stand-in for podbus's cleanup), so that
   * what a worker keeps per pod that exists does not pass for memory kept per message.
   */
  static async start(
    clusters: readonly BenchCluster[],
    options: { deleteCreated?: boolean } = {},
  ): Promise<PodWatch> {
    const watch = new PodWatch(options.deleteCreated === true);
    await Promise.all(clusters.map((c) => watch.watch(c)));
    return watch;
  }

  get count(): number {
    return this.created.size;
  }

  /** Resolves with the time at which `count` pods had been seen. */
  reach(count: number): Promise<number> {
    return new Promise((resolve) => {
      this.thresholds.push({ count, resolve });
      this.check(performance.now());
    });
  }

  /** Creation times on one cluster, in order. */
  timesOn(cluster: string): number[] {
    return [...this.created.values()].filter((p) => p.cluster === cluster).map((p) => p.at);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled([...this.agents.values()].map((a) => a.destroy()));
  }

  private async watch(cluster: BenchCluster): Promise<void> {
    const agent = new Agent({ connect: { ca: cluster.caPem } });
    this.agents.set(cluster.name, agent);
    this.clusters.set(cluster.name, cluster);
    const url = new URL(`/api/v1/namespaces/${cluster.namespace}/pods`, cluster.server);
    url.search = new URLSearchParams({ watch: 'true', labelSelector: 'messageId' }).toString();
    const response = await request(url, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${cluster.token}` },
      signal: this.controller.signal,
      bodyTimeout: 0,
    });
    if (response.statusCode !== 200)
      throw new Error(`watch on ${cluster.name} answered ${response.statusCode}`);
    void this.read(cluster.name, response.body).catch(() => undefined);
  }

  private async read(cluster: string, body: AsyncIterable<Buffer>): Promise<void> {
    let partial = '';
    for await (const chunk of body) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      const at = performance.now();
      for (const line of lines) {
        if (line === '') continue;
        const event = JSON.parse(line) as {
          type: string;
          object: { metadata?: { name?: string; labels?: Record<string, string> } };
        };
        const id = event.object.metadata?.labels?.messageId;
        if (event.type !== 'ADDED' || id === undefined || this.created.has(id)) continue;
        this.created.set(id, { at, cluster });
        const name = event.object.metadata?.name;
        if (this.deleteCreated && name !== undefined) this.toDelete.push({ cluster, name });
      }
      this.check(at);
      this.deleteSome();
    }
  }

  /** A few deletes at a time, so cleanup does not crowd out the creates it follows. */
  private deleteSome(): void {
    while (this.deleting < 4 && this.toDelete.length > 0) {
      const { cluster, name } = this.toDelete.shift()!;
      const c = this.clusters.get(cluster)!;
      this.deleting += 1;
      const url = new URL(`/api/v1/namespaces/${c.namespace}/pods/${name}`, c.server);
      url.search = 'gracePeriodSeconds=0';
      void request(url, {
        method: 'DELETE',
        dispatcher: this.agents.get(cluster)!,
        headers: { authorization: `Bearer ${c.token}` },
        signal: this.controller.signal,
      })
        .then((response) => response.body.dump())
        .catch(() => undefined)
        .finally(() => {
          this.deleting -= 1;
          this.deleteSome();
        });
    }
  }

  private check(at: number): void {
    for (let i = this.thresholds.length - 1; i >= 0; i -= 1) {
      const t = this.thresholds[i]!;
      if (this.created.size < t.count) continue;
      this.thresholds.splice(i, 1);
      t.resolve(at);
    }
  }
}
