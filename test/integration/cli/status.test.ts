/**
 * `podbus status` against both emulators, with a real worker turning messages into pods: the
 * command finds each challenge wherever it is (queued, dead-lettered, a pod pending, running,
 * succeeded, failed with an exit code, failing to pull its image, unschedulable, nowhere) through
 * the real SDK and client-node, reports a cluster it cannot ask as such, and follows challenges
 * to their end with --watch (text and JSON Lines).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ChallengeStatus } from '../../../src/cli/status/challenge-status.js';
import { runCli, type CliRun } from '../../unit/cli/support/run-cli.js';
import { ALLOWED_IMAGES, challenge, eventually, Stack } from '../worker/stack.js';

const IMAGE = 'registry.example/challenges/app:1';
let stack: Stack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await Stack.start({
    clusters: [
      // Pods run 1.5 s, then exit as their image says.
      { name: 'alpha', lifecycle: { scheduleMs: 20, startMs: 50, runMs: 1_500 } },
      // Containers never start: pods stay Pending (ContainerCreating).
      { name: 'slow', lifecycle: { scheduleMs: 20, startMs: 600_000, runMs: 1_000 } },
      // No room on the node: every pod is Unschedulable.
      { name: 'full', nodeCapacityPods: 0 },
    ],
    config: {
      policy: { allowedImages: [...ALLOWED_IMAGES, 'unreachable.example/*'] },
    },
  });
  env = { PODBUS_SERVICE_BUS_CONNECTION_STRING: stack.sb.connectionString };
});

afterAll(async () => {
  await stack?.stop();
});

const status = (args: string[], options: { onStdout?: (t: string) => void } = {}) =>
  runCli(['status', '--config', stack.configFile, ...args], { env, ...options });

function parsed(run: CliRun): ChallengeStatus[] {
  return JSON.parse(run.stdout) as ChallengeStatus[];
}

/** Nothing secret in what the command printed. */
function expectNoSecrets(run: CliRun): void {
  const text = run.stdout + run.stderr;
  const key = /SharedAccessKey=([^;]+)/.exec(stack.sb.connectionString)?.[1] ?? '';
  expect(key.length).toBeGreaterThan(10);
  expect(text).not.toContain(key);
  for (const c of stack.k8s.clusters) expect(text).not.toContain(c.serviceAccountToken);
}

const podOn = (cluster: string, name: string) =>
  stack.k8s.cluster(cluster).getPod(stack.k8s.cluster(cluster).namespace, name);

describe('before any worker runs', () => {
  beforeAll(async () => {
    await stack.send(
      { messageId: 'watched-text', body: { ...challenge('web-101', IMAGE), cluster: 'alpha' } },
      { messageId: 'second-in-line', body: { ...challenge('web-102', IMAGE), cluster: 'alpha' } },
    );
  });

  it('finds a queued message by peeking, and asks every cluster for its pod', async () => {
    const run = await status(['watched-text']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('watched-text: queued in challenges, no pod yet');
    expect(run.stdout).toContain('Challenge:    web-101');
    expect(run.stdout).toMatch(
      /Queue: +active in challenges, sequence \d+, enqueued \S+Z, 0 deliveries/,
    );
    expect(run.stdout).toContain('not in challenges/$deadletterqueue (it is empty)');
    expect(run.stdout).toContain(
      'alpha: no pod watched-text; slow: no pod watched-text; full: no pod watched-text',
    );
    expectNoSecrets(run);
  });

  it('--json: the documented shape', async () => {
    const run = await status(['watched-text', '--json']);
    expect(run.code).toBe(0);
    const [s] = parsed(run);
    expect(s).toEqual({
      messageId: 'watched-text',
      podName: 'watched-text',
      state: 'queued',
      challengeId: 'web-101',
      queue: {
        searched: true,
        peeked: 2,
        complete: true,
        messages: [
          {
            messageId: 'watched-text',
            sequenceNumber: expect.any(String),
            enqueuedTime: expect.stringMatching(/Z$/),
            challengeId: 'web-101',
            deliveryCount: 0,
            state: 'active',
          },
        ],
      },
      deadLetterQueue: { searched: true, peeked: 0, complete: true, messages: [] },
      pods: [],
      clusters: [
        { name: 'alpha', result: 'not-found' },
        { name: 'slow', result: 'not-found' },
        { name: 'full', result: 'not-found' },
      ],
    });
  });

  it('says when the peek limit cut the search short, instead of "not there"', async () => {
    const run = await status(['second-in-line', '--peek-limit', '1']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('second-in-line: unknown');
    expect(run.stdout).toContain(
      'not among the first 1 messages of challenges: a peek-based search reads a queue from its oldest message and stops there (--peek-limit looks further)',
    );
    expect(run.stderr).toContain('1 challenge not found where podbus could look');
  });

  it('an unknown ID: not found anywhere (exit 1)', async () => {
    const run = await status(['no-such-run']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'no-such-run: not found: not in challenges or its dead-letter queue, and no cluster has a pod no-such-run for it',
    );
    expect(run.stderr).toContain('1 challenge not found');
  });

  it('a cluster that cannot be asked is reported as such, not as "no pod"', async () => {
    const full = stack.k8s.cluster('full');
    await full.faults.set({ down: true });
    try {
      const run = await status(['no-such-run', '--timeout', '2']);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('no-such-run: unknown');
      expect(run.stdout).toMatch(
        /full: could not be asked: unreachable \(.+\): check server https:\/\/127\.0\.0\.1:\d+/,
      );
      expect(run.stdout).not.toContain('full: no pod');
      const json = parsed(await status(['no-such-run', '--json', '--timeout', '2']));
      expect(json[0]?.clusters[2]).toEqual({
        name: 'full',
        result: 'unreachable',
        problem: expect.stringContaining('unreachable'),
      });
    } finally {
      await full.faults.set({ down: false });
    }
  });
});

describe('set aside in the queue, or dead-lettered by someone else', () => {
  beforeAll(async () => {
    const sender = stack.serviceBus.createSender('challenges');
    try {
      await sender.scheduleMessages(
        { messageId: 'st-scheduled', body: challenge('c-later', IMAGE) },
        new Date(Date.now() + 3_600_000),
      );
      await sender.sendMessages({ messageId: 'st-foreign-dead', body: challenge('c-x', IMAGE) });
    } finally {
      await sender.close();
    }
    // Another consumer dead-letters it, pasting a connection string into the description.
    const receiver = stack.serviceBus.createReceiver('challenges');
    try {
      const key = /SharedAccessKey=([^;]+)/.exec(stack.sb.connectionString)?.[1] ?? '';
      const got = await receiver.receiveMessages(10, { maxWaitTimeInMs: 2_000 });
      for (const m of got) {
        if (m.messageId === 'st-foreign-dead') {
          await receiver.deadLetterMessage(m, {
            deadLetterReason: 'ManualCheck',
            deadLetterErrorDescription: `retried with Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=${key} and gave up`,
          });
        } else {
          await receiver.abandonMessage(m);
        }
      }
      expect(got.map((m) => m.messageId)).toContain('st-foreign-dead');
    } finally {
      await receiver.close();
    }
  });

  it('a scheduled message: scheduled for its time, no pod yet', async () => {
    const run = await status(['st-scheduled']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^st-scheduled: scheduled for \S+Z in challenges, no pod yet\n/);
    expect(run.stdout).toMatch(/Queue: +scheduled in challenges, sequence \d+/);
    const [json] = parsed(await status(['st-scheduled', '--json']));
    expect(json?.state).toBe('scheduled');
    expect(json?.queue).toMatchObject({
      messages: [
        { messageId: 'st-scheduled', state: 'scheduled', scheduledFor: expect.any(String) },
      ],
    });
  });

  it('a dead letter with a secret in its description: the reason, the description scrubbed', async () => {
    const run = await status(['st-foreign-dead']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^st-foreign-dead: dead-lettered: ManualCheck: retried with .* and gave up\n/,
    );
    expectNoSecrets(run);
    const json = await status(['st-foreign-dead', '--json']);
    expect(parsed(json)[0]?.state).toBe('dead-lettered');
    expectNoSecrets(json);
  });
});

describe('--watch follows a queued challenge to its end', () => {
  /**
   * Starts the watch while the message waits in the queue (no worker runs), waits until the
   * watch has shown it queued, then starts a worker and lets the watch run to the end.
   * In-process commands share process.exitCode and the process streams: one at a time.
   */
  async function watchThroughWorker(args: string[], queuedMark: string): Promise<CliRun> {
    let soFar = '';
    const watching = status([...args, '--watch'], { onStdout: (t) => (soFar += t) });
    await eventually('the watch to show the queued message', () => soFar.includes(queuedMark));
    const worker = await stack.startWorker();
    try {
      return await watching;
    } finally {
      await worker.stop();
    }
  }

  it('text: queued, then its pod through its phases and events to Succeeded', async () => {
    const run = await watchThroughWorker(['watched-text'], 'watched-text: queued');
    expect(run.code).toBe(0);
    const states = run.stdout
      .split('\n')
      .map((l) => /^\d\d:\d\d:\d\dZ {2}watched-text: (\S+) /.exec(l)?.[1])
      .filter((s) => s !== undefined);
    expect(states).toContain('running');
    expect(states.at(-1)).toBe('succeeded');
    // Events arrive as they are recorded, each once.
    expect(run.stdout).toMatch(
      /\d\dZ {2}watched-text: Normal Started: Started container web-101-01/,
    );
    expect(run.stdout.match(/Normal Started: Started container/g)).toHaveLength(1);
    // The full status again at the end.
    expect(run.stdout).toMatch(
      /\nwatched-text: succeeded on cluster alpha \(pod challenges\/watched-text, \d+s old\)\n/,
    );
    expect(run.stdout).toMatch(/web-101-01 +terminated +Completed +0 +0/);
    // ... searched the queue again: the message was completed once its pod existed.
    expect(run.stdout).toMatch(/\n {2}Queue: +not in challenges/);
  });

  it('ends when the message is dead-lettered (the queues are searched again meanwhile)', async () => {
    await stack.send({
      messageId: 'watched-dead',
      body: challenge('c-dead', 'docker.io/someone/miner:latest'),
    });
    const run = await watchThroughWorker(['watched-dead'], 'watched-dead: queued');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /\n\d\d:\d\d:\d\dZ {2}watched-dead: dead-lettered: PolicyViolation: .*miner/,
    );
    expect(run.stdout).toMatch(
      /\n\nwatched-dead: dead-lettered: PolicyViolation: .*\n {2}Challenge: +c-dead\n/,
    );
  });

  it('--json: one status per line as it changes, the last one ended', async () => {
    await stack.send({
      messageId: 'watched-json',
      body: { ...challenge('web-102', IMAGE), cluster: 'alpha' },
    });
    const run = await watchThroughWorker(['watched-json', '--json'], '"state":"queued"');
    expect(run.code).toBe(0);
    const objects = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ChallengeStatus & { ended: boolean });
    expect(objects[0]).toMatchObject({ state: 'queued', ended: false });
    expect(objects.map((o) => o.state)).toContain('running');
    expect(objects.at(-1)).toMatchObject({
      messageId: 'watched-json',
      state: 'succeeded',
      ended: true,
      pods: [
        {
          cluster: 'alpha',
          phase: 'Succeeded',
          containers: [{ name: 'web-102-01', state: 'terminated', exitCode: 0 }],
        },
      ],
    });
    expect(objects.filter((o) => o.ended)).toHaveLength(1);
  });
});

describe('with the worker running', () => {
  const ids = {
    pending: 'st-pending',
    running: 'st-running',
    failed: 'st-failed',
    pull: 'st-pull',
    unschedulable: 'st-unschedulable',
    dead: 'st-dead',
    deadline: 'st-deadline',
  };
  beforeAll(async () => {
    await stack.startWorker();
    const deadBefore = stack.sb.inspect('challenges').deadLettered;
    await stack.send(
      { messageId: ids.pending, body: { ...challenge('c-pending', IMAGE), cluster: 'slow' } },
      {
        messageId: ids.running,
        body: {
          ...challenge('c-running', 'registry.example/challenges/app:sleep-infinity'),
          cluster: 'alpha',
        },
      },
      {
        messageId: ids.failed,
        body: {
          ...challenge('c-failed', IMAGE, 'registry.example/challenges/app:exit-3'),
          cluster: 'alpha',
        },
      },
      {
        messageId: ids.pull,
        body: { ...challenge('c-pull', 'unreachable.example/app:1'), cluster: 'alpha' },
      },
      {
        messageId: ids.unschedulable,
        body: { ...challenge('c-unsched', IMAGE), cluster: 'full' },
      },
      { messageId: ids.dead, body: challenge('c-dead', 'docker.io/someone/miner:latest') },
      {
        messageId: ids.deadline,
        body: {
          ...challenge('c-deadline', 'registry.example/challenges/app:sleep-infinity'),
          cluster: 'alpha',
          activeDeadlineSeconds: 1,
        },
      },
    );
    await eventually(
      'every pod in its state, the bad message dead-lettered',
      () =>
        podOn('slow', ids.pending)?.status.phase === 'Pending' &&
        podOn('alpha', ids.running)?.status.phase === 'Running' &&
        podOn('alpha', ids.failed)?.status.phase === 'Failed' &&
        /ErrImagePull|ImagePullBackOff/.test(JSON.stringify(podOn('alpha', ids.pull)?.status)) &&
        /Unschedulable/.test(JSON.stringify(podOn('full', ids.unschedulable)?.status)) &&
        podOn('alpha', ids.deadline)?.status.reason === 'DeadlineExceeded' &&
        stack.sb.inspect('challenges').deadLettered === deadBefore + 1,
      30_000,
    );
  });

  it('tells each place apart (one call, every cluster asked in parallel)', async () => {
    const run = await status([...Object.values(ids), 'watched-text', '--json']);
    expect(run.code).toBe(0);
    const byId = new Map(parsed(run).map((s) => [s.messageId, s]));
    expect(Object.fromEntries([...byId].map(([id, s]) => [id, s.state]))).toEqual({
      [ids.pending]: 'pending',
      [ids.running]: 'running',
      [ids.failed]: 'failed',
      [ids.pull]: 'image-pull-failing',
      [ids.unschedulable]: 'unschedulable',
      [ids.dead]: 'dead-lettered',
      [ids.deadline]: 'deadline-exceeded',
      'watched-text': 'succeeded',
    });
    expect(byId.get(ids.pending)?.pods[0]).toMatchObject({
      cluster: 'slow',
      phase: 'Pending',
      containers: [{ state: 'waiting', reason: 'ContainerCreating' }],
    });
    expect(byId.get(ids.failed)?.pods[0]?.containers).toEqual([
      expect.objectContaining({ name: 'c-failed-01', state: 'terminated', exitCode: 0 }),
      expect.objectContaining({
        name: 'c-failed-02',
        state: 'terminated',
        exitCode: 3,
        reason: 'Error',
      }),
    ]);
    expect(byId.get(ids.pull)?.pods[0]).toMatchObject({
      reason: expect.stringMatching(/^(ErrImagePull|ImagePullBackOff)$/),
      events: expect.arrayContaining([
        expect.objectContaining({ type: 'Warning', reason: 'Failed' }),
      ]),
    });
    expect(byId.get(ids.unschedulable)?.pods[0]).toMatchObject({
      cluster: 'full',
      reason: 'Unschedulable',
      message: expect.stringContaining('0/1 nodes are available'),
    });
    expect(byId.get(ids.dead)).toMatchObject({
      challengeId: 'c-dead',
      pods: [],
      deadLetterQueue: {
        messages: [
          expect.objectContaining({
            deadLetterReason: 'PolicyViolation',
            deadLetterErrorDescription: expect.stringContaining('docker.io/someone/miner:latest'),
          }),
        ],
      },
    });
    expect(byId.get(ids.running)?.pods[0]).toMatchObject({
      node: 'alpha-control-plane',
      podIP: expect.stringMatching(/^10\.244\./),
      ageSeconds: expect.any(Number),
      events: expect.arrayContaining([
        expect.objectContaining({ reason: 'Scheduled', from: 'default-scheduler' }),
        expect.objectContaining({ reason: 'Started', from: 'kubelet' }),
      ]),
    });
    expectNoSecrets(run);
  });

  it('text: a compact describe of the pod (phase, containers, exit codes, events)', async () => {
    const failed = await status([ids.failed]);
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(
      /^st-failed: failed on cluster alpha \(pod challenges\/st-failed, \d+s old\): c-failed-02 exit code 3 \(Error\)\n/,
    );
    expect(failed.stdout).toMatch(/Pod: +alpha\/challenges\/st-failed, node alpha-control-plane/);
    expect(failed.stdout).toMatch(/c-failed-02 +terminated +Error +3 +0/);
    expect(failed.stdout).toMatch(/Events:\n +AGE +TYPE +REASON +FROM +MESSAGE\n/);
    expect(failed.stdout).toMatch(
      /Normal +Scheduled +default-scheduler +Successfully assigned challenges\/st-failed/,
    );

    const pull = await status([ids.pull]);
    expect(pull.stdout).toMatch(
      /^st-pull: image-pull-failing on cluster alpha \(pod challenges\/st-pull, \d+s old\): (ErrImagePull|ImagePullBackOff): /,
    );
    const dead = await status([ids.dead]);
    expect(dead.stdout).toMatch(/^st-dead: dead-lettered: PolicyViolation: .*miner/);
    expect(dead.stdout).toMatch(/Dead letters: in challenges\/\$deadletterqueue, sequence \d+/);
    const deadline = await status([ids.deadline]);
    expect(deadline.stdout).toMatch(
      /^st-deadline: deadline-exceeded on cluster alpha \(pod challenges\/st-deadline, \d+s old\): DeadlineExceeded: /,
    );
    const unsched = await status([ids.unschedulable]);
    expect(unsched.stdout).toMatch(
      /^st-unschedulable: unschedulable on cluster full \(pod challenges\/st-unschedulable, \d+s old\): Unschedulable: 0\/1 nodes are available/,
    );
  });
});
