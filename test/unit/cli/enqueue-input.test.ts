import { describe, expect, test } from '@jest/globals';
import type { ServiceBusSender } from '@azure/service-bus';

import { sendInBatches } from '../../../src/cli/enqueue-actions.js';
import {
  bodyFromFlags,
  formatProblems,
  inFlagTerms,
  parseJsonLines,
  parseLabelFlags,
  prepareMessages,
} from '../../../src/cli/enqueue-input.js';

const ok = (id: string): string =>
  JSON.stringify({ challengeId: id, containers: [{ image: 'nginx' }] });

describe('JSON Lines input', () => {
  test('bodies and envelopes; blank lines and # comments skipped; line numbers kept', () => {
    const text = [
      '# header',
      ok('a'),
      '',
      '   ',
      `{"messageId":"m-2","body":${ok('b')}}`,
      '{"ChallengeId":"c","Containers":[{"Name":"nginx"}]}',
    ].join('\r\n');
    const { drafts, problems } = parseJsonLines(text);
    expect(problems).toEqual([]);
    expect(drafts.map((d) => [d.line, d.messageId])).toEqual([
      [2, undefined],
      [5, 'm-2'],
      [6, undefined],
    ]);
  });

  test('syntax and envelope problems name their line', () => {
    const { problems } = parseJsonLines(
      [
        ok('a'),
        '{"challengeId": ',
        `{"messageId": 7, "body": ${ok('b')}}`,
        `{"id":"x","body":${ok('c')}}`,
      ].join('\n'),
    );
    expect(problems.map((p) => p.line)).toEqual([2, 3, 4]);
    expect(problems[0]?.message).toMatch(/^not valid JSON \(/);
    expect(problems[1]?.message).toBe('"messageId" must be a string');
    expect(problems[2]?.message).toContain('an envelope ({"messageId", "body"}) has no "id"');
  });
});

describe('schema validation before sending', () => {
  test('every invalid line is reported with its line number, and nothing is returned to send', () => {
    const { drafts } = parseJsonLines(
      [
        ok('fine'),
        '{"challengeId":"web-105","containers":[{"image":42}],"activeDeadlineSeconds":0}',
        '{"challengeId":"web-103","containers":[{"Name":"nginx"}]}',
        '[1,2]',
        '{"challengeId":"dup","containers":[{"image":"a","name":"x"},{"image":"b","name":"x"}]}',
      ].join('\n'),
    );
    const { messages, problems } = prepareMessages(drafts);
    expect(messages).toEqual([]);
    expect(problems).toEqual([
      { line: 2, message: '/containers/0/image must be a string, not an integer' },
      { line: 2, message: '/activeDeadlineSeconds must be at least 1 (got 0)' },
      { line: 3, message: '/containers/0 is missing "image"' },
      {
        line: 3,
        message: expect.stringContaining(
          '/containers/0 has unknown property "Name"',
        ) as unknown as string,
      },
      { line: 4, message: 'the message must be a JSON object, not an array' },
      {
        line: 5,
        message:
          '/containers/1 gives container name "x", already used by /containers/0; container names must be unique',
      },
    ]);
    expect(formatProblems(problems, 2)).toBe(
      '  - line 2: /containers/0/image must be a string, not an integer\n' +
        '  - line 2: /activeDeadlineSeconds must be at least 1 (got 0)\n' +
        '  ... and 4 more',
    );
  });

  test('IDs: given, generated, --count copies; duplicates and over-long IDs refused', () => {
    let n = 0;
    const newId = (): string => `gen-${++n}`;
    const drafts = [
      { line: 1, messageId: 'x', body: JSON.parse(ok('a')) as unknown },
      { line: 2, body: JSON.parse(ok('b')) as unknown },
    ];
    expect(prepareMessages(drafts, { newId }).messages.map((m) => m.messageId)).toEqual([
      'x',
      'gen-1',
    ]);
    expect(prepareMessages(drafts, { newId, count: 2 }).messages.map((m) => m.messageId)).toEqual([
      'x-1',
      'x-2',
      'gen-2-1',
      'gen-2-2',
    ]);
    const dup = prepareMessages(
      [...drafts, { line: 7, messageId: 'x', body: JSON.parse(ok('c')) as unknown }],
      { newId },
    );
    expect(dup.problems).toEqual([
      {
        line: 7,
        message:
          'messageId "x" is also used on line 1; each message needs its own ID (the pod is named after it)',
      },
    ]);
    const long = prepareMessages([
      { line: 1, messageId: 'a'.repeat(129), body: JSON.parse(ok('a')) as unknown },
    ]);
    expect(long.problems[0]?.message).toContain('Service Bus allows at most 128');
  });
});

describe('a message from flags', () => {
  test('camelCase by default, the seed form with --seed-form', () => {
    expect(
      bodyFromFlags({ challenge: 'c', images: ['a', 'b'], cluster: 'east', labels: { team: 'x' } }),
    ).toEqual({
      challengeId: 'c',
      containers: [{ image: 'a' }, { image: 'b' }],
      cluster: 'east',
      labels: { team: 'x' },
    });
    expect(bodyFromFlags({ challenge: 'c', images: ['a'], seedForm: true })).toEqual({
      ChallengeId: 'c',
      Containers: [{ Name: 'a' }],
    });
  });

  test('schema problems are worded in flag names', () => {
    const { problems } = prepareMessages([
      { body: bodyFromFlags({ challenge: 'c', images: ['ok', 'has space'], cluster: 'Bad_Name' }) },
    ]);
    expect(problems.map((p) => inFlagTerms(p.message))).toEqual([
      expect.stringMatching(/^--image #2 must be an image reference without spaces/),
      expect.stringMatching(/^--cluster must be a cluster name/),
    ]);
  });

  test('--label key=value pairs', () => {
    expect(parseLabelFlags(['a=1', 'b=x=y', 'c='])).toEqual({
      labels: { a: '1', b: 'x=y', c: '' },
      problems: [],
    });
    expect(parseLabelFlags(['nope', '=v', 'a=1', 'a=2']).problems).toEqual([
      '--label must be key=value, got "nope"',
      '--label must be key=value, got "=v"',
      '--label a is given twice',
    ]);
  });
});

describe('sendInBatches', () => {
  /** A sender whose batches hold at most `perBatch` messages. */
  function fakeSender(perBatch: number, maxSizeInBytes = 1000) {
    const sent: string[][] = [];
    const sender = {
      createMessageBatch: async () => {
        const ids: string[] = [];
        return {
          maxSizeInBytes,
          ids,
          tryAddMessage: (m: { messageId: string; body: Buffer }) => {
            if (ids.length >= perBatch || m.body.length > maxSizeInBytes) return false;
            ids.push(m.messageId);
            return true;
          },
        };
      },
      sendMessages: async (batch: { ids: string[] }) => {
        sent.push([...batch.ids]);
      },
    } as unknown as ServiceBusSender;
    return { sender, sent };
  }
  const messages = Array.from({ length: 7 }, (_, i) => ({
    messageId: `m-${i + 1}`,
    body: { challengeId: 'c' },
  }));

  test('fills batches in order and reports each one after it was sent', async () => {
    const { sender, sent } = fakeSender(3);
    const reported: string[][] = [];
    await sendInBatches(sender, messages, (b) => reported.push(b.map((m) => m.messageId)));
    expect(sent).toEqual([['m-1', 'm-2', 'm-3'], ['m-4', 'm-5', 'm-6'], ['m-7']]);
    expect(reported).toEqual(sent);
  });

  test('a message larger than an empty batch fails after the earlier batches were sent', async () => {
    const { sender, sent } = fakeSender(2, 60);
    const big = { messageId: 'big', body: { challengeId: 'x'.repeat(100) } };
    await expect(
      sendInBatches(sender, [...messages.slice(0, 3), big], () => undefined),
    ).rejects.toThrow('message "big" is larger than the queue\'s limit of 60 bytes');
    expect(sent).toEqual([['m-1', 'm-2'], ['m-3']]);
  });
});
