/**
 * The pure parts of `podbus status`: a pod and its Events -> a report, the places searched -> one
 * state, and what --watch prints as statuses arrive. The command itself runs against the
 * emulators in test/integration/cli/status.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';

import { challengeStatus, type ChallengeStatus } from '../../../src/cli/status/challenge-status.js';
import type { ClusterAnswer } from '../../../src/cli/status/cluster-search.js';
import { podReport } from '../../../src/cli/status/pod-report.js';
import type { ServiceBusSearch } from '../../../src/cli/status/queue-search.js';
import { formatAge, statusText } from '../../../src/cli/status/render.js';
import { WatchPrinter } from '../../../src/cli/status/watch-printer.js';

const NOW = Date.parse('2026-12-05T10:00:00Z');

function pod(status: V1Pod['status'], extra: Partial<V1Pod['metadata']> = {}): V1Pod {
  return {
    metadata: {
      name: 'run-1',
      namespace: 'challenges',
      uid: 'u-1',
      creationTimestamp: new Date('2026-12-05T09:58:00Z'),
      labels: { challengeId: 'web-101' },
      annotations: { 'podbus.io/message-id': 'run-1', 'podbus.io/challenge-id': 'Web 101' },
      ...extra,
    },
    spec: { containers: [{ name: 'web-01', image: 'registry.example/web:1' }] },
    status,
  };
}

const waiting = (reason: string, message?: string) => ({
  containerStatuses: [
    {
      name: 'web-01',
      image: 'registry.example/web:1',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason, ...(message !== undefined && { message }) } },
    },
  ],
});

const terminated = (exitCode: number, reason: string) => ({
  containerStatuses: [
    {
      name: 'web-01',
      image: 'registry.example/web:1',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode,
          reason,
          startedAt: new Date('2026-12-05T09:58:10Z'),
          finishedAt: new Date('2026-12-05T09:59:00Z'),
        },
      },
    },
  ],
});

const report = (p: V1Pod, events: CoreV1Event[] = []) => podReport('alpha', p, events, NOW);

describe('podReport: where a pod is, in one word, with why', () => {
  it.each([
    ['Pending, nothing known yet', pod({ phase: 'Pending' }), 'pending', undefined],
    [
      'Pending, creating its container',
      pod({ phase: 'Pending', ...waiting('ContainerCreating') }),
      'pending',
      'ContainerCreating',
    ],
    [
      'an image that cannot be pulled',
      pod({ phase: 'Pending', ...waiting('ImagePullBackOff', 'Back-off pulling image') }),
      'image-pull-failing',
      'ImagePullBackOff',
    ],
    [
      'an image name the kubelet refuses',
      pod({ phase: 'Pending', ...waiting('InvalidImageName') }),
      'image-pull-failing',
      'InvalidImageName',
    ],
    [
      'no node for it',
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/1 nodes are available',
          },
        ],
      }),
      'unschedulable',
      'Unschedulable',
    ],
    ['Running', pod({ phase: 'Running' }), 'running', undefined],
    [
      'Running, deletion asked for',
      pod({ phase: 'Running' }, { deletionTimestamp: new Date('2026-12-05T09:59:59Z') }),
      'terminating',
      undefined,
    ],
    [
      'Succeeded',
      pod({ phase: 'Succeeded', ...terminated(0, 'Completed') }),
      'succeeded',
      undefined,
    ],
    [
      'Failed with an exit code',
      pod({ phase: 'Failed', ...terminated(3, 'Error') }),
      'failed',
      'Error',
    ],
    [
      'Failed at its activeDeadlineSeconds',
      pod({ phase: 'Failed', reason: 'DeadlineExceeded', ...terminated(137, 'Error') }),
      'deadline-exceeded',
      'DeadlineExceeded',
    ],
    ['Unknown (the node stopped reporting)', pod({ phase: 'Unknown' }), 'unknown', undefined],
  ] as const)('%s -> %s', (_what, p, state, reason) => {
    const r = report(p);
    expect(r.state).toBe(state);
    expect(r.reason).toBe(reason);
  });

  it('has the containers with exit codes, the challenge as sent, its age and its end', () => {
    const r = report(pod({ phase: 'Failed', ...terminated(3, 'Error') }));
    expect(r).toMatchObject({
      cluster: 'alpha',
      namespace: 'challenges',
      name: 'run-1',
      uid: 'u-1',
      phase: 'Failed',
      challengeId: 'Web 101',
      createdAt: '2026-12-05T09:58:00Z',
      ageSeconds: 120,
      finishedAt: '2026-12-05T09:59:00Z',
      containers: [
        {
          name: 'web-01',
          image: 'registry.example/web:1',
          state: 'terminated',
          reason: 'Error',
          exitCode: 3,
          restarts: 0,
        },
      ],
    });
  });

  it('orders Events by second, then by the order they were written', () => {
    const event = (reason: string, rv: string, time: Partial<CoreV1Event>): CoreV1Event => ({
      metadata: { resourceVersion: rv },
      involvedObject: {},
      reason,
      message: reason,
      type: 'Normal',
      ...time,
    });
    const r = report(pod({ phase: 'Running' }), [
      // The kubelet stamps whole seconds, the scheduler microseconds: within a second, the
      // order of writes tells which came first.
      event('Started', '12', { lastTimestamp: new Date('2026-12-05T09:58:01Z') }),
      event('Scheduled', '10', { eventTime: new Date('2026-12-05T09:58:01.400Z') }),
      event('Pulled', '11', { lastTimestamp: new Date('2026-12-05T09:58:01Z'), count: 3 }),
    ]);
    expect(r.events.map((e) => `${e.reason} x${e.count}`)).toEqual([
      'Scheduled x1',
      'Pulled x3',
      'Started x1',
    ]);
  });

  it('says why the Events are missing, and still reports the pod', () => {
    const r = podReport(
      'alpha',
      pod({ phase: 'Running' }),
      { problem: 'may not list events' },
      NOW,
    );
    expect(r).toMatchObject({ state: 'running', events: [], eventsProblem: 'may not list events' });
  });
});

// ---------------------------------------------------------------------------------------------
const searched = (ids: string[] = [], complete = true): ServiceBusSearch['queue'] => ({
  searched: true,
  peeked: 10,
  complete,
  found: new Map(
    ids.map((id) => [
      id,
      [{ messageId: id, sequenceNumber: '1', state: 'active' as const, deliveryCount: 0 }],
    ]),
  ),
});
const deadLettered = (ids: string[] = []): ServiceBusSearch['deadLetterQueue'] => ({
  searched: true,
  peeked: 3,
  complete: true,
  found: new Map(
    ids.map((id) => [
      id,
      [{ messageId: id, sequenceNumber: '7', deadLetterReason: 'PodRejected' }],
    ]),
  ),
});
const answers = (...results: ClusterAnswer[]): ClusterAnswer[] => results;
const state = (
  serviceBus: ServiceBusSearch,
  clusters: ClusterAnswer[] = answers({ cluster: 'alpha', result: 'not-found' }),
) =>
  challengeStatus({
    messageId: 'run-1',
    podName: 'run-1',
    serviceBus,
    answers: clusters,
    now: NOW,
  }).state;

describe('challengeStatus: one state from every place searched', () => {
  it('the pod wins over a queue entry (a redelivery, or the worker still settling)', () => {
    const found: ClusterAnswer = {
      cluster: 'alpha',
      result: 'found',
      pod: pod({ phase: 'Running' }),
      events: [],
    };
    expect(state({ queue: searched(['run-1']), deadLetterQueue: deadLettered() }, [found])).toBe(
      'running',
    );
  });

  it('dead-lettered before queued; queued before nowhere', () => {
    expect(state({ queue: searched(['run-1']), deadLetterQueue: deadLettered(['run-1']) })).toBe(
      'dead-lettered',
    );
    expect(state({ queue: searched(['run-1']), deadLetterQueue: deadLettered() })).toBe('queued');
    expect(state({ queue: searched(), deadLetterQueue: deadLettered() })).toBe('not-found');
  });

  it('"unknown", never "not found", when a place could not be searched whole', () => {
    const sb = { queue: searched(), deadLetterQueue: deadLettered() };
    expect(
      state(sb, answers({ cluster: 'alpha', result: 'unreachable', problem: 'unreachable' })),
    ).toBe('unknown');
    expect(state({ ...sb, queue: searched([], false) })).toBe('unknown');
    expect(state({ ...sb, deadLetterQueue: { searched: false, problem: 'refused' } })).toBe(
      'unknown',
    );
  });

  it('a pod of that name made for another message is not this challenge', () => {
    const other: ClusterAnswer = { cluster: 'alpha', result: 'other-pod', messageId: 'run-0' };
    const status = challengeStatus({
      messageId: 'run-1',
      podName: 'run-1',
      serviceBus: { queue: searched(), deadLetterQueue: deadLettered() },
      answers: [other],
      now: NOW,
    });
    expect(status).toMatchObject({
      state: 'not-found',
      pods: [],
      clusters: [{ name: 'alpha', result: 'other-pod', messageId: 'run-0' }],
    });
  });
});

describe('formatAge: as kubectl shows ages', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [60, '1m'],
    [200, '3m20s'],
    [7200, '2h'],
    [7500, '2h5m'],
    [86400 * 3 + 3600 * 4, '3d4h'],
  ])('%d s -> %s', (seconds, text) => expect(formatAge(seconds)).toBe(text));
});

// ---------------------------------------------------------------------------------------------
describe('WatchPrinter: a line per change, each Event once, the whole status at the end', () => {
  const at = (phase: string, extra: V1Pod['status'] = {}, events: CoreV1Event[] = []) =>
    challengeStatus({
      messageId: 'run-1',
      podName: 'run-1',
      serviceBus: { queue: searched(), deadLetterQueue: deadLettered() },
      answers: [{ cluster: 'alpha', result: 'found', pod: pod({ phase, ...extra }), events }],
      now: NOW,
    });
  const started: CoreV1Event = {
    metadata: { resourceVersion: '5' },
    involvedObject: {},
    type: 'Normal',
    reason: 'Started',
    message: 'Started container web-01',
    lastTimestamp: new Date('2026-12-05T09:58:05Z'),
  };

  function printed(json: boolean, statuses: [ChallengeStatus, boolean][]): string {
    let out = '';
    const printer = new WatchPrinter((t) => (out += t), {
      json,
      render: () => ({ queue: 'challenges', now: NOW }),
    });
    for (const [s, ended] of statuses) printer.print(s, ended);
    return out;
  }

  it('text', () => {
    const out = printed(false, [
      [at('Pending'), false],
      [at('Pending'), false], // nothing changed: nothing printed
      [at('Running', {}, [started]), false],
      [at('Running', {}, [started]), false],
      [at('Succeeded', terminated(0, 'Completed'), [started]), true],
    ]);
    const lines = out.split('\n');
    expect(lines[0]).toBe('run-1: pending on cluster alpha (pod challenges/run-1, 2m old)');
    expect(lines.filter((l) => l.startsWith('10:00:00Z'))).toEqual([
      '10:00:00Z  run-1: Normal Started: Started container web-01',
      '10:00:00Z  run-1: running on cluster alpha (pod challenges/run-1) | web-01 not-started',
      '10:00:00Z  run-1: succeeded on cluster alpha (pod challenges/run-1) | web-01 terminated (Completed, exit 0)',
    ]);
    expect(out).toContain('\nrun-1: succeeded on cluster alpha (pod challenges/run-1, 2m old)\n');
  });

  it('JSON Lines: a status when something changed (ages do not count), the last one ended', () => {
    const later = {
      ...at('Pending'),
      pods: at('Pending').pods.map((p) => ({ ...p, ageSeconds: 999 })),
    };
    const lines = printed(true, [
      [at('Pending'), false],
      [later, false],
      [at('Running'), false],
      [at('Succeeded', terminated(0, 'Completed')), true],
    ])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { state: string; ended: boolean });
    expect(lines.map((l) => [l.state, l.ended])).toEqual([
      ['pending', false],
      ['running', false],
      ['succeeded', true],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('text output: what others wrote reaches the terminal without control characters', () => {
  const ESC = '\u001b';
  const hostile = `${ESC}]0;owned${'\u0007'}${ESC}[2Jcleared\r\nforged line`;
  it('a dead-letter reason and description, and the message ID itself', () => {
    const status = challengeStatus({
      messageId: `run-1${ESC}[8m`,
      podName: 'run-1',
      serviceBus: {
        queue: searched(),
        deadLetterQueue: {
          searched: true,
          peeked: 1,
          complete: true,
          found: new Map([
            [
              `run-1${ESC}[8m`,
              [
                {
                  messageId: `run-1${ESC}[8m`,
                  sequenceNumber: '7',
                  deadLetterReason: `Bad${ESC}[31m`,
                  deadLetterErrorDescription: hostile,
                },
              ],
            ],
          ]),
        },
      },
      answers: [{ cluster: 'alpha', result: 'not-found' }],
      now: NOW,
    });
    const text = statusText(status, { queue: 'challenges', now: NOW });
    expect(text).not.toMatch(/\p{Cc}(?<!\n)/u);
    expect(text.split('\n')[0]).toBe(
      'run-1[8m: dead-lettered: Bad[31m: ]0;owned[2Jcleared forged line',
    );
  });

  it('an Event message under --watch', () => {
    let out = '';
    const printer = new WatchPrinter((t) => (out += t), {
      json: false,
      render: () => ({ queue: 'challenges', now: NOW }),
    });
    const event: CoreV1Event = {
      metadata: { resourceVersion: '9' },
      involvedObject: {},
      type: 'Warning',
      reason: 'Failed',
      message: hostile,
      lastTimestamp: new Date('2026-12-05T09:58:05Z'),
    };
    const withEvents = (events: CoreV1Event[]) =>
      challengeStatus({
        messageId: 'run-1',
        podName: 'run-1',
        serviceBus: { queue: searched(), deadLetterQueue: deadLettered() },
        answers: [{ cluster: 'alpha', result: 'found', pod: pod({ phase: 'Pending' }), events }],
        now: NOW,
      });
    printer.print(withEvents([]), false);
    printer.print(withEvents([event]), false);
    expect(out).not.toMatch(/\p{Cc}(?<!\n)/u);
    expect(out).toContain('run-1: Warning Failed: ]0;owned[2Jcleared forged line\n');
  });
});
