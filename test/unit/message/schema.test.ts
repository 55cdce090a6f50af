import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';

import { parseChallengeMessage } from '../../../src/message/parse-challenge-message.js';
import {
  challengeMessageSchema,
  SCHEMA_URL,
  validateAnyForm,
} from '../../../src/message/schema.js';
import { testPolicy } from '../policy/test-policy.js';

describe('the published JSON Schema', () => {
  it('lives in schema/ at the package root and is the file podbus validates with', () => {
    expect(SCHEMA_URL.pathname.endsWith('/schema/challenge-message.schema.json')).toBe(true);
    expect(JSON.parse(readFileSync(SCHEMA_URL, 'utf8'))).toEqual(challengeMessageSchema);
  });

  it('is a valid draft 2020-12 schema', () => {
    expect(challengeMessageSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    expect(ajv.validateSchema(challengeMessageSchema)).toBe(true);
  });

  // A sender validating with the whole file (oneOf both forms) must reach the same verdict as
  // podbus's per-form validation; policy is not part of the schema, so the policy here allows all.
  const allowAll = testPolicy({ allowedImages: ['*'] });
  const samples: unknown[] = [
    { ChallengeId: 'c', Containers: [{ Name: 'nginx' }] },
    { challengeId: 'c', containers: [{ image: 'nginx' }] },
    {
      challengeId: 'c',
      containers: [{ image: 'nginx', name: 'web', env: [{ name: 'A' }] }],
      labels: { a: 'b' },
    },
    {
      challengeId: 'c',
      containers: [{ image: 'nginx', resources: { limits: { cpu: 2, memory: '1Gi' } } }],
    },
    { ChallengeId: 'c', containers: [{ image: 'nginx' }] },
    { ChallengeId: 'c', Containers: [{ Name: 'nginx' }], cluster: 'a' },
    { challengeId: 'c', containers: [{ Name: 'nginx' }] },
    { challengeId: 'c', containers: [] },
    { challengeId: 'c', containers: [{ image: 'nginx', resources: { limits: { cpu: '1x' } } }] },
    { challengeId: 'c' },
    [],
    'text',
  ];
  it.each(samples.map((s) => [JSON.stringify(s), s]))('agrees with podbus on %s', (_, sample) => {
    const podbus = parseChallengeMessage({ messageId: 'm', body: sample }, allowAll);
    expect(validateAnyForm(sample)).toBe(podbus.ok);
  });
});
