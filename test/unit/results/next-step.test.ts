import { describe, expect, it } from '@jest/globals';

import { nextStep, type StepSettings } from '../../../src/results/next-step.js';
import { podSnapshot } from '../../../src/results/pod-snapshot.js';
import { POD_IN_EACH_STATE, T0, rawPod, terminated, type PodOptions } from './support/pods.js';

const SETTINGS: StepSettings = {
  results: { stuckAfterSeconds: 300 },
  cleanup: { ttlSecondsAfterFinished: 3600, stuckPendingSeconds: 900, minimumAgeSeconds: 0 },
};
const SENT = { 'podbus.io/result-sent': '2026-12-05T10:00:08Z' };

function step(
  raw: unknown,
  seconds: number,
  facts: { gone?: boolean; sentHere?: boolean } = {},
  settings: StepSettings = SETTINGS,
) {
  const pod = podSnapshot(raw)!;
  return nextStep(
    { pod, gone: facts.gone ?? false, sentHere: facts.sentHere ?? false },
    T0 + seconds * 1000,
    settings,
  );
}

const finished = (options: PodOptions = {}) =>
  rawPod({ phase: 'Succeeded', containers: [{ state: terminated(0, 2, 7) }], ...options });

describe('nextStep: results first', () => {
  it('reports an ended pod whose result was not sent', () => {
    expect(step(finished(), 8)).toMatchObject({ kind: 'report', end: { outcome: 'succeeded' } });
  });

  it('waits for a running pod, and for a stuck one until its limit', () => {
    expect(step(POD_IN_EACH_STATE.running, 8)).toEqual({ kind: 'wait' });
    expect(step(POD_IN_EACH_STATE.unschedulable, 8)).toEqual({ kind: 'wait', until: T0 + 300_000 });
    expect(step(POD_IN_EACH_STATE.unschedulable, 300)).toMatchObject({
      kind: 'report',
      end: { outcome: 'unschedulable' },
    });
  });

  it('reports a pod deleted before its result, from its last state', () => {
    expect(step(POD_IN_EACH_STATE.running, 50, { gone: true })).toMatchObject({
      kind: 'report',
      end: { outcome: 'deleted' },
    });
    expect(step(finished(), 50, { gone: true })).toMatchObject({
      kind: 'report',
      end: { outcome: 'succeeded' },
    });
  });

  it('never reports twice: not when the pod says so, not when this process sent it', () => {
    expect(step(finished({ annotations: SENT }), 8)).toEqual({
      kind: 'wait',
      until: T0 + 3_607_000,
    });
    expect(step(finished(), 8, { sentHere: true })).toEqual({ kind: 'mark' });
    expect(step(finished(), 8, { sentHere: true, gone: true })).toEqual({ kind: 'forget' });
  });
});

describe('nextStep: cleanup', () => {
  it('deletes a finished pod ttlSecondsAfterFinished after its end, once its result is sent', () => {
    expect(step(finished({ annotations: SENT }), 3606)).toEqual({
      kind: 'wait',
      until: T0 + 3_607_000,
    });
    expect(step(finished({ annotations: SENT }), 3607)).toEqual({
      kind: 'delete',
      reason: 'finished',
      afterMs: 3_600_000,
    });
    // Without its result sent it is reported first, however old.
    expect(step(finished(), 99_999)).toMatchObject({ kind: 'report' });
  });

  it('ttl 0: right after the result; never: not at all', () => {
    const now = { ...SETTINGS.cleanup };
    expect(
      step(
        finished({ annotations: SENT }),
        8,
        {},
        { ...SETTINGS, cleanup: { ...now, ttlSecondsAfterFinished: 0 } },
      ),
    ).toMatchObject({ kind: 'delete', reason: 'finished' });
    expect(
      step(
        finished({ annotations: SENT }),
        99_999,
        {},
        {
          ...SETTINGS,
          cleanup: { ...now, ttlSecondsAfterFinished: 'never' },
        },
      ),
    ).toEqual({ kind: 'forget' });
  });

  it('deletes a stuck pod stuckPendingSeconds after its creation, after its result', () => {
    const reported = rawPod({
      phase: 'Pending',
      annotations: SENT,
      containers: [{ state: { waiting: { reason: 'ErrImagePull' } } }],
    });
    expect(step(reported, 899)).toEqual({ kind: 'wait', until: T0 + 900_000 });
    expect(step(reported, 900)).toEqual({ kind: 'delete', reason: 'stuck', afterMs: 900_000 });
    // A pending pod that is not stuck is left alone, however long it waits.
    const creating = rawPod({
      phase: 'Pending',
      annotations: SENT,
      containers: [{ state: { waiting: { reason: 'ContainerCreating' } } }],
    });
    expect(step(creating, 99_999)).toEqual({ kind: 'wait' });
  });

  it('with results off, cleanup needs no result', () => {
    const off: StepSettings = { ...SETTINGS, results: undefined };
    expect(step(finished(), 3607, {}, off)).toMatchObject({ kind: 'delete', reason: 'finished' });
    expect(step(POD_IN_EACH_STATE.unschedulable, 900, {}, off)).toMatchObject({
      kind: 'delete',
      reason: 'stuck',
    });
  });

  it("never touches a pod someone is deleting, nor one that is not podbus's", () => {
    const deleting = finished({ annotations: SENT, deletion: { at: 10, grace: 0 } });
    expect(step(deleting, 99_999)).toEqual({ kind: 'wait' });
    const foreign = finished({
      annotations: SENT,
      labels: { 'app.kubernetes.io/managed-by': 'someone-else' },
    });
    expect(step(foreign, 99_999)).toEqual({ kind: 'forget' });
    expect(step(foreign, 99_999, {}, { ...SETTINGS, results: undefined })).toEqual({
      kind: 'forget',
    });
  });

  it('never before minimumAgeSeconds: a redelivery of its message must still find the pod', () => {
    const keep = {
      ...SETTINGS,
      cleanup: { ...SETTINGS.cleanup, ttlSecondsAfterFinished: 0, minimumAgeSeconds: 600 },
    };
    expect(step(finished({ annotations: SENT }), 8, {}, keep)).toEqual({
      kind: 'wait',
      until: T0 + 600_000,
    });
    expect(step(finished({ annotations: SENT }), 600, {}, keep)).toMatchObject({
      kind: 'delete',
      reason: 'finished',
    });
  });

  it('forgets a pod that is gone once it is reported', () => {
    expect(step(finished({ annotations: SENT }), 10, { gone: true })).toEqual({ kind: 'forget' });
  });
});
