import { describe, expect, it } from '@jest/globals';

import { parseChallengeMessage } from '../../../src/message/parse-challenge-message.js';
import type { ParseResult } from '../../../src/message/parse-challenge-message.js';
import { UndecodableBody } from '../../../src/message/undecodable-body.js';
import { TEST_POLICY_SETTINGS } from '../policy/test-policy.js';

const limits = { maxBodyBytes: TEST_POLICY_SETTINGS.maxBodyBytes };

function parse(body: unknown, messageId: string | number | Uint8Array = 'msg-1'): ParseResult {
  return parseChallengeMessage({ messageId, body }, limits);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function failure(result: ParseResult): { reason: string; description: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.request)}`);
  return { reason: result.reason, description: result.description };
}

describe('parseChallengeMessage: accepted forms', () => {
  it("accepts the seed's PascalCase form (the image in Name)", () => {
    const result = parse(
      json({
        ChallengeId: 'web101',
        Containers: [{ Name: 'nginx' }, { Name: 'myacr.azurecr.io/challenges/db:2' }],
      }),
    );
    expect(result).toEqual({
      ok: true,
      form: 'seed',
      request: {
        messageId: 'msg-1',
        challengeId: 'web101',
        containers: [
          { image: 'nginx', env: [] },
          { image: 'myacr.azurecr.io/challenges/db:2', env: [] },
        ],
        labels: {},
      },
    });
  });

  it('accepts the camelCase form with every optional field, normalised', () => {
    const result = parse(
      json({
        challengeId: 'web101',
        containers: [
          {
            image: 'nginx',
            name: 'web',
            command: ['/bin/sh', '-c'],
            args: ['echo hi'],
            env: [{ name: 'LEVEL', value: '3' }, { name: 'EMPTY' }],
            resources: { requests: { cpu: 0.5, memory: '64Mi' }, limits: { cpu: '1' } },
          },
        ],
        cluster: 'aks-west',
        labels: { team: 'blue' },
        activeDeadlineSeconds: 600,
      }),
    );
    expect(result).toEqual({
      ok: true,
      form: 'camelCase',
      request: {
        messageId: 'msg-1',
        challengeId: 'web101',
        containers: [
          {
            image: 'nginx',
            name: 'web',
            command: ['/bin/sh', '-c'],
            args: ['echo hi'],
            env: [
              { name: 'LEVEL', value: '3' },
              { name: 'EMPTY', value: '' },
            ],
            resources: { requests: { cpu: '0.5', memory: '64Mi' }, limits: { cpu: '1' } },
          },
        ],
        cluster: 'aks-west',
        labels: { team: 'blue' },
        activeDeadlineSeconds: 600,
      },
    });
  });

  it('treats null optional fields as absent and empty command/args as unset', () => {
    const result = parse(
      json({
        challengeId: 'c',
        containers: [
          { image: 'nginx', name: null, command: [], args: null, env: null, resources: null },
        ],
        cluster: null,
        labels: null,
        activeDeadlineSeconds: null,
      }),
    );
    expect(result).toEqual({
      ok: true,
      form: 'camelCase',
      request: {
        messageId: 'msg-1',
        challengeId: 'c',
        containers: [{ image: 'nginx', env: [] }],
        labels: {},
      },
    });
  });

  it('accepts a UTF-8 BOM (as .NET writes), a string body and a structured (AMQP value) body', () => {
    const seed = { ChallengeId: 'c', Containers: [{ Name: 'nginx' }] };
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(seed)]);
    expect(parse(withBom).ok).toBe(true);
    expect(parse(`\uFEFF${JSON.stringify(seed)}`).ok).toBe(true);
    expect(parse(JSON.stringify(seed)).ok).toBe(true);
    expect(parse(seed).ok).toBe(true);
    expect(parse(new Uint8Array(json(seed))).ok).toBe(true);
  });

  it('accepts UTF-16 text with a BOM (.NET Encoding.Unicode)', () => {
    const text = JSON.stringify({ challengeId: 'c', containers: [{ image: 'nginx' }] });
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(parse(le).ok).toBe(true);
  });

  it('turns numeric and binary message IDs into strings', () => {
    const body = json({ challengeId: 'c', containers: [{ image: 'nginx' }] });
    const numeric = parse(body, 42);
    const binary = parse(body, new Uint8Array([0xab, 0x01]));
    expect(numeric.ok && numeric.request.messageId).toBe('42');
    expect(binary.ok && binary.request.messageId).toBe('ab01');
  });
});

describe('parseChallengeMessage: a body that is a JSON string holding the challenge', () => {
  const challenge = { challengeId: 'web101', containers: [{ image: 'nginx' }] };

  it('accepts it as the challenge and says so (a JS sender that JSON.stringify-ed its object)', () => {
    // What the SDK sends for sendMessages({ body: JSON.stringify(challenge) }).
    const twice = json(JSON.stringify(challenge));
    expect(twice.toString()).toBe(
      '"{\\"challengeId\\":\\"web101\\",\\"containers\\":[{\\"image\\":\\"nginx\\"}]}"',
    );
    const once = parse(json(challenge));
    if (!once.ok) throw new Error(once.description);
    expect(parse(twice)).toEqual({ ...once, jsonStringBody: true });
    // The same through an AMQP value section holding that string.
    expect(parse(JSON.stringify(JSON.stringify(challenge)))).toEqual({
      ...once,
      jsonStringBody: true,
    });
  });
});

describe('parseChallengeMessage: AMQP body shapes', () => {
  const text = JSON.stringify({ challengeId: 'web101', containers: [{ image: 'nginx' }] });

  it('reads several data sections as one body, their bytes in order', () => {
    const once = parse(Buffer.from(text));
    const sections = [
      Buffer.from(text.slice(0, 7)),
      Buffer.from(text.slice(7, 30)),
      Buffer.from(text.slice(30)),
    ];
    expect(parse(sections)).toEqual(once);
    expect(
      parseChallengeMessage({ messageId: 'msg-1', body: sections, bodyType: 'data' }, limits),
    ).toEqual(once);
    // An amqp-value list of binaries is not a body of data sections.
    expect(
      failure(
        parseChallengeMessage({ messageId: 'msg-1', body: sections, bodyType: 'value' }, limits),
      ).description,
    ).toBe('the message must be a JSON object, not an array');
  });

  it('dead-letters a message that could not be decoded, saying why, even when its ID went too', () => {
    expect(
      parse(new UndecodableBody('its amqp-value section nests values deeper than 100 levels'), ''),
    ).toEqual({
      ok: false,
      reason: 'InvalidJson',
      description:
        'the AMQP message cannot be decoded: its amqp-value section nests values deeper than 100 levels',
    });
  });
});

describe('parseChallengeMessage: InvalidJson', () => {
  it.each([
    [undefined, 'the message has no body; expected a JSON object'],
    [Buffer.alloc(0), 'the body is empty; expected a JSON object'],
    ['   ', 'the body is empty; expected a JSON object'],
    [Buffer.from([0xc3, 0x28]), 'the body is not valid UTF-8 text'],
  ])('%p -> %p', (body, description) => {
    expect(failure(parse(body))).toEqual({ reason: 'InvalidJson', description });
  });

  it('quotes the JSON parser and the content type when it was not JSON', () => {
    const result = parseChallengeMessage(
      { messageId: 'm', body: Buffer.from('<challenge/>'), contentType: 'application/xml' },
      limits,
    );
    expect(failure(result)).toEqual({
      reason: 'InvalidJson',
      description: `the body is not valid JSON: Unexpected token '<', "<challenge/>" is not valid JSON (content type "application/xml")`,
    });
  });

  it('does not blame a JSON content type', () => {
    const result = parseChallengeMessage(
      { messageId: 'm', body: Buffer.from('{"a":'), contentType: 'application/json' },
      limits,
    );
    expect(failure(result).description).toBe(
      'the body is not valid JSON: Unexpected end of JSON input',
    );
  });

  it('refuses structured bodies that are not JSON data', () => {
    expect(failure(parse({ n: 10n }))).toEqual({
      reason: 'InvalidJson',
      description:
        'the AMQP value body cannot be represented as JSON: Do not know how to serialize a BigInt',
    });
  });
});

describe('parseChallengeMessage: too large', () => {
  it('is a PolicyViolation that names the limit and the setting', () => {
    const small = { maxBodyBytes: 100 };
    const body = json({
      challengeId: 'c',
      containers: [{ image: 'nginx', args: ['x'.repeat(200)] }],
    });
    expect(failure(parseChallengeMessage({ messageId: 'm', body }, small))).toEqual({
      reason: 'PolicyViolation',
      description: `the body is ${body.length} bytes; policy allows at most 100 (policy.maxBodyBytes)`,
    });
  });

  it('measures strings and structured bodies in UTF-8 bytes too', () => {
    const small = { maxBodyBytes: 10 };
    expect(
      failure(parseChallengeMessage({ messageId: 'm', body: 'ééééééé' }, small)).description,
    ).toBe('the body is 14 bytes; policy allows at most 10 (policy.maxBodyBytes)');
    expect(
      failure(parseChallengeMessage({ messageId: 'm', body: { a: 'bcdefghijk' } }, small)).reason,
    ).toBe('PolicyViolation');
  });
});

describe('parseChallengeMessage: SchemaViolation', () => {
  const cases: [string, unknown, string][] = [
    ['an array', [], 'the message must be a JSON object, not an array'],
    ['a number', 7, 'the message must be a JSON object, not an integer'],
    [
      'a list encoded twice',
      JSON.stringify([{ challengeId: 'c' }]),
      'the message must be a JSON object, not a string: the body is a JSON string holding JSON that is not one object (serialised twice?); send the challenge object itself as the body',
    ],
    [
      'an object encoded three times',
      JSON.stringify(JSON.stringify({ challengeId: 'c' })),
      'the message must be a JSON object, not a string',
    ],
    [
      'an empty object',
      {},
      'the message is missing "challengeId"; the message is missing "containers"',
    ],
    [
      'a non-string image',
      { challengeId: 'c', containers: [{ image: 5 }] },
      '/containers/0/image must be a string, not an integer',
    ],
    ['no containers', { challengeId: 'c', containers: [] }, '/containers must not be empty'],
    [
      'an empty challengeId',
      { challengeId: '', containers: [{ image: 'nginx' }] },
      '/challengeId must not be empty',
    ],
    [
      'the seed form missing Name',
      { ChallengeId: 'c', Containers: [{}] },
      '/Containers/0 is missing "Name"',
    ],
    [
      'Name in the camelCase form',
      { challengeId: 'c', containers: [{ Name: 'nginx' }] },
      '/containers/0 is missing "image"; /containers/0 has unknown property "Name" (in the camelCase form the image goes in "image"; "Name" is the seed form\'s field)',
    ],
    [
      'camelCase fields in a seed container',
      { ChallengeId: 'c', Containers: [{ Name: 'nginx', image: 'redis' }] },
      '/Containers/0 has unknown property "image" (a seed-form container has only "Name", the image; to set "image" send the camelCase form)',
    ],
    [
      'a typo',
      {
        challengeId: 'c',
        containers: [{ image: 'nginx', comand: ['x'] }],
        activeDeadlineSecond: 5,
      },
      'the message has unknown property "activeDeadlineSecond" (did you mean "activeDeadlineSeconds"?); /containers/0 has unknown property "comand" (did you mean "command"?)',
    ],
    [
      'wrong case',
      { challengeID: 'c', containers: [{ image: 'nginx' }] },
      'the message is missing "challengeId"; the message has unknown property "challengeID" (did you mean "challengeId"?)',
    ],
    [
      'mixed forms',
      { ChallengeId: 'c', containers: [{ image: 'nginx' }] },
      'the message mixes the seed form ("ChallengeId") with the camelCase form ("containers"); use one form: {"ChallengeId", "Containers": [{"Name": <image>}]} or {"challengeId", "containers": [{"image": <image>, ...}], ...}',
    ],
    [
      'a seed message with camelCase extras',
      { ChallengeId: 'c', Containers: [{ Name: 'nginx' }], labels: { a: 'b' } },
      'the message mixes the seed form ("ChallengeId", "Containers") with the camelCase form ("labels"); use one form: {"ChallengeId", "Containers": [{"Name": <image>}]} or {"challengeId", "containers": [{"image": <image>, ...}], ...}',
    ],
    [
      'a bad quantity and a bad container name',
      {
        challengeId: 'c',
        containers: [{ image: 'nginx', name: 'Web_1', resources: { limits: { cpu: 'lots' } } }],
      },
      '/containers/0/name must be a DNS-1123 label (lowercase letters, digits and \'-\', starting and ending with a letter or digit, at most 63 characters) (got "Web_1"); /containers/0/resources/limits/cpu must be a Kubernetes quantity such as "500m", "2", "128Mi" or "1Gi" (got "lots")',
    ],
    [
      'a negative numeric quantity',
      {
        challengeId: 'c',
        containers: [{ image: 'nginx', resources: { requests: { memory: -1 } } }],
      },
      '/containers/0/resources/requests/memory must be at least 0 (got -1)',
    ],
    [
      'a fractional deadline',
      { challengeId: 'c', containers: [{ image: 'nginx' }], activeDeadlineSeconds: 1.5 },
      '/activeDeadlineSeconds must be an integer (or null), not a number',
    ],
    [
      'a zero deadline',
      { challengeId: 'c', containers: [{ image: 'nginx' }], activeDeadlineSeconds: 0 },
      '/activeDeadlineSeconds must be at least 1 (got 0)',
    ],
    [
      'env values that are not strings',
      { challengeId: 'c', containers: [{ image: 'nginx', env: [{ name: '1X', value: 1 }] }] },
      "/containers/0/env/0/name must be an environment variable name (letters, digits, '_', '-' and '.', not starting with a digit) (got \"1X\"); /containers/0/env/0/value must be a string (or null), not an integer",
    ],
    [
      'label values that are not strings',
      { challengeId: 'c', containers: [{ image: 'nginx' }], labels: { a: 1 } },
      '/labels/a must be a string, not an integer',
    ],
    [
      'duplicate container names',
      { challengeId: 'c', containers: [{ image: 'nginx' }, { image: 'nginx', name: 'c-01' }] },
      '/containers/1/name gives container name "c-01", already used by /containers/0; container names must be unique',
    ],
  ];

  it.each(cases)('%s', (_, body, description) => {
    expect(failure(parse(json(body)))).toEqual({ reason: 'SchemaViolation', description });
  });

  it('refuses a message without a messageId', () => {
    expect(
      failure(parseChallengeMessage({ messageId: undefined, body: json({}) }, limits)),
    ).toEqual({
      reason: 'SchemaViolation',
      description: 'the message has no messageId; podbus names the pod after it',
    });
  });

  it('keeps long lists of problems bounded', () => {
    const containers = Array.from({ length: 30 }, () => ({ image: 1 }));
    const { description } = failure(parse(json({ challengeId: 'c', containers })));
    expect(description.split('; ')).toHaveLength(9);
    expect(description.endsWith('; and 22 more')).toBe(true);
  });
});

describe('parseChallengeMessage only parses', () => {
  it('accepts a valid request whatever the operator allows (policy is checked after parsing)', () => {
    const result = parse(
      json({
        challengeId: 'c',
        containers: [{ image: 'evil.io/x' }],
        activeDeadlineSeconds: 100000,
        labels: { messageId: 'x' },
      }),
    );
    expect(result.ok).toBe(true);
  });
});

describe('parseChallengeMessage never throws', () => {
  it('survives hostile bodies', () => {
    const hostile: unknown[] = [
      Buffer.from('['.repeat(60000)),
      Buffer.from(
        `{"challengeId":"c","containers":[{"image":"nginx"}],"labels":${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}}`,
      ),
      Buffer.from(
        '{"__proto__":{"polluted":true},"challengeId":"c","containers":[{"image":"nginx"}]}',
      ),
      Buffer.from('{"constructor":{"prototype":{"x":1}}}'),
      (() => {
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        return circular;
      })(),
      Symbol('x'),
      () => 1,
      new Date(0),
      Buffer.from([0xff, 0xfe, 0x00]),
    ];
    for (const body of hostile) {
      const result = parse(body);
      expect(result.ok).toBe(false);
      expect(typeof (result as { description: string }).description).toBe('string');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
