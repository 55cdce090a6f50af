import { describe, expect, it } from '@jest/globals';

import { podState, vanishedPodState } from '../../../src/results/pod-outcome.js';
import { podSnapshot, type PodSnapshot } from '../../../src/results/pod-snapshot.js';
import { POD_IN_EACH_STATE, T0, rawPod, running, terminated, waiting } from './support/pods.js';

const STUCK_AFTER_MS = 300_000;
const snap = (raw: unknown): PodSnapshot => podSnapshot(raw)!;
const stateAt = (raw: unknown, seconds: number) =>
  podState(snap(raw), T0 + seconds * 1000, STUCK_AFTER_MS);

describe('podState: how a pod ended, from the pod and the time alone', () => {
  it('Succeeded and Failed, with the end at the last container finish', () => {
    expect(stateAt(POD_IN_EACH_STATE.succeeded, 8)).toEqual({
      ended: true,
      outcome: 'succeeded',
      endedAt: T0 + 7000,
      reason: 'Completed',
      message: undefined,
    });
    expect(stateAt(POD_IN_EACH_STATE.failed, 8)).toMatchObject({
      ended: true,
      outcome: 'failed',
      endedAt: T0 + 6000,
      reason: 'Error',
    });
  });

  it('activeDeadlineSeconds is its own outcome', () => {
    expect(stateAt(POD_IN_EACH_STATE.deadlineExceeded, 70)).toEqual({
      ended: true,
      outcome: 'deadline-exceeded',
      endedAt: T0 + 62_000,
      reason: 'DeadlineExceeded',
      message: 'Pod was active on the node longer than the specified deadline',
    });
  });

  it('a stuck pod ends only once it was stuck for stuckAfterSeconds since its creation', () => {
    expect(stateAt(POD_IN_EACH_STATE.imagePull, 299)).toEqual({
      ended: false,
      stuckUntil: T0 + 300_000,
    });
    for (const [raw, outcome, reason] of [
      [POD_IN_EACH_STATE.imagePull, 'image-pull-failed', 'ImagePullBackOff'],
      [POD_IN_EACH_STATE.invalidImage, 'image-pull-failed', 'InvalidImageName'],
      [POD_IN_EACH_STATE.unschedulable, 'unschedulable', 'Unschedulable'],
    ] as const) {
      // Stamped at creation + the limit, whenever a replica looks: every leader agrees.
      expect(stateAt(raw, 999)).toMatchObject({
        ended: true,
        outcome,
        reason,
        endedAt: T0 + 300_000,
      });
    }
    expect(stateAt(POD_IN_EACH_STATE.unschedulable, 999)).toMatchObject({
      message: '0/1 nodes are available: 1 Too many pods.',
    });
  });

  it('a pod still going has not ended, however long it runs', () => {
    expect(stateAt(POD_IN_EACH_STATE.running, 99_999)).toEqual({ ended: false });
    expect(
      stateAt(
        rawPod({ phase: 'Pending', containers: [{ state: waiting('ContainerCreating') }] }),
        999,
      ),
    ).toEqual({
      ended: false,
    });
  });

  it('deleted before it ended: deleted, at the time the deletion was asked for', () => {
    expect(stateAt(POD_IN_EACH_STATE.deletedWhileRunning, 41)).toEqual({
      ended: true,
      outcome: 'deleted',
      endedAt: T0 + 10_000,
      reason: 'Deleted',
      message: 'the pod was deleted before it ended',
    });
    const stillRunning = rawPod({
      phase: 'Running',
      containers: [{ state: running(2) }],
      deletion: { at: 20, grace: 0 },
    });
    expect(stateAt(stillRunning, 21)).toMatchObject({ outcome: 'deleted', endedAt: T0 + 20_000 });
  });

  it('deleted after it ended on its own: the outcome it ended with', () => {
    const finishedThenDeleted = rawPod({
      phase: 'Failed',
      containers: [{ state: terminated(2, 2, 5) }],
      deletion: { at: 60, grace: 0 },
    });
    expect(stateAt(finishedThenDeleted, 61)).toMatchObject({
      outcome: 'failed',
      endedAt: T0 + 5000,
    });
  });

  it('reads client-node models (Date timestamps) as the watch JSON', () => {
    const raw = POD_IN_EACH_STATE.succeeded as {
      metadata: Record<string, unknown>;
      status: { containerStatuses: { state: { terminated: Record<string, unknown> } }[] };
    };
    const model = structuredClone(raw);
    model.metadata.creationTimestamp = new Date(T0);
    const t = model.status.containerStatuses[0]!.state.terminated;
    t.startedAt = new Date(String(t.startedAt));
    t.finishedAt = new Date(String(t.finishedAt));
    expect(stateAt(model, 8)).toEqual(stateAt(raw, 8));
  });
});

describe('vanishedPodState: a pod deleted while nobody watched', () => {
  it('keeps an end it had already reached', () => {
    expect(
      vanishedPodState(snap(POD_IN_EACH_STATE.succeeded), T0 + 60_000, STUCK_AFTER_MS),
    ).toMatchObject({
      outcome: 'succeeded',
      endedAt: T0 + 7000,
    });
  });

  it('is deleted, now, when it had not ended', () => {
    expect(vanishedPodState(snap(POD_IN_EACH_STATE.running), T0 + 60_000, STUCK_AFTER_MS)).toEqual({
      ended: true,
      outcome: 'deleted',
      endedAt: T0 + 60_000,
      reason: 'Deleted',
      message: 'the pod was deleted before it ended (its deletion was not watched)',
    });
  });
});

describe('podSnapshot', () => {
  it('is undefined for something that is not a pod', () => {
    expect(podSnapshot({ metadata: { name: 'x' } })).toBeUndefined();
    expect(podSnapshot(null)).toBeUndefined();
    expect(podSnapshot('pod')).toBeUndefined();
  });
});
