import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';

import { challenge, eventually, type Stack } from '../worker/stack.js';
import { ReplicaProcesses } from './support/replica-processes.js';
import {
  RESULTS_QUEUE,
  byChallengeMessage,
  resultsStack,
  takeResults,
} from './support/results-stack.js';

/**
 * Issue 9's "done when": with results and cleanup on, N challenges across 2 clusters and 3
 * replica processes, the leaders killed (SIGKILL) during the run and restarted, yield exactly N
 * result messages after deduplication, each with the right outcome and exit codes; no podbus
 * pod outlives its TTL; the pods of others in the namespace are untouched.
 */
const N = 40;
const TTL_SECONDS = 3;
const MINIMUM_AGE_SECONDS = 15;

/** What message i asks for, and the result it must get. */
function plan(i: number): {
  readonly body: object;
  readonly outcome: string;
  readonly exitCodes: (number | undefined)[];
} {
  const kind = i % 10;
  if (kind <= 5) {
    return {
      body: challenge(`c-${i}`, 'registry.example/app:1'),
      outcome: 'succeeded',
      exitCodes: [0],
    };
  }
  if (kind <= 7) {
    const code = (i % 5) + 1;
    return {
      body: challenge(`c-${i}`, 'registry.example/app:1', `registry.example/app:exit-${code}`),
      outcome: 'failed',
      exitCodes: [0, code],
    };
  }
  if (kind === 8) {
    return {
      body: {
        ...challenge(`c-${i}`, 'registry.example/app:sleep-infinity'),
        activeDeadlineSeconds: 1,
      },
      outcome: 'deadline-exceeded',
      exitCodes: [137],
    };
  }
  return {
    body: challenge(`c-${i}`, 'unreachable.example/app:1'),
    outcome: 'image-pull-failed',
    exitCodes: [undefined],
  };
}

const id = (i: number) => `done-${String(i).padStart(2, '0')}`;

/** Pods of someone else in the same namespace: one finished, one that never starts. */
const BYSTANDERS: V1Pod[] = [
  {
    metadata: { name: 'bystander-done' },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'registry.example/app:1' }],
    },
  },
  {
    metadata: { name: 'bystander-stuck', labels: { app: 'other' } },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'unreachable.example/x:1' }],
    },
  },
];

let stack: Stack;
let replicas: ReplicaProcesses;
beforeAll(async () => {
  const lifecycle = { scheduleMs: 20, startMs: 100, runMs: 1_500 };
  stack = await resultsStack({
    clusters: [
      { name: 'alpha', lifecycle },
      { name: 'beta', lifecycle },
    ],
    config: {
      results: { queueName: RESULTS_QUEUE, stuckAfterSeconds: 2 },
      // Above the queue's LockDuration (5 s in these tests): a message whose replica died
      // after creating its pod comes back and must find the pod (without it, one in a few runs
      // made a second pod for such a message).
      cleanup: {
        ttlSecondsAfterFinished: TTL_SECONDS,
        stuckPendingSeconds: TTL_SECONDS,
        minimumAgeSeconds: MINIMUM_AGE_SECONDS,
      },
      log: { level: 'info' },
    },
  });
  for (const cluster of ['alpha', 'beta']) {
    for (const body of BYSTANDERS) {
      await stack.adminApi(cluster).createNamespacedPod({ namespace: 'challenges', body });
    }
  }
  replicas = new ReplicaProcesses(3, stack.configFile, {
    PODBUS_SERVICE_BUS_CONNECTION_STRING: stack.sb.connectionString,
  });
});
afterAll(async () => {
  await replicas.killAll();
  await stack.stop();
});

async function sendPlanned(from: number, to: number): Promise<void> {
  const messages = [];
  for (let i = from; i < to; i += 1) messages.push({ messageId: id(i), body: plan(i).body });
  await stack.send(...messages);
}

/** Kills the replica leading `cluster` (waiting for one to lead), then starts it again. */
async function killLeaderOf(cluster: string): Promise<number> {
  const leader = await eventually(
    `a leader of ${cluster}`,
    () => replicas.leaderOf(cluster),
    60_000,
  );
  await replicas.kill(leader);
  replicas.start(leader);
  return leader;
}

const podbusPods = () =>
  stack
    .pods()
    .filter(
      (p) =>
        (p.pod.metadata.labels as Record<string, string> | undefined)?.[
          'app.kubernetes.io/managed-by'
        ] === 'podbus',
    );

describe('results across replica processes that are killed', () => {
  it(`${N} challenges, 2 clusters, 3 replicas, leaders killed: exactly ${N} results, right outcomes; clean clusters`, async () => {
    replicas.startAll();
    await eventually(
      'every replica receiving',
      () => [0, 1, 2].every((i) => replicas.receiving(i)),
      120_000,
    );

    await sendPlanned(0, N / 2);
    await eventually('the first pods running', () => podbusPods().length >= 5, 30_000);
    const killedFirst = await killLeaderOf('alpha');
    await sendPlanned(N / 2, N);
    await eventually(
      'pods of the second half',
      () => podbusPods().filter((p) => p.pod.metadata.name >= id(N / 2)).length >= 5,
      30_000,
    );
    const killedSecond = await killLeaderOf('beta');

    const taken = await takeResults(stack, RESULTS_QUEUE, N, {
      timeoutMs: 180_000,
      quietMs: 5_000,
    });
    // Exactly N: every challenge answered once, every repeat dropped by duplicate detection.
    expect(taken).toHaveLength(N);
    const results = byChallengeMessage(taken);
    expect(results.size).toBe(N);
    for (let i = 0; i < N; i += 1) {
      const expected = plan(i);
      const got = results.get(id(i));
      expect({
        id: id(i),
        outcome: got?.body.outcome,
        subject: got?.message.subject,
        exitCodes: got?.body.containers.map((c) => c.exitCode),
      }).toEqual({
        id: id(i),
        outcome: expected.outcome,
        subject: expected.outcome,
        exitCodes: expected.exitCodes,
      });
    }
    // One pod per challenge, ever (the creation history survives cleanup).
    const history = stack.k8s.clusters.flatMap((c) =>
      c.podHistory('challenges').filter((p) => p.name.startsWith('done-')),
    );
    expect(history.map((p) => p.name).sort()).toEqual(Array.from({ length: N }, (_, i) => id(i)));

    // Cleanup: every podbus pod goes within its TTL of its result; the others stay.
    await eventually('no podbus pod left', () => podbusPods().length === 0, 60_000);
    for (const cluster of stack.k8s.clusters) {
      const left = cluster
        .listPods('challenges')
        .map((p) => p.metadata.name)
        .sort();
      expect({ cluster: cluster.name, left }).toEqual({
        cluster: cluster.name,
        left: ['bystander-done', 'bystander-stuck'],
      });
    }
    // The run did what it says: each cluster's leader died (one process may have led both),
    // was started again, and another process led the cluster after.
    const kills = [killedFirst, killedSecond];
    expect(replicas.starts).toEqual(
      [0, 1, 2].map((i) => 1 + kills.filter((killed) => killed === i).length),
    );
    for (const cluster of ['alpha', 'beta']) {
      const leaders = new Set(
        replicas
          .all('leading the cluster: this replica sends its results and cleans up its pods')
          .filter((e) => e.cluster === cluster)
          .map((e) => e.identity),
      );
      expect({ cluster, leaders: leaders.size > 1 }).toEqual({ cluster, leaders: true });
    }
  }, 360_000);
});
