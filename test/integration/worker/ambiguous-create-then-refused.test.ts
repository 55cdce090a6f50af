/**
 * A create the client retried: the first attempt was written but its answer lost, the retry was
 * refused (a full quota). The pod exists, so the message must stay pinned to that cluster and
 * never fail over (placement rule 3). Found by the soak (seed 1666680448): the quota refusal was
 * read as "full, try another cluster" and a second pod was made there.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

import { ClusterPool } from '../../../src/clusters/cluster-pool.js';
import { fleetFromPool } from '../../../src/worker/fleet-adapter.js';
import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '@podbus/kubernetes-emulator';
import { entryFor, eventually, testPod } from '../clusters/support/entries.js';

let emu: KubernetesEmulator;
let alpha: EmulatedCluster;
let pool: ClusterPool | undefined;

beforeAll(async () => {
  emu = await startKubernetesEmulator({
    clusters: [{ name: 'alpha', lifecycle: { runMs: 600_000 } }],
    seed: 3,
  });
  alpha = emu.cluster('alpha');
});
afterAll(async () => {
  await emu?.stop();
});
afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await alpha.faults.clear();
});

describe('a create whose first attempt was written and whose retry was refused', () => {
  it('is unknown (pin to this cluster), not full or rejected', async () => {
    pool = new ClusterPool({
      entries: [entryFor(alpha)],
      strategy: 'round-robin',
      client: {
        // The first answer comes after the client gave up on it; the retry comes a second later.
        requestTimeoutMs: 1_000,
        retry: { maxAttempts: 2, backoff: { baseMs: 1_000, maxMs: 1_000, jitter: 'none' } },
      },
    });
    const cluster = fleetFromPool(pool).clusters[0]!;
    const pod = testPod('ambiguous');
    await alpha.faults.set({
      ambiguousWrite: {
        create: { rate: 1, outcome: 'delay', delayMs: 3_000, resources: ['pods'] },
      },
    });
    const attempt = cluster.createPod(pod);
    const name = pod.metadata!.name!;
    await eventually(
      () => alpha.podHistory(alpha.namespace).some((p) => p.name === name),
      'the first attempt to be written',
    );
    // Before the retry: it is refused by a full quota, and nothing more is written.
    await alpha.faults.replace({ quotaFull: { quota: 'challenges' } });

    const result = await attempt;
    expect(alpha.faults.get()).toEqual({ quotaFull: { quota: 'challenges' } });
    expect(result).toMatchObject({ kind: 'unknown' });
    expect(result.kind === 'unknown' && result.reason).toMatch(/exceeded quota: challenges/);
    expect(alpha.podHistory(alpha.namespace).filter((p) => p.name === name)).toHaveLength(1);
  }, 30_000);
});
