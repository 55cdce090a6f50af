import { createPolicy } from '../../../src/policy/policy.js';
import type { Policy, PolicySettings } from '../../../src/policy/policy.js';

/** Policy settings as the config defaults make them, with an allowlist tests can reason about. */
export const TEST_POLICY_SETTINGS: PolicySettings = {
  allowedImages: ['myacr.azurecr.io/challenges/*', 'docker.io/library/nginx', 'ghcr.io/org/**'],
  maxBodyBytes: 65536,
  maxContainers: 5,
  maxEnvVarsPerContainer: 50,
  defaultActiveDeadlineSeconds: 3600,
  maxActiveDeadlineSeconds: 86400,
  resources: {
    defaults: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    },
    max: { cpu: '2', memory: '4Gi' },
  },
  labels: { maxCount: 10, forbiddenPrefixes: ['kubernetes.io', 'k8s.io', 'podbus.io'] },
};

export function testPolicy(
  overrides: Partial<PolicySettings> = {},
  operatorLabelKeys: string[] = [],
): Policy {
  return createPolicy({ ...TEST_POLICY_SETTINGS, ...overrides }, { operatorLabelKeys });
}
