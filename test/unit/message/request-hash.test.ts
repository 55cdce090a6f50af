import { describe, expect, it } from '@jest/globals';

import { canonicalJson } from '../../../src/message/canonical-json.js';
import { parseChallengeMessage } from '../../../src/message/parse-challenge-message.js';
import { requestHash } from '../../../src/message/request-hash.js';
import type { ChallengeRequest } from '../../../src/message/challenge-request.js';
import { testPolicy } from '../policy/test-policy.js';

function requestOf(body: string, messageId = 'm-1'): ChallengeRequest {
  const result = parseChallengeMessage({ messageId, body: Buffer.from(body) }, testPolicy());
  if (!result.ok) throw new Error(result.description);
  return result.request;
}

describe('requestHash', () => {
  const body =
    '{"challengeId":"web101","containers":[{"image":"nginx","env":[{"name":"A","value":"1"}]}]}';

  it('is 64 lowercase hex digits', () => {
    expect(requestHash(requestOf(body))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is pinned: changing it is a breaking change (pods made before would look like conflicts)', () => {
    expect(canonicalJson({ ...requestOf(body), messageId: undefined })).toBe(
      '{"challengeId":"web101","containers":[{"env":[{"name":"A","value":"1"}],"image":"nginx"}],"labels":{}}',
    );
    expect(requestHash(requestOf(body))).toBe(
      'fabc11739fbf515418fcf55f09ebf2027309ee9052bfc21ddcec3573e890a596',
    );
  });

  it('ignores the messageId, so a redelivery and a re-send hash equal', () => {
    expect(requestHash(requestOf(body, 'a'))).toBe(requestHash(requestOf(body, 'b')));
  });

  it('ignores key order, whitespace, nulls and the wire form', () => {
    const reordered = requestOf(
      '{ "containers": [ { "env": [{"value":"1","name":"A"}], "image": "nginx", "args": null } ], "labels": {}, "challengeId": "web101" }',
    );
    expect(requestHash(reordered)).toBe(requestHash(requestOf(body)));
    const seed = requestOf('{"ChallengeId":"web101","Containers":[{"Name":"nginx"}]}');
    const camel = requestOf('{"challengeId":"web101","containers":[{"image":"nginx"}]}');
    expect(requestHash(seed)).toBe(requestHash(camel));
    const numeric = requestOf(
      '{"challengeId":"c","containers":[{"image":"nginx","resources":{"limits":{"cpu":1}}}]}',
    );
    const text = requestOf(
      '{"challengeId":"c","containers":[{"image":"nginx","resources":{"limits":{"cpu":"1"}}}]}',
    );
    expect(requestHash(numeric)).toBe(requestHash(text));
  });

  it('differs when anything the pod is built from differs', () => {
    const base = requestHash(requestOf(body));
    const variants = [
      '{"challengeId":"web102","containers":[{"image":"nginx","env":[{"name":"A","value":"1"}]}]}',
      '{"challengeId":"web101","containers":[{"image":"nginx:1","env":[{"name":"A","value":"1"}]}]}',
      '{"challengeId":"web101","containers":[{"image":"nginx","env":[{"name":"A","value":"2"}]}]}',
      '{"challengeId":"web101","containers":[{"image":"nginx","env":[{"name":"A","value":"1"}]}],"cluster":"x"}',
      '{"challengeId":"web101","containers":[{"image":"nginx","env":[{"name":"A","value":"1"}]}],"activeDeadlineSeconds":60}',
      '{"challengeId":"web101","containers":[{"image":"nginx","env":[{"name":"A","value":"1"}]},{"image":"nginx"}]}',
    ];
    const hashes = new Set(variants.map((v) => requestHash(requestOf(v))));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(base)).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('keeps a "__proto__" key as data', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":1}'))).toBe(
      '{"__proto__":{"x":1},"a":1}',
    );
  });
});
