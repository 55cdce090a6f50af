import { describe, expect, it } from '@jest/globals';

import { replyToQueue } from '../../../src/message/reply-to.js';
import { replyToPatternProblem, resultQueueFor } from '../../../src/policy/result-queue.js';

describe('replyToQueue: a replyTo read as a queue name', () => {
  it('takes plain Service Bus queue names', () => {
    for (const name of ['results', 'team-a/results', 'Results_1.v2', 'a', 'x'.repeat(260)]) {
      expect(replyToQueue(name)).toBe(name);
    }
  });

  it('refuses addresses, system entities and anything needing escapes', () => {
    for (const bad of [
      'sb://ns.servicebus.windows.net/results',
      'results/$DeadLetterQueue',
      '$management',
      'results ',
      '-results',
      'results.',
      'a//b',
      'a./b',
      'x'.repeat(261),
      'résultats',
      'a\nb',
      '',
      42,
      undefined,
    ]) {
      expect([bad, replyToQueue(bad)]).toEqual([bad, undefined]);
    }
  });
});

describe("resultQueueFor: where a message's result goes", () => {
  const routing = { queueName: 'results', allowedReplyTo: ['team-*-results', 'exact'] };

  it('the replyTo when the operator allows it (case-insensitively, as Service Bus names)', () => {
    expect(resultQueueFor('team-a-results', routing)).toBe('team-a-results');
    expect(resultQueueFor('TEAM-B-Results', routing)).toBe('TEAM-B-Results');
    expect(resultQueueFor('exact', routing)).toBe('exact');
  });

  it('else the default queue: a sender cannot make podbus write where it was not allowed', () => {
    expect(resultQueueFor(undefined, routing)).toBe('results');
    expect(resultQueueFor('challenges', routing)).toBe('results');
    expect(resultQueueFor('exactly', routing)).toBe('results');
    expect(resultQueueFor('team-a-results/$DeadLetterQueue', routing)).toBe('results');
    expect(resultQueueFor('x', { queueName: 'results', allowedReplyTo: [] })).toBe('results');
  });

  it('nothing when results are off', () => {
    expect(resultQueueFor('team-a-results', { ...routing, queueName: '' })).toBeUndefined();
  });

  it('names what is wrong with a pattern', () => {
    expect(replyToPatternProblem('team-*')).toBeUndefined();
    expect(replyToPatternProblem('')).toBe('an empty pattern matches nothing');
    expect(replyToPatternProblem('a b')).toBe(
      '"a b" may only contain letters, digits, ".", "_", "-", "/" and "*"',
    );
  });
});
