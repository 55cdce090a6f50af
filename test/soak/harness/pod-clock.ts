import { KubeConfig, Watch } from '@kubernetes/client-node';
import type { EmulatedCluster } from '@podbus/kubernetes-emulator';

/**
 * When each pod was first seen, per cluster, for the latency figures (enqueue -> pod created).
 *
 * A pod's creationTimestamp has one-second resolution, too coarse for latencies of tens of
 * milliseconds, so the soak watches every cluster as its admin over HTTPS (list, then watch
 * from the list's resourceVersion, resuming after each disconnect) and notes the time of each
 * pod's first event (the initial list, and the relist after a 410, read the emulator in-process:
 * they cannot hang on a black-holed cluster). A pod created while the watch is down (a cluster
 * flapping, a 429 burst) is noted when the watch catches up: its latency is then overstated,
 * never understated. The counting at the end does not depend on this: it reads the emulators'
 * own state.
 */
export class PodClock {
  /** `cluster/name` -> first seen (epoch ms). */
  private readonly firstSeen = new Map<string, number>();
  private readonly watches = new Set<AbortController>();
  private stopped = false;

  constructor(private readonly clusters: readonly EmulatedCluster[]) {}

  start(): void {
    for (const cluster of this.clusters) void this.follow(cluster);
  }

  /** First time the pod `name` on `cluster` was seen, if it was. */
  seenAt(cluster: string, name: string): number | undefined {
    return this.firstSeen.get(`${cluster}/${name}`);
  }

  /** Pods seen so far, on every cluster. */
  get seenCount(): number {
    return this.firstSeen.size;
  }

  stop(): void {
    this.stopped = true;
    for (const controller of this.watches) controller.abort();
  }

  private note(cluster: string, object: unknown): void {
    const name = (object as { metadata?: { name?: string } } | undefined)?.metadata?.name;
    if (name === undefined) return;
    const key = `${cluster}/${name}`;
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, Date.now());
  }

  /** Notes every stored pod; returns where a watch should start ('0' when there is none). */
  private relist(cluster: EmulatedCluster): string {
    let newest = 0;
    for (const pod of cluster.listPods(cluster.namespace)) {
      this.note(cluster.name, pod);
      newest = Math.max(newest, Number(pod.metadata.resourceVersion) || 0);
    }
    return String(newest);
  }

  private async follow(cluster: EmulatedCluster): Promise<void> {
    const watch = new Watch(adminConfig(cluster));
    let resourceVersion: string | undefined;
    while (!this.stopped) {
      try {
        if (resourceVersion === undefined) resourceVersion = this.relist(cluster);
        let current: AbortController | undefined;
        const expired = await new Promise<boolean>((resolve, reject) => {
          let gone = false;
          void watch
            .watch(
              `/api/v1/namespaces/${cluster.namespace}/pods`,
              { resourceVersion, allowWatchBookmarks: true },
              (type, object: { metadata?: { resourceVersion?: string }; code?: number }) => {
                if (type === 'ERROR') {
                  gone = object.code === 410;
                  return;
                }
                if (type !== 'BOOKMARK') this.note(cluster.name, object);
                resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
              },
              (error: unknown) => (error ? reject(error) : resolve(gone)),
            )
            .then((controller) => {
              current = controller;
              this.watches.add(controller);
              if (this.stopped) controller.abort();
            }, reject);
        }).finally(() => current && this.watches.delete(current));
        if (expired) resourceVersion = undefined;
      } catch {
        // Down, black-holed, throttled: try again shortly, from where the watch left off.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

function adminConfig(cluster: EmulatedCluster): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: cluster.name,
      server: cluster.server,
      caData: Buffer.from(cluster.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: `${cluster.name}-admin`, token: cluster.adminToken },
  );
  return kc;
}
