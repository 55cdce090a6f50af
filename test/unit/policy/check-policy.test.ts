import { describe, expect, it } from '@jest/globals';

import type { ChallengeRequest } from '../../../src/message/challenge-request.js';
import { checkPolicy, formatViolation } from '../../../src/policy/check-policy.js';
import { testPolicy } from './test-policy.js';

function request(overrides: Partial<ChallengeRequest> = {}): ChallengeRequest {
  return {
    messageId: 'm1',
    challengeId: 'c1',
    containers: [{ image: 'myacr.azurecr.io/challenges/web:1', env: [] }],
    labels: {},
    ...overrides,
  };
}

function violations(req: ChallengeRequest, policy = testPolicy()): string[] {
  return checkPolicy(req, policy).map(formatViolation);
}

describe('checkPolicy', () => {
  it('accepts a request within every bound', () => {
    expect(
      violations(
        request({
          containers: [
            {
              image: 'nginx:1.27',
              env: [{ name: 'A', value: '1' }],
              resources: { requests: { cpu: '2' }, limits: { cpu: '2', memory: '4Gi' } },
            },
          ],
          labels: { team: 'blue', 'example.com/track': 'k8s-101' },
          activeDeadlineSeconds: 86400,
        }),
      ),
    ).toEqual([]);
  });

  it('refuses zero requests and limits, which Kubernetes reads as "no limit" and quotas as "nothing"', () => {
    expect(
      violations(
        request({
          containers: [
            {
              image: 'nginx:1.27',
              env: [],
              resources: { requests: { cpu: '0m' }, limits: { cpu: '0', memory: '0Gi' } },
            },
            { image: 'nginx:1.27', env: [], resources: { requests: { memory: '0.0' } } },
          ],
        }),
      ),
    ).toEqual([
      '/containers/0/resources/requests/cpu "0m" is zero; requests must be more than 0 (leave cpu out to get the default "100m")',
      '/containers/0/resources/limits/cpu "0" is zero; limits must be more than 0 (leave cpu out to get the default "1")',
      '/containers/0/resources/limits/memory "0Gi" is zero; limits must be more than 0 (leave memory out to get the default "512Mi")',
      '/containers/1/resources/requests/memory "0.0" is zero; requests must be more than 0 (leave memory out to get the default "128Mi")',
    ]);
    // The smallest quantities are limits all the same: Kubernetes rounds them up (1n CPU -> 1m).
    expect(
      violations(
        request({
          containers: [
            { image: 'nginx:1.27', env: [], resources: { limits: { cpu: '1n', memory: '1' } } },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it('refuses images outside the allowlist and says which patterns are allowed', () => {
    expect(
      violations(request({ containers: [{ image: 'evil.io/miner:latest', env: [] }] })),
    ).toEqual([
      '/containers/0/image "evil.io/miner:latest" is not allowed: evil.io/miner matches none of the allowed image patterns (myacr.azurecr.io/challenges/*, docker.io/library/nginx, ghcr.io/org/**)',
    ]);
  });

  it('lists at most five patterns', () => {
    const policy = testPolicy({
      allowedImages: ['a.io/1', 'a.io/2', 'a.io/3', 'a.io/4', 'a.io/5', 'a.io/6', 'a.io/7'],
    });
    expect(violations(request({ containers: [{ image: 'b.io/x', env: [] }] }), policy)).toEqual([
      '/containers/0/image "b.io/x" is not allowed: b.io/x matches none of the allowed image patterns (a.io/1, a.io/2, a.io/3, a.io/4, a.io/5, and 2 more)',
    ]);
  });

  it('refuses invalid image references (which the allowlist could not judge)', () => {
    expect(
      violations(request({ containers: [{ image: 'Myacr.azurecr.io/Challenges/x', env: [] }] })),
    ).toEqual([
      '/containers/0/image "Myacr.azurecr.io/Challenges/x" is not a valid image reference: the repository "Challenges/x" must be lower-case',
    ]);
  });

  it('bounds the number of containers and env vars', () => {
    const many = Array.from({ length: 7 }, () => ({ image: 'nginx', env: [] }));
    expect(violations(request({ containers: many }))).toEqual([
      '/containers has 7 containers; policy allows at most 5',
    ]);
    const env = Array.from({ length: 3 }, (_, i) => ({ name: `V${i}`, value: '' }));
    expect(
      violations(
        request({ containers: [{ image: 'nginx', env }] }),
        testPolicy({ maxEnvVarsPerContainer: 2 }),
      ),
    ).toEqual(['/containers/0/env has 3 variables; policy allows at most 2']);
  });

  it('bounds resources against the maximum and requests against limits', () => {
    expect(
      violations(
        request({
          containers: [
            { image: 'nginx', env: [] },
            {
              image: 'nginx',
              env: [],
              resources: {
                requests: { cpu: '3', memory: '1Gi' },
                limits: { cpu: '4', memory: '512Mi' },
              },
            },
          ],
        }),
      ),
    ).toEqual([
      '/containers/1/resources/requests/cpu "3" is more than the allowed maximum "2"',
      '/containers/1/resources/limits/cpu "4" is more than the allowed maximum "2"',
      '/containers/1/resources/requests/memory "1Gi" is more than its limit "512Mi"',
    ]);
  });

  it('reports quantities out of range', () => {
    expect(
      violations(
        request({
          containers: [{ image: 'nginx', env: [], resources: { limits: { cpu: '1e99' } } }],
        }),
      ),
    ).toEqual(['/containers/0/resources/limits/cpu "1e99" is out of range']);
  });

  it('bounds the deadline', () => {
    expect(violations(request({ activeDeadlineSeconds: 90000 }))).toEqual([
      '/activeDeadlineSeconds 90000 is more than the allowed maximum of 86400 seconds',
    ]);
  });

  it('checks label count, syntax, reserved keys and forbidden prefixes', () => {
    const labels = {
      messageId: 'x',
      'app.kubernetes.io/name': 'x',
      'kubernetes.io/hostname': 'x',
      'podbus.io/x': 'x',
      'node-role.kubernetes.io/worker': 'x',
      'bad key': 'x',
      'Example.com/x': 'x',
      team: 'not valid!',
      ok: '',
      team2: 'x'.repeat(64),
    };
    expect(
      violations(
        request({ labels }),
        testPolicy({ labels: { maxCount: 5, forbiddenPrefixes: ['kubernetes.io', 'podbus.io/'] } }),
      ),
    ).toEqual([
      '/labels has 10 labels; policy allows at most 5',
      '/labels key "messageId" is set by podbus and cannot be overridden',
      '/labels key "app.kubernetes.io/name" uses the reserved prefix "kubernetes.io"',
      '/labels key "kubernetes.io/hostname" uses the reserved prefix "kubernetes.io"',
      '/labels key "podbus.io/x" uses the reserved prefix "podbus.io"',
      '/labels key "node-role.kubernetes.io/worker" uses the reserved prefix "kubernetes.io"',
      '/labels key "bad key" is not a valid label key (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, optionally after a "prefix/")',
      '/labels key "Example.com/x" has a prefix that is not a lower-case DNS subdomain such as example.com',
      '/labels value of "team": "not valid!" is not a valid label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
      `/labels value of "team2": "${'x'.repeat(64)}" is not a valid label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)`,
    ]);
  });

  it('refuses labels the operator sets on every pod (pod.labels)', () => {
    expect(violations(request({ labels: { env: 'prod' } }), testPolicy({}, ['env']))).toEqual([
      '/labels key "env" is set by podbus and cannot be overridden',
    ]);
  });
});
