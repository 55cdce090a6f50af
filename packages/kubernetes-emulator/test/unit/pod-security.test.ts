import { describe, expect, it } from '@jest/globals';

import { checksFor, evaluatePod, forbiddenDetail } from '../../src/pod-security-checks.js';
import { admitPod, policyFromLabels } from '../../src/pod-security.js';

const L = 'pod-security.kubernetes.io/';

describe('PodSecurity policy from namespace labels', () => {
  it('defaults to privileged, warn follows enforce, invalid values fail closed or open', () => {
    expect(policyFromLabels({}).policy.enforce).toEqual({ level: 'privileged', version: 'latest' });
    const follows = policyFromLabels({
      [`${L}enforce`]: 'baseline',
      [`${L}enforce-version`]: 'v1.29',
    });
    expect(follows.policy.warn).toEqual({ level: 'baseline', version: 29 });
    const bad = policyFromLabels({
      [`${L}enforce`]: 'strict',
      [`${L}warn`]: 'loud',
      [`${L}audit-version`]: '1.30',
    });
    expect(bad.policy.enforce.level).toBe('restricted');
    expect(bad.policy.warn.level).toBe('privileged');
    expect(bad.errors.map((e) => `${e.field}: ${e.detail}`)).toEqual([
      `metadata.labels[${L}enforce]: must be one of privileged, baseline, restricted`,
      `metadata.labels[${L}audit-version]: must be "latest" or "v1.x"`,
      `metadata.labels[${L}warn]: must be one of privileged, baseline, restricted`,
    ]);
  });
});

describe('PodSecurity checks', () => {
  const pod = (spec: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
    metadata: { name: 'p', annotations },
    spec,
  });

  it('restricted replaces the baseline hostPath check with restricted volume types', () => {
    const p = pod({
      containers: [
        {
          name: 'c',
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
            runAsNonRoot: true,
            seccompProfile: { type: 'RuntimeDefault' },
          },
        },
      ],
      volumes: [
        { name: 'host', hostPath: { path: '/' } },
        { name: 'nfs', nfs: { server: 'x', path: '/' } },
        { name: 'ok', emptyDir: {} },
      ],
    });
    expect(forbiddenDetail(evaluatePod('baseline', 32, p))).toBe(
      'non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add), hostPath volumes (volume "host")',
    );
    expect(forbiddenDetail(evaluatePod('restricted', 32, p))).toBe(
      'unrestricted capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add), restricted volume types (volumes "host", "nfs" use restricted volume types "hostPath", "nfs")',
    );
  });

  it('evaluates the checks of older policy versions (runAsUser only from v1.23)', () => {
    expect(checksFor('restricted', 22).length).toBeLessThan(checksFor('restricted', 32).length);
    const root = pod({
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 0,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'c',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    });
    expect(evaluatePod('restricted', 22, root)).toEqual([]);
    expect(forbiddenDetail(evaluatePod('restricted', 32, root))).toBe(
      'runAsUser=0 (pod must not set runAsUser=0)',
    );
  });

  it('baseline: seLinux, sysctls, procMount, AppArmor annotations', () => {
    const p = pod(
      {
        securityContext: {
          seLinuxOptions: { type: 'spc_t', user: 'root' },
          sysctls: [
            { name: 'kernel.msgmax', value: '1' },
            { name: 'net.ipv4.tcp_rmem', value: '1' },
          ],
        },
        containers: [{ name: 'c', securityContext: { procMount: 'Unmasked' } }],
      },
      { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' },
    );
    expect(forbiddenDetail(evaluatePod('baseline', 32, p))).toBe(
      // joinQuote does not escape: the annotation's quoted value sits inside the quotes.
      'forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/c="unconfined""), ' +
        'procMount (container "c" must not set securityContext.procMount to "Unmasked"), ' +
        'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set), ' +
        'forbidden sysctls (kernel.msgmax)',
    );
    // net.ipv4.tcp_rmem is only allowed from policy v1.32 on.
    expect(forbiddenDetail(evaluatePod('baseline', 31, p))).toContain(
      'forbidden sysctls (kernel.msgmax, net.ipv4.tcp_rmem)',
    );
  });

  it('a pod in a privileged namespace is admitted without warnings', () => {
    expect(admitPod({}, pod({ hostPID: true, containers: [{ name: 'c' }] }))).toEqual({
      warnings: [],
    });
  });
});
