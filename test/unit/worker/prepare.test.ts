import { describe, expect, it } from '@jest/globals';

import type { ParseResult } from '../../../src/message/parse-challenge-message.js';
import { admitChallenge } from '../../../src/worker/prepare.js';
import { testPolicy } from '../policy/test-policy.js';

const policy = testPolicy();

function admit(body: unknown): ParseResult {
  return admitChallenge({ messageId: 'msg-1', body: Buffer.from(JSON.stringify(body)) }, policy);
}

function failure(result: ParseResult): { reason: string; description: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.request)}`);
  return { reason: result.reason, description: result.description };
}

describe('admitChallenge: parse, then policy', () => {
  it('joins every violation, in the seed form with the seed paths', () => {
    const result = admit({
      ChallengeId: 'c',
      Containers: [{ Name: 'evil.io/x' }, { Name: 'nginx' }],
    });
    expect(failure(result)).toEqual({
      reason: 'PolicyViolation',
      description:
        '/Containers/0/Name "evil.io/x" is not allowed: evil.io/x matches none of the allowed image patterns (myacr.azurecr.io/challenges/*, docker.io/library/nginx, ghcr.io/org/**)',
    });
  });

  it('reports several violations in one description', () => {
    const result = admit({
      challengeId: 'c',
      containers: [{ image: 'evil.io/x' }],
      activeDeadlineSeconds: 100000,
      labels: { messageId: 'x' },
    });
    expect(failure(result)).toEqual({
      reason: 'PolicyViolation',
      description:
        '/containers/0/image "evil.io/x" is not allowed: evil.io/x matches none of the allowed image patterns (myacr.azurecr.io/challenges/*, docker.io/library/nginx, ghcr.io/org/**); /activeDeadlineSeconds 100000 is more than the allowed maximum of 86400 seconds; /labels key "messageId" is set by podbus and cannot be overridden',
    });
  });

  it('checks the schema before the policy: a malformed message is a SchemaViolation', () => {
    expect(failure(admit({ challengeId: 'c', containers: [{ image: 1 }] })).reason).toBe(
      'SchemaViolation',
    );
  });

  it('returns the parsed request when the policy allows it', () => {
    const result = admit({ challengeId: 'c', containers: [{ image: 'nginx' }] });
    expect(result).toMatchObject({ ok: true, form: 'camelCase', request: { challengeId: 'c' } });
  });

  it('never throws: a check that fails dead-letters the message with a text that says so', () => {
    const broken = { ...policy, images: undefined as never };
    const result = admitChallenge(
      { messageId: 'm', body: Buffer.from('{"challengeId":"c","containers":[{"image":"nginx"}]}') },
      broken,
    );
    expect(failure(result)).toEqual({
      reason: 'SchemaViolation',
      description: expect.stringMatching(
        /^podbus could not check this message \(.+\); please report it$/,
      ),
    });
  });
});
