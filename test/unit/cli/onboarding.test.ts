import { readFileSync } from 'node:fs';

import { describe, expect, test } from '@jest/globals';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { parse } from 'yaml';

import type { AdminContext } from '../../../src/clusters/onboarding/admin-context.js';
import {
  OnboardingError,
  ROLE_RULES,
  objectList,
  onboardingObjects,
  parseTokenTtl,
  sameRules,
  upsertClusterEntry,
  waitForSecretToken,
} from '../../../src/clusters/onboarding/index.js';

describe('onboarding objects (what --dry-run prints and add applies)', () => {
  test('least privilege: the Role allows exactly what the worker does: its pods, their logs, its Lease', () => {
    const { role, roleBinding, serviceAccount } = onboardingObjects({
      namespace: 'challenges',
      serviceAccount: 'podbus',
      createNamespace: false,
      tokenMode: 'secret',
    });
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['pods'],
        verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch'],
      },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'create', 'update'],
      },
    ]);
    expect(role.kind).toBe('Role'); // namespaced, not a ClusterRole
    expect(role.metadata).toMatchObject({ name: 'podbus', namespace: 'challenges' });
    expect(roleBinding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'podbus',
    });
    expect(roleBinding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'podbus', namespace: 'challenges' },
    ]);
    expect(serviceAccount.automountServiceAccountToken).toBe(false);
    expect(
      JSON.stringify(
        onboardingObjects({
          namespace: 'n',
          serviceAccount: 's',
          createNamespace: true,
          tokenMode: 'secret',
        }),
      ),
    ).not.toContain('cluster-admin');
  });

  test('the Role is the one deploy/target-cluster/role.yaml grants', () => {
    const file = new URL('../../../deploy/target-cluster/role.yaml', import.meta.url);
    const role = parse(readFileSync(file, 'utf8')) as { rules: V1PolicyRule[] };
    expect(sameRules(role.rules, ROLE_RULES)).toBe(true);
    expect(role.rules).toEqual(ROLE_RULES);
  });

  test('names and kinds match deploy/target-cluster; Namespace only when asked; Secret only without --token-ttl', () => {
    const kinds = (createNamespace: boolean, tokenMode: 'secret' | 'token-request'): string[] =>
      objectList(
        onboardingObjects({ namespace: 'ctf', serviceAccount: 'bot', createNamespace, tokenMode }),
      ).map((o) => `${o.kind}/${o.name}`);
    expect(kinds(true, 'secret')).toEqual([
      'Namespace/ctf',
      'ServiceAccount/bot',
      'Role/bot',
      'RoleBinding/bot',
      'Secret/bot-token',
    ]);
    expect(kinds(false, 'token-request')).toEqual([
      'ServiceAccount/bot',
      'Role/bot',
      'RoleBinding/bot',
    ]);
    const { tokenSecret, namespace } = onboardingObjects({
      namespace: 'ctf',
      serviceAccount: 'bot',
      createNamespace: true,
      tokenMode: 'secret',
    });
    expect(tokenSecret).toMatchObject({
      type: 'kubernetes.io/service-account-token',
      metadata: { annotations: { 'kubernetes.io/service-account.name': 'bot' } },
    });
    expect(namespace?.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline');
  });

  test('sameRules ignores order and duplicates, not extra rules or verbs', () => {
    const ours = [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
    ];
    expect(
      sameRules(
        [
          {
            apiGroups: [''],
            resources: ['pods'],
            verbs: ['delete', 'watch', 'list', 'get', 'create', 'get'],
          },
        ],
        ours,
      ),
    ).toBe(true);
    expect(
      sameRules([...ours, { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }], ours),
    ).toBe(false);
    expect(sameRules([{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }], ours)).toBe(false);
    expect(sameRules(undefined, ours)).toBe(false);
  });
});

describe('clusters file update', () => {
  const entry = {
    name: 'east',
    server: 'https://east.example:443',
    tokenFile: 'tokens/east.token',
    caFile: 'tokens/east.ca.crt',
    namespace: 'challenges',
  };

  test('a new file: a commented list with the entry (weight 1, maxActivePods 0)', () => {
    const { text, change } = upsertClusterEntry(undefined, entry);
    expect(change).toBe('added');
    expect(text.startsWith('#')).toBe(true);
    expect(parse(text)).toEqual([{ ...entry, weight: 1, maxActivePods: 0 }]);
  });

  test('adds to an existing list, keeping other entries and comments', () => {
    const before = [
      '# platform clusters',
      '- name: west # the big one',
      '  server: https://west.example',
      '  tokenFile: /secrets/west',
      '  maxActivePods: 40',
      '',
    ].join('\n');
    const { text, change } = upsertClusterEntry(before, entry);
    expect(change).toBe('added');
    expect(text).toContain('# platform clusters');
    expect(text).toContain('- name: west # the big one');
    expect((parse(text) as { name: string }[]).map((e) => e.name)).toEqual(['west', 'east']);
  });

  test('updates an entry in place: connection fields replaced, inline token/ca/insecure removed, tuning kept', () => {
    const before = [
      'clusters:',
      '  - name: east',
      '    server: https://old.example',
      '    token: s3cret',
      '    insecureSkipTlsVerify: true',
      '    namespace: default',
      '    weight: 3 # keep',
      '    labels: { region: eu }',
      '  - name: other',
      '    server: https://other.example',
      '    tokenFile: other.token',
      '',
    ].join('\n');
    const { text, change } = upsertClusterEntry(before, entry);
    expect(change).toBe('updated');
    const parsed = parse(text) as { clusters: Record<string, unknown>[] };
    expect(parsed.clusters[0]).toEqual({ ...entry, weight: 3, labels: { region: 'eu' } });
    expect(parsed.clusters[1]).toEqual({
      name: 'other',
      server: 'https://other.example',
      tokenFile: 'other.token',
    });
    expect(text).toContain('weight: 3 # keep');
    expect(text).not.toContain('s3cret');
    expect(upsertClusterEntry(text, entry)).toEqual({ text, change: 'unchanged' });
    expect(parse(upsertClusterEntry(text, { ...entry, maxActivePods: 9 }).text)).toMatchObject({
      clusters: [{ maxActivePods: 9 }, {}],
    });
  });

  test('refuses what is not a list of entries', () => {
    expect(() => upsertClusterEntry('name: x\n', entry)).toThrow(OnboardingError);
    expect(parse(upsertClusterEntry('clusters:\n', entry).text)).toMatchObject({
      clusters: [{ name: 'east' }],
    });
    expect(() => upsertClusterEntry('- [unclosed\n', entry)).toThrow(/not valid YAML/);
  });
});

describe('tokens', () => {
  test('--token-ttl durations; at least 10 minutes', () => {
    expect(parseTokenTtl('24h')).toBe(86_400);
    expect(parseTokenTtl('90m')).toBe(5400);
    expect(parseTokenTtl('7d')).toBe(604_800);
    expect(parseTokenTtl('3600')).toBe(3600);
    expect(parseTokenTtl('600s')).toBe(600);
    expect(() => parseTokenTtl('5m')).toThrow('--token-ttl must be at least 10m');
    expect(() => parseTokenTtl('1 week')).toThrow('--token-ttl must be a duration such as 24h');
  });

  function adminWith(readNamespacedSecret: () => Promise<unknown>): AdminContext {
    return {
      kubeconfigPath: 'kc',
      context: 'east-admin',
      server: 'https://east',
      insecureSkipTlsVerify: false,
      core: { readNamespacedSecret } as unknown as AdminContext['core'],
      rbac: {} as AdminContext['rbac'],
    };
  }

  test('polls the Secret until the token controller filled it in', async () => {
    let calls = 0;
    const admin = adminWith(async () => {
      calls += 1;
      return calls < 3
        ? { data: {} }
        : {
            data: {
              token: Buffer.from('tok').toString('base64'),
              'ca.crt': Buffer.from('CA').toString('base64'),
            },
          };
    });
    let now = 0;
    const slept: number[] = [];
    const issued = await waitForSecretToken(admin, 'challenges', 'podbus-token', {
      timeoutMs: 10_000,
      requestTimeoutMs: 1000,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    expect(issued).toEqual({ token: 'tok', caPem: 'CA', waitedMs: 300 });
    expect(slept).toEqual([100, 200]);
  });

  test('a bounded wait with a clear timeout error', async () => {
    let now = 0;
    const admin = adminWith(async () => ({ data: { token: '' } }));
    await expect(
      waitForSecretToken(admin, 'challenges', 'podbus-token', {
        timeoutMs: 5000,
        requestTimeoutMs: 1000,
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      }),
    ).rejects.toThrow(
      'the token controller did not fill in Secret challenges/podbus-token within 5 s: check that kube-controller-manager runs',
    );
  });
});
