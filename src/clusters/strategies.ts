import { createHash } from 'node:crypto';

/**
 * Cluster selection: pure functions of the clusters' current view (plus a little rotation
 * state for round-robin and weighted). The output is an ordered candidate list; the worker
 * tries them in order, moving on when one fails with a retryable or cluster-level error.
 *
 * - `round-robin`: rotates through the configured order, one step per message.
 * - `weighted`: smooth weighted round-robin (nginx): over any window, cluster i gets
 *   weight_i / Σweight of first choices, interleaved rather than in bursts. Deterministic.
 * - `least-loaded`: lowest utilisation activePods / maxActivePods first. An unbounded cluster
 *   (maxActivePods 0) has utilisation 0; among equals, fewer active pods per unit of weight
 *   wins, then the hash order (so replicas that see equal counts still spread).
 * - `hash`: weighted rendezvous (highest-random-weight) hashing of the message ID over the
 *   cluster names. Every replica computes the same order for the same ID, so a redelivered
 *   message goes back to the same cluster (where a 409 catches the duplicate). Adding or
 *   removing a cluster only moves the messages that now rank it first / ranked it first.
 *
 * A message's preferred cluster, when given and eligible, goes first. Clusters whose breaker is
 * open (`healthy: false`) or that are at `maxActivePods` are skipped and reported as such.
 */
export type StrategyName = 'round-robin' | 'weighted' | 'least-loaded' | 'hash';

export const STRATEGY_NAMES: readonly StrategyName[] = [
  'round-robin',
  'weighted',
  'least-loaded',
  'hash',
];

/** What selection needs to know about one cluster right now. */
export interface ClusterView {
  readonly name: string;
  /** > 0 */
  readonly weight: number;
  readonly activePods: number;
  /** 0 = unbounded */
  readonly maxActivePods: number;
  /** False while the circuit breaker refuses calls. */
  readonly healthy: boolean;
  /** False when at maxActivePods. */
  readonly hasCapacity: boolean;
}

export type SkipReason = 'unhealthy' | 'full';

export interface Selection {
  /** Cluster names in the order to try. */
  readonly candidates: readonly string[];
  readonly skipped: readonly { readonly name: string; readonly reason: SkipReason }[];
}

export interface SelectRequest {
  readonly messageId: string;
  /** The message's `cluster` field, when policy allows honouring it. */
  readonly preferred?: string;
}

export interface Selector {
  readonly strategy: StrategyName;
  select(clusters: readonly ClusterView[], request: SelectRequest): Selection;
}

export function createSelector(strategy: StrategyName): Selector {
  const order = orderFor(strategy);
  return {
    strategy,
    select(clusters, request) {
      const skipped: { name: string; reason: SkipReason }[] = [];
      const eligible: ClusterView[] = [];
      for (const c of clusters) {
        if (!c.healthy) skipped.push({ name: c.name, reason: 'unhealthy' });
        else if (!c.hasCapacity) skipped.push({ name: c.name, reason: 'full' });
        else eligible.push(c);
      }
      let candidates = order(eligible, clusters, request.messageId);
      const preferred = request.preferred;
      if (preferred !== undefined && candidates.includes(preferred)) {
        candidates = [preferred, ...candidates.filter((n) => n !== preferred)];
      }
      return { candidates, skipped };
    },
  };
}

type Order = (
  eligible: readonly ClusterView[],
  all: readonly ClusterView[],
  messageId: string,
) => string[];

function orderFor(strategy: StrategyName): Order {
  switch (strategy) {
    case 'round-robin':
      return roundRobin();
    case 'weighted':
      return smoothWeighted();
    case 'least-loaded':
      return leastLoaded;
    case 'hash':
      return (eligible, _all, messageId) => rendezvousOrder(eligible, messageId);
  }
}

function roundRobin(): Order {
  let cursor = 0;
  return (eligible, all) => {
    if (all.length === 0) return [];
    const start = cursor % all.length;
    cursor = (cursor + 1) % all.length;
    const rotated = [...all.slice(start), ...all.slice(0, start)];
    const ok = new Set(eligible.map((c) => c.name));
    return rotated.filter((c) => ok.has(c.name)).map((c) => c.name);
  };
}

/**
 * Smooth weighted round-robin: each pick adds every eligible cluster's weight to its running
 * score, takes the highest, and subtracts the total from the winner. The rest of the list is
 * ordered by running score, which is the order they would be picked next.
 */
function smoothWeighted(): Order {
  const score = new Map<string, number>();
  return (eligible) => {
    if (eligible.length === 0) return [];
    let total = 0;
    for (const c of eligible) {
      score.set(c.name, (score.get(c.name) ?? 0) + c.weight);
      total += c.weight;
    }
    const ranked = eligible
      .map((c, index) => ({ name: c.name, index, s: score.get(c.name) ?? 0 }))
      .sort((a, b) => b.s - a.s || a.index - b.index);
    const best = ranked[0]!.name;
    score.set(best, (score.get(best) ?? 0) - total);
    return ranked.map((r) => r.name);
  };
}

function leastLoaded(eligible: readonly ClusterView[], _all: unknown, messageId: string): string[] {
  const hashRank = new Map(rendezvousOrder(eligible, messageId).map((name, i) => [name, i]));
  const utilisation = (c: ClusterView) =>
    c.maxActivePods > 0 ? c.activePods / c.maxActivePods : 0;
  return [...eligible]
    .sort(
      (a, b) =>
        utilisation(a) - utilisation(b) ||
        a.activePods / a.weight - b.activePods / b.weight ||
        hashRank.get(a.name)! - hashRank.get(b.name)!,
    )
    .map((c) => c.name);
}

/**
 * Weighted rendezvous hashing (logarithmic method): score = -weight / ln(u), where u in (0,1)
 * is a uniform hash of (cluster name, message ID). With equal weights this is plain HRW; with
 * weights, cluster i ranks first for weight_i / Σweight of IDs.
 */
export function rendezvousOrder(
  clusters: readonly Pick<ClusterView, 'name' | 'weight'>[],
  messageId: string,
): string[] {
  return clusters
    .map((c) => ({ name: c.name, score: -c.weight / Math.log(unitHash(c.name, messageId)) }))
    .sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : 1))
    .map((s) => s.name);
}

/** A uniform value in (0, 1) from SHA-256 of the pair; identical on every replica. */
export function unitHash(clusterName: string, messageId: string): number {
  const digest = createHash('sha256').update(clusterName).update('\0').update(messageId).digest();
  const top53 = digest.readUInt32BE(0) * 2 ** 21 + (digest.readUInt32BE(4) >>> 11);
  return (top53 + 0.5) / 2 ** 53;
}
