import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

import { buildPod } from '../../../src/pod/build-pod.js';
import { createPolicy } from '../../../src/policy/policy.js';
import { admitChallenge } from '../../../src/worker/prepare.js';
import { TEST_POD_SETTINGS } from '../pod/test-pod-settings.js';
import { TEST_POLICY_SETTINGS } from '../policy/test-policy.js';

// The policy of examples/podbus.yaml (checked against the file in test/unit/config/examples).
const policy = createPolicy({
  ...TEST_POLICY_SETTINGS,
  allowedImages: ['myacr.azurecr.io/challenges/*', 'docker.io/library/nginx'],
  maxActiveDeadlineSeconds: 14400,
  resources: { ...TEST_POLICY_SETTINGS.resources, max: { cpu: '2', memory: '2Gi' } },
});

const lines = readFileSync(new URL('../../../examples/messages.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '');

describe('examples/messages.jsonl', () => {
  it('holds one JSON document per line', () => {
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('gives the outcome documented for each sample', () => {
    const outcomes = lines.map((line, i) => {
      const result = admitChallenge(
        { messageId: `sample-${i + 1}`, body: Buffer.from(line) },
        policy,
      );
      return result.ok ? `ok ${result.form}` : `${result.reason}: ${result.description}`;
    });
    expect(outcomes).toEqual([
      'ok seed',
      'ok seed',
      'ok camelCase',
      'ok camelCase',
      'SchemaViolation: /containers/0 is missing "image"; /containers/0 has unknown property "Name" (in the camelCase form the image goes in "image"; "Name" is the seed form\'s field)',
      'SchemaViolation: the message mixes the seed form ("ChallengeId") with the camelCase form ("containers"); use one form: {"ChallengeId", "Containers": [{"Name": <image>}]} or {"challengeId", "containers": [{"image": <image>, ...}], ...}',
      'SchemaViolation: /containers/0/image must be a string, not an integer; /activeDeadlineSeconds must be at least 1 (got 0)',
      'PolicyViolation: /containers/0/image "docker.io/someone/miner:latest" is not allowed: docker.io/someone/miner matches none of the allowed image patterns (myacr.azurecr.io/challenges/*, docker.io/library/nginx)',
      'PolicyViolation: /containers/0/resources/limits/cpu "8" is more than the allowed maximum "2"; /containers/0/resources/limits/memory "64Gi" is more than the allowed maximum "2Gi"; /activeDeadlineSeconds 604800 is more than the allowed maximum of 14400 seconds',
      'PolicyViolation: /labels key "app.kubernetes.io/managed-by" is set by podbus and cannot be overridden; /labels key "messageId" is set by podbus and cannot be overridden',
    ]);
  });

  it('builds valid pods for the valid samples (seed container names kept)', () => {
    const pods = lines.slice(0, 4).map((line, i) => {
      const result = admitChallenge(
        { messageId: `sample-${i + 1}`, body: Buffer.from(line) },
        policy,
      );
      if (!result.ok) throw new Error(result.description);
      return buildPod(result.request, {
        pod: { ...TEST_POD_SETTINGS, labels: { team: 'bootcamp' } },
        policy,
      });
    });
    expect(pods.map((p) => [p.metadata?.name, p.spec?.containers.map((c) => c.name)])).toEqual([
      ['sample-1', ['web-101-01']],
      ['sample-2', ['net-201-01', 'net-201-02']],
      ['sample-3', ['task']],
      ['sample-4', ['web-102-01']],
    ]);
  });
});
