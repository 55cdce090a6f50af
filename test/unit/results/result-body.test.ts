import { describe, expect, it } from '@jest/globals';

import { podState } from '../../../src/results/pod-outcome.js';
import { podSnapshot } from '../../../src/results/pod-snapshot.js';
import { buildResult, type ChallengeResult } from '../../../src/results/result-body.js';
import { resultMessage, resultMessageId } from '../../../src/results/result-message.js';
import { resultSchemaErrors } from '../../support/result-schema.js';
import { POD_IN_EACH_STATE, T0, rawPod, terminated } from './support/pods.js';

const CONTEXT = { cluster: 'aks-1', namespace: 'challenges', now: T0 + 1_000_000 };

function resultOf(
  raw: unknown,
  logs?: ChallengeResult['containers'][number]['log'][],
): ChallengeResult {
  const pod = podSnapshot(raw)!;
  const end = podState(pod, CONTEXT.now, 300_000);
  if (!end.ended) throw new Error('the pod has not ended');
  const byName =
    logs === undefined
      ? undefined
      : new Map(pod.containers.map((c, i) => [c.name, logs[i]!] as const));
  return buildResult(pod, end, { ...CONTEXT, ...(byName && { logs: byName }) });
}

describe('buildResult: the body a sender receives', () => {
  it('a failed pod: outcome, per-container state, exit codes, times and durations', () => {
    expect(resultOf(POD_IN_EACH_STATE.failed)).toEqual({
      version: 1,
      messageId: 'msg-1',
      challengeId: 'web-101',
      cluster: 'aks-1',
      namespace: 'challenges',
      pod: { name: 'msg-1', uid: 'uid-msg-1' },
      outcome: 'failed',
      reason: 'Error',
      createdAt: '2026-12-05T10:00:00.000Z',
      startedAt: '2026-12-05T10:00:02.000Z',
      finishedAt: '2026-12-05T10:00:06.000Z',
      durations: { toStartSeconds: 2, runSeconds: 4, totalSeconds: 6 },
      containers: [
        {
          name: 'web-101-01',
          image: 'registry.example/web:1',
          state: 'terminated',
          exitCode: 0,
          reason: 'Completed',
          startedAt: '2026-12-05T10:00:02.000Z',
          finishedAt: '2026-12-05T10:00:05.000Z',
          runSeconds: 3,
          restartCount: 0,
        },
        {
          name: 'web-101-02',
          image: 'registry.example/web:1',
          state: 'terminated',
          exitCode: 3,
          reason: 'Error',
          startedAt: '2026-12-05T10:00:02.000Z',
          finishedAt: '2026-12-05T10:00:06.000Z',
          runSeconds: 4,
          restartCount: 0,
        },
      ],
      reportedAt: new Date(CONTEXT.now).toISOString(),
    });
  });

  it('conforms to the published schema in every outcome', () => {
    for (const [state, raw] of Object.entries(POD_IN_EACH_STATE)) {
      if (state === 'running') continue;
      const result = resultOf(raw);
      expect({ state, errors: resultSchemaErrors(result) }).toEqual({ state, errors: [] });
    }
  });

  it('a pod that never started has no start and no run time', () => {
    const result = resultOf(POD_IN_EACH_STATE.imagePull);
    expect(result).toMatchObject({
      outcome: 'image-pull-failed',
      reason: 'ImagePullBackOff',
      finishedAt: '2026-12-05T10:05:00.000Z',
      durations: { totalSeconds: 300 },
      containers: [{ state: 'waiting', reason: 'ImagePullBackOff', restartCount: 0 }],
    });
    expect(result).not.toHaveProperty('startedAt');
  });

  it('carries the trace, and long Kubernetes texts are cut', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const result = resultOf(
      rawPod({
        phase: 'Failed',
        annotations: { 'podbus.io/traceparent': traceparent },
        containers: [
          {
            state: { terminated: { ...terminated(1, 1, 2).terminated, message: 'x'.repeat(5000) } },
          },
        ],
      }),
    );
    expect(result.traceparent).toBe(traceparent);
    expect(result.containers[0]!.message).toHaveLength(1024);
    expect(resultSchemaErrors(result)).toEqual([]);
  });

  it('a secret in a termination message does not travel on', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl';
    const result = resultOf(
      rawPod({
        phase: 'Failed',
        containers: [
          { state: { terminated: { ...terminated(1, 1, 2).terminated, message: `token ${jwt}` } } },
        ],
      }),
    );
    expect(result.containers[0]!.message).toBe('token [REDACTED]');
  });

  it('a traceparent annotation that is not one is left out', () => {
    const result = resultOf(
      rawPod({ phase: 'Succeeded', annotations: { 'podbus.io/traceparent': 'forged' } }),
    );
    expect(result).not.toHaveProperty('traceparent');
  });

  it('log tails and log errors conform too', () => {
    const result = resultOf(POD_IN_EACH_STATE.failed, [
      { tail: 'ok\n', truncated: false },
      { error: 'pods "msg-1" is forbidden: cannot get resource "pods/log"' },
    ]);
    expect(result.containers.map((c) => c.log)).toEqual([
      { tail: 'ok\n', truncated: false },
      { error: 'pods "msg-1" is forbidden: cannot get resource "pods/log"' },
    ]);
    expect(resultSchemaErrors(result)).toEqual([]);
  });

  it('the schema catches a wrong body (the check can fail)', () => {
    const result = resultOf(POD_IN_EACH_STATE.succeeded);
    expect(resultSchemaErrors({ ...result, outcome: 'exploded' })).not.toEqual([]);
    expect(resultSchemaErrors({ ...result, extra: 1 })).not.toEqual([]);
    expect(resultSchemaErrors({ ...result, finishedAt: 'yesterday' })).not.toEqual([]);
  });
});

describe('resultMessage: the Service Bus message around it', () => {
  it('messageId from the pod uid, correlationId the challenge message, subject the outcome', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const result = resultOf(
      rawPod({
        phase: 'Succeeded',
        uid: 'u-42',
        annotations: { 'podbus.io/traceparent': traceparent },
      }),
    );
    expect(resultMessage(result)).toEqual({
      messageId: 'podbus-result-u-42',
      correlationId: 'msg-1',
      subject: 'succeeded',
      contentType: 'application/json',
      body: result,
      applicationProperties: {
        'podbus-cluster': 'aks-1',
        'podbus-pod': 'msg-1',
        'podbus-challenge-id': 'web-101',
        traceparent,
        'Diagnostic-Id': traceparent,
      },
    });
  });

  it('the same pod always gets the same result messageId; another pod another', () => {
    expect(resultMessageId('u-1')).toBe(resultMessageId('u-1'));
    expect(resultMessageId('u-1')).not.toBe(resultMessageId('u-2'));
    // Service Bus limits message IDs to 128 characters; a uid is 36.
    expect(resultMessageId('8d0c6e9a-2b1f-4c52-9d7e-0f6a1b2c3d4e').length).toBeLessThanOrEqual(128);
  });
});
