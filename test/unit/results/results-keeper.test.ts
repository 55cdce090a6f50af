import { describe, expect, it } from '@jest/globals';
import type { ServiceBusMessage } from '@azure/service-bus';

import type { CallOptions, PodLogOptions, PodRef } from '../../../src/clusters/cluster-client.js';
import type { ResultEvents } from '../../../src/results/events.js';
import {
  ResultsKeeper,
  type KeeperClient,
  type Leadership,
} from '../../../src/results/results-keeper.js';
import type { ResultSender } from '../../../src/results/result-sender.js';
import type { CleanupSettings, ResultsSettings } from '../../../src/results/settings.js';
import { resultSchemaErrors } from '../../support/result-schema.js';
import { POD_IN_EACH_STATE, T0, rawPod, running, terminated } from './support/pods.js';

/** The cluster as the keeper's port sees it: what it annotated and deleted. */
class FakeCluster implements KeeperClient {
  readonly name = 'aks-1';
  readonly namespace = 'challenges';
  readonly annotated: { ref: PodRef; annotations: Record<string, string> }[] = [];
  readonly deleted: { name: string; uid?: string }[] = [];
  annotateFails: Error | undefined;
  annotateAnswer: 'annotated' | 'not-found' | 'replaced' = 'annotated';

  async annotatePod(ref: PodRef, annotations: Readonly<Record<string, string>>) {
    if (this.annotateFails) throw this.annotateFails;
    this.annotated.push({ ref, annotations: { ...annotations } });
    return this.annotateAnswer;
  }

  async deletePod(name: string, options?: CallOptions & { uid?: string }) {
    this.deleted.push({ name, ...(options?.uid !== undefined && { uid: options.uid }) });
    return 'deleted' as const;
  }

  async readPodLog(_name: string, options: PodLogOptions) {
    return `log of ${options.container}\n`;
  }
}

/** A results queue per name; a queue can refuse (missing entity) or the broker be down. */
class FakeBus implements ResultSender {
  readonly sent: { queue: string; message: ServiceBusMessage }[] = [];
  down = false;
  missing = new Set<string>();

  async send(queue: string, message: ServiceBusMessage, _signal?: AbortSignal) {
    if (this.down)
      throw Object.assign(new Error('connection lost'), { code: 'ServiceCommunicationProblem' });
    if (this.missing.has(queue)) {
      throw Object.assign(new Error(`queue ${queue} not found`), {
        name: 'ServiceBusError',
        code: 'MessagingEntityNotFound',
      });
    }
    this.sent.push({ queue, message });
  }

  async close() {}
}

class FakeLeadership implements Leadership {
  private controller = new AbortController();
  leading = true;
  holds() {
    return this.leading;
  }
  termSignal() {
    return this.leading ? this.controller.signal : undefined;
  }
  onChange() {
    return () => undefined;
  }
  lose() {
    this.leading = false;
    this.controller.abort(new Error('lost'));
    this.controller = new AbortController();
  }
}

const RESULTS: ResultsSettings = {
  queueName: 'results',
  allowedReplyTo: [],
  stuckAfterSeconds: 300,
  logTailBytes: 0,
};
const NO_CLEANUP: CleanupSettings = {
  ttlSecondsAfterFinished: 'never',
  stuckPendingSeconds: 'never',
  minimumAgeSeconds: 0,
};

function setup(
  options: {
    results?: Partial<ResultsSettings> | 'off';
    cleanup?: CleanupSettings;
    bus?: FakeBus;
    cluster?: FakeCluster;
  } = {},
) {
  const cluster = options.cluster ?? new FakeCluster();
  const bus = options.bus ?? new FakeBus();
  const leadership = new FakeLeadership();
  const events: { [K in keyof ResultEvents]?: ResultEvents[K][] } = {};
  const clock = { now: T0 + 60_000 };
  const keeper = new ResultsKeeper({
    client: cluster,
    leadership,
    results:
      options.results === 'off'
        ? undefined
        : { settings: { ...RESULTS, ...options.results }, sender: bus },
    cleanup: options.cleanup ?? NO_CLEANUP,
    events: {
      emit: (name, payload) => {
        (events[name] ??= [] as never[]).push(payload as never);
      },
    },
    now: () => clock.now,
    random: () => 0.5,
  });
  const see = async (...pods: unknown[]) => {
    for (const pod of pods) keeper.observe({ kind: 'changed', pod });
    await keeper.idle();
  };
  return { keeper, cluster, bus, leadership, events, clock, see };
}

const done = (name: string, exitCode = 0, annotations: Record<string, string> = {}) =>
  rawPod({
    name,
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    annotations,
    containers: [{ state: terminated(exitCode, 2, 7) }],
  });

describe('ResultsKeeper: one result per pod, then the mark', () => {
  it('sends the result of an ended pod to the results queue, then marks the pod', async () => {
    const { bus, cluster, see, events } = setup();
    await see(done('m1', 3));
    expect(
      bus.sent.map((s) => [
        s.queue,
        s.message.messageId,
        s.message.subject,
        s.message.correlationId,
      ]),
    ).toEqual([['results', 'podbus-result-uid-m1', 'failed', 'm1']]);
    expect(resultSchemaErrors(bus.sent[0]!.message.body)).toEqual([]);
    expect(cluster.annotated).toEqual([
      {
        ref: { name: 'm1', uid: 'uid-m1' },
        annotations: { 'podbus.io/result-sent': new Date(T0 + 60_000).toISOString() },
      },
    ]);
    expect(events.resultSent?.[0]).toMatchObject({
      pod: { messageId: 'm1', challengeId: 'web-101', cluster: 'aks-1', pod: 'm1', uid: 'uid-m1' },
      outcome: 'failed',
      toStartMs: 2000,
      runMs: 5000,
      lagMs: 53_000,
    });
    // Seen again (the watch's MODIFIED after the mark, a relist): nothing more is sent.
    await see(done('m1', 3, { 'podbus.io/result-sent': 'x' }), done('m1', 3));
    expect(bus.sent).toHaveLength(1);
  });

  it('sends to the queue the pod carries (an allowed replyTo), else the default', async () => {
    const { bus, see } = setup({ results: { allowedReplyTo: ['team-*'] } });
    await see(done('m1', 0, { 'podbus.io/reply-to': 'team-a' }), done('m2'));
    expect(bus.sent.map((s) => [s.message.correlationId, s.queue])).toEqual([
      ['m1', 'team-a'],
      ['m2', 'results'],
    ]);
  });

  it('a reply-to annotation allowedReplyTo does not allow (now): the default queue', async () => {
    // Written by whoever may patch pods, or allowed when the pod was made and no longer.
    const { bus, see } = setup({ results: { allowedReplyTo: ['team-*'] } });
    await see(
      done('m1', 0, { 'podbus.io/reply-to': 'billing-commands' }),
      done('m2', 0, { 'podbus.io/reply-to': '$cbs' }),
    );
    expect(bus.sent.map((s) => [s.message.correlationId, s.queue])).toEqual([
      ['m1', 'results'],
      ['m2', 'results'],
    ]);
  });

  it('a replyTo queue that does not exist: the result goes to the default queue', async () => {
    const bus = new FakeBus();
    bus.missing.add('team-gone');
    const { see, events } = setup({ bus, results: { allowedReplyTo: ['team-*'] } });
    await see(done('m1', 0, { 'podbus.io/reply-to': 'team-gone' }));
    expect(bus.sent.map((s) => s.queue)).toEqual(['results']);
    expect(events.resultSent?.[0]?.refusedBy).toMatchObject({ queue: 'team-gone' });
  });

  it('the results queue itself refuses: the failure names it, and the pod waits', async () => {
    const bus = new FakeBus();
    bus.missing.add('results');
    const { see, events, cluster } = setup({
      bus,
      cleanup: { ttlSecondsAfterFinished: 0, stuckPendingSeconds: 0, minimumAgeSeconds: 0 },
    });
    await see(done('m1'));
    expect(events.resultFailed).toEqual([
      expect.objectContaining({ step: 'send', refusedBy: 'results' }),
    ]);
    expect(cluster.annotated).toEqual([]);
    expect(cluster.deleted).toEqual([]);
  });

  it('waits for a running pod and for a stuck one until its limit', async () => {
    const { bus, see, keeper, clock } = setup();
    await see(POD_IN_EACH_STATE.running, {
      ...POD_IN_EACH_STATE.unschedulable,
      metadata: {
        ...(POD_IN_EACH_STATE.unschedulable as { metadata: object }).metadata,
        name: 'stuck',
        uid: 'uid-stuck',
      },
    });
    expect(bus.sent).toHaveLength(0);
    clock.now = T0 + 300_000;
    keeper.reconcile();
    await keeper.idle();
    expect(bus.sent.map((s) => s.message.subject)).toEqual(['unschedulable']);
  });

  it('a pod deleted under a running challenge: deleted, and no mark (nothing left to mark)', async () => {
    const { bus, cluster, keeper } = setup();
    keeper.observe({ kind: 'changed', pod: POD_IN_EACH_STATE.running });
    keeper.observe({ kind: 'deleted', pod: POD_IN_EACH_STATE.deletedWhileRunning });
    await keeper.idle();
    expect(bus.sent.map((s) => s.message.subject)).toEqual(['deleted']);
    expect(cluster.annotated).toEqual([]);
  });

  it('a pod gone while the watch was down (a relist without it): reported from its last state', async () => {
    const { bus, keeper, see } = setup({ results: { stuckAfterSeconds: 3600 } });
    await see(POD_IN_EACH_STATE.running);
    keeper.observe({ kind: 'listed', pods: [] });
    await keeper.idle();
    expect(
      bus.sent.map((s) => [
        s.message.subject,
        (s.message.body as { finishedAt: string }).finishedAt,
      ]),
    ).toEqual([['deleted', new Date(T0 + 60_000).toISOString()]]);
  });

  it('a failed send is retried later and the pod is not marked meanwhile', async () => {
    const bus = new FakeBus();
    bus.down = true;
    const { cluster, see, keeper, clock, events } = setup({ bus });
    await see(done('m1'));
    expect(cluster.annotated).toEqual([]);
    expect(events.resultFailed?.[0]).toMatchObject({ step: 'send', retryInMs: 500 });
    bus.down = false;
    keeper.reconcile();
    await keeper.idle();
    expect(bus.sent).toHaveLength(0); // not before the backoff
    clock.now += 500;
    keeper.reconcile();
    await keeper.idle();
    expect(bus.sent).toHaveLength(1);
    expect(cluster.annotated).toHaveLength(1);
  });

  it('a failed mark: this process does not send again, and marks later', async () => {
    const cluster = new FakeCluster();
    cluster.annotateFails = new Error('cluster aks-1: 503 Service Unavailable');
    const { bus, see, keeper, clock, events } = setup({ cluster });
    await see(done('m1'));
    expect(events.resultFailed?.[0]).toMatchObject({ step: 'mark' });
    cluster.annotateFails = undefined;
    clock.now += 1000;
    keeper.reconcile();
    await keeper.idle();
    expect(bus.sent).toHaveLength(1);
    expect(cluster.annotated).toHaveLength(1);
  });

  it('the leader died after sending, before marking: the next one sends the same messageId', async () => {
    const bus = new FakeBus();
    const cluster = new FakeCluster();
    cluster.annotateFails = new Error('the process died here');
    const first = setup({ bus, cluster });
    await first.see(done('m1'));
    first.leadership.lose();
    const second = setup({ bus, cluster });
    await second.see(done('m1')); // the pod as the new leader's watch lists it: unmarked
    expect(bus.sent.map((s) => s.message.messageId)).toEqual([
      'podbus-result-uid-m1',
      'podbus-result-uid-m1',
    ]);
  });

  it('does nothing without the lease; counts what waits', async () => {
    const { bus, cluster, leadership, see, keeper, events } = setup({
      cleanup: { ttlSecondsAfterFinished: 0, stuckPendingSeconds: 0, minimumAgeSeconds: 0 },
    });
    leadership.lose();
    await see(done('m1'), done('m2', 0, { 'podbus.io/result-sent': 'x' }));
    expect(bus.sent).toEqual([]);
    expect(cluster.deleted).toEqual([]);
    expect(events.backlogChanged?.at(-1)).toEqual({ cluster: 'aks-1', unsent: 1 });
    keeper.reconcile();
    await keeper.idle();
    expect(bus.sent).toEqual([]);
  });

  it('the lease lost while reading the logs: the result is not sent', async () => {
    const cluster = new FakeCluster();
    const { bus, leadership, see } = setup({ cluster, results: { logTailBytes: 1024 } });
    cluster.readPodLog = async () => {
      leadership.lose();
      return 'a log\n';
    };
    await see(done('m1'));
    expect(bus.sent).toEqual([]);
  });

  it('log tails ride along when asked for', async () => {
    const { bus, see } = setup({ results: { logTailBytes: 1024 } });
    await see(done('m1'));
    const body = bus.sent[0]!.message.body as { containers: { log?: unknown }[] };
    expect(body.containers[0]!.log).toEqual({ tail: 'log of web-101-01\n', truncated: false });
    expect(resultSchemaErrors(body)).toEqual([]);
  });

  it('losing the lease in the middle stops what is in flight', async () => {
    const bus = new FakeBus();
    const { leadership, see } = setup({ bus });
    bus.send = async (_queue: string, _message: ServiceBusMessage, signal?: AbortSignal) => {
      leadership.lose();
      if (signal?.aborted) throw signal.reason;
    };
    await see(done('m1'));
    expect(bus.sent).toEqual([]);
  });
});

describe('ResultsKeeper: cleanup', () => {
  it('ttl 0: deletes a finished pod right after its result, with a uid precondition', async () => {
    const { cluster, see, events } = setup({
      cleanup: { ttlSecondsAfterFinished: 0, stuckPendingSeconds: 'never', minimumAgeSeconds: 0 },
    });
    await see(done('m1'));
    expect(cluster.deleted).toEqual([{ name: 'm1', uid: 'uid-m1' }]);
    expect(events.podDeleted?.[0]).toMatchObject({ reason: 'finished', pod: { pod: 'm1' } });
  });

  it('deletes only after the result is sent, and only once', async () => {
    const bus = new FakeBus();
    bus.down = true;
    const { cluster, see, keeper } = setup({
      bus,
      cleanup: { ttlSecondsAfterFinished: 0, stuckPendingSeconds: 'never', minimumAgeSeconds: 0 },
    });
    await see(done('m1'));
    expect(cluster.deleted).toEqual([]);
    keeper.reconcile();
    keeper.reconcile();
    await keeper.idle();
    expect(cluster.deleted).toEqual([]);
  });

  it("never touches a pod that is not podbus's", async () => {
    const { cluster, bus, see } = setup({
      results: 'off',
      cleanup: { ttlSecondsAfterFinished: 0, stuckPendingSeconds: 0, minimumAgeSeconds: 0 },
    });
    await see(
      rawPod({
        name: 'theirs',
        phase: 'Succeeded',
        labels: { 'app.kubernetes.io/managed-by': 'helm' },
        containers: [{ state: terminated(0, 1, 2) }],
      }),
    );
    expect(cluster.deleted).toEqual([]);
    expect(bus.sent).toEqual([]);
  });

  it('with results off, deletes finished pods on their TTL alone', async () => {
    const { cluster, see, keeper, clock } = setup({
      results: 'off',
      cleanup: { ttlSecondsAfterFinished: 120, stuckPendingSeconds: 'never', minimumAgeSeconds: 0 },
    });
    await see(
      done('m1'),
      rawPod({ name: 'r1', phase: 'Running', containers: [{ state: running(1) }] }),
    );
    expect(cluster.deleted).toEqual([]);
    clock.now = T0 + 127_000;
    keeper.reconcile();
    await keeper.idle();
    expect(cluster.deleted).toEqual([{ name: 'm1', uid: 'uid-m1' }]);
  });
});
