import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { resultSchemaErrors } from '../../support/result-schema.js';
import { annotation, challenge, eventually, type Stack } from '../worker/stack.js';
import {
  RESULTS_QUEUE,
  TEAM_QUEUE,
  byChallengeMessage,
  resultsStack,
  takeResults,
} from './support/results-stack.js';

/**
 * One result per challenge, for every way a pod ends, through the real SDK and client-node
 * against both emulators: the pods go through the emulator's simulated kubelet and scheduler
 * (its image conventions make them succeed, fail, hang or never start).
 */
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

let stack: Stack;
beforeAll(async () => {
  stack = await resultsStack({
    clusters: [
      { name: 'alpha', lifecycle: { scheduleMs: 20, startMs: 50, runMs: 300 } },
      // No room on its one node: every pod stays Unschedulable.
      { name: 'full', nodeCapacityPods: 0 },
    ],
  });
  await stack.startWorker();
});
afterAll(async () => {
  await stack.stop();
});

const on = (cluster: string, body: object) => ({ ...body, cluster });

describe('results: one message per pod, for each way it ends', () => {
  it('succeeded, failed, deadline-exceeded, image-pull-failed, unschedulable, deleted', async () => {
    await stack.send(
      {
        messageId: 'r-ok',
        body: on('alpha', challenge('web-1', 'registry.example/challenges/web:1')),
        applicationProperties: { 'Diagnostic-Id': TRACEPARENT },
      },
      {
        messageId: 'r-fail',
        body: on(
          'alpha',
          challenge('web-2', 'registry.example/challenges/web:1', 'registry.example/app:exit-3'),
        ),
      },
      {
        messageId: 'r-deadline',
        body: on('alpha', {
          ...challenge('web-3', 'registry.example/app:sleep-infinity'),
          activeDeadlineSeconds: 1,
        }),
      },
      { messageId: 'r-pull', body: on('alpha', challenge('web-4', 'unreachable.example/app:1')) },
      { messageId: 'r-unsched', body: on('full', challenge('web-5', 'registry.example/app:1')) },
      {
        messageId: 'r-deleted',
        body: on('alpha', challenge('web-6', 'registry.example/app:sleep-infinity')),
      },
    );
    // Someone deletes a running challenge pod before it ends.
    await eventually('r-deleted running', () =>
      stack
        .pods()
        .some((p) => p.pod.metadata.name === 'r-deleted' && p.pod.status.phase === 'Running'),
    );
    await stack
      .adminApi('alpha')
      .deleteNamespacedPod({ namespace: 'challenges', name: 'r-deleted' });

    const results = byChallengeMessage(await takeResults(stack, RESULTS_QUEUE, 6));
    expect([...results.keys()].sort()).toEqual(
      ['r-deadline', 'r-deleted', 'r-fail', 'r-ok', 'r-pull', 'r-unsched'].sort(),
    );
    const outcome = (id: string) => ({
      subject: results.get(id)!.message.subject,
      outcome: results.get(id)!.body.outcome,
      exitCodes: results.get(id)!.body.containers.map((c) => c.exitCode),
      reason: results.get(id)!.body.reason,
    });
    expect(outcome('r-ok')).toEqual({
      subject: 'succeeded',
      outcome: 'succeeded',
      exitCodes: [0],
      reason: 'Completed',
    });
    expect(outcome('r-fail')).toEqual({
      subject: 'failed',
      outcome: 'failed',
      exitCodes: [0, 3],
      reason: 'Error',
    });
    expect(outcome('r-deadline')).toEqual({
      subject: 'deadline-exceeded',
      outcome: 'deadline-exceeded',
      exitCodes: [137],
      reason: 'DeadlineExceeded',
    });
    expect(outcome('r-pull')).toMatchObject({
      outcome: 'image-pull-failed',
      exitCodes: [undefined],
    });
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(outcome('r-pull').reason);
    expect(outcome('r-unsched')).toMatchObject({
      outcome: 'unschedulable',
      reason: 'Unschedulable',
    });
    expect(outcome('r-deleted')).toMatchObject({ outcome: 'deleted', reason: 'Deleted' });

    for (const [id, { message, body }] of results) {
      expect({ id, errors: resultSchemaErrors(body) }).toEqual({ id, errors: [] });
      expect(message.messageId).toBe(`podbus-result-${body.pod.uid}`);
      expect(body.messageId).toBe(id);
      expect(message.contentType).toBe('application/json');
    }
    expect(results.get('r-unsched')!.body.cluster).toBe('full');
    // The sender's trace goes on into the result.
    expect(results.get('r-ok')!.body.traceparent).toBe(TRACEPARENT);
    expect(results.get('r-ok')!.message.applicationProperties).toMatchObject({
      traceparent: TRACEPARENT,
      'Diagnostic-Id': TRACEPARENT,
    });

    // Each pod is marked; the log lines of the result carry the message's trace.
    for (const id of ['r-ok', 'r-fail', 'r-deadline', 'r-pull', 'r-unsched']) {
      await eventually(`${id} marked`, () =>
        stack
          .pods()
          .some((p) => p.pod.metadata.name === id && annotation(p.pod, 'podbus.io/result-sent')),
      );
    }
    const sentLine = stack.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'result sent' && l.messageId === 'r-ok');
    expect(sentLine).toMatchObject({
      traceparent: TRACEPARENT,
      cluster: 'alpha',
      outcome: 'succeeded',
    });
  });

  it('a replyTo the operator allows gets the result; one it does not, the results queue', async () => {
    await stack.send(
      {
        messageId: 'r-team',
        replyTo: TEAM_QUEUE,
        body: on('alpha', challenge('t-1', 'registry.example/app:1')),
      },
      {
        messageId: 'r-sneaky',
        replyTo: 'challenges',
        body: on('alpha', challenge('t-2', 'registry.example/app:1')),
      },
    );
    const team = await takeResults(stack, TEAM_QUEUE, 1);
    expect(team.map((m) => m.correlationId)).toEqual(['r-team']);
    const defaults = await takeResults(stack, RESULTS_QUEUE, 1);
    expect(defaults.map((m) => m.correlationId)).toEqual(['r-sneaky']);
    // The challenges queue got no result (only the two challenges, long since taken).
    expect(stack.sb.inspect('challenges').active).toBe(0);
  });
});
