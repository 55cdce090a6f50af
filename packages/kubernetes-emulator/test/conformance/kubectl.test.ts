/**
 * The real kubectl (spawned) against the target: discovery, get -o json, auth can-i, create
 * token, and apply of the namespaced objects a target cluster is prepared with.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { eventually, ON_EMULATOR, openTarget, uniq, type Target } from './support/target.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget('kubectl');
});
afterAll(async () => {
  await t?.close();
});

describe('kubectl', () => {
  it('version and api-resources work through discovery', async () => {
    const v = await t.kubectl(['version', '-o', 'json']);
    expect(v.code).toBe(0);
    const server = (
      JSON.parse(v.stdout) as { serverVersion: { major: string; gitVersion: string } }
    ).serverVersion;
    expect(server.major).toBe('1');
    expect(server.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    const r = await t.kubectl(['api-resources', '-o', 'name']);
    expect(r.code).toBe(0);
    const names = r.stdout.split('\n');
    for (const n of [
      'pods',
      'namespaces',
      'serviceaccounts',
      'secrets',
      'roles.rbac.authorization.k8s.io',
      'networkpolicies.networking.k8s.io',
    ])
      expect(names).toContain(n);
  });

  it('get pods -o json returns a List with the pod', async () => {
    const name = uniq('kget');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: {
        metadata: { name, labels: { app: 'kget' } },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    const r = await t.kubectl(['get', 'pods', '-o', 'json', '-l', 'app=kget'], 'sa');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as {
      kind: string;
      items: { kind: string; metadata: { name: string } }[];
    };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.metadata.name)).toEqual([name]);
    expect(list.items[0]!.kind).toBe('Pod');
    const table = await t.kubectl(['get', 'pods', name], 'sa');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(table.stdout).toContain(name);
  });

  it('auth can-i create pods: yes in the namespace, no elsewhere (exit code 1)', async () => {
    const yes = await t.kubectl(['auth', 'can-i', 'create', 'pods'], 'sa');
    expect(yes.code).toBe(0);
    expect(yes.stdout.trim()).toBe('yes');
    const no = await t.kubectl(['auth', 'can-i', 'create', 'pods', '-n', 'default'], 'sa');
    expect(no.code).toBe(1);
    expect(no.stdout.trim()).toBe('no');
    const secrets = await t.kubectl(['auth', 'can-i', 'get', 'secrets'], 'sa');
    expect(secrets.stdout.trim()).toBe('no');
  });

  it('create token prints a token that authenticates; a too short duration fails', async () => {
    const r = await t.kubectl(['create', 'token', t.serviceAccount, '--duration', '1h']);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const list = await t.clientsFor(token).core.listNamespacedPod({ namespace: t.namespace });
    expect(Array.isArray(list.items)).toBe(true);
    const short = await t.kubectl(['create', 'token', t.serviceAccount, '--duration', '5m']);
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('may not specify a duration less than 10 minutes');
  });

  it('apply creates, then leaves unchanged, the namespaced RBAC and policy objects', async () => {
    const ns = uniq('applied');
    const manifest = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'worker', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'worker', namespace: ns },
        rules: [
          {
            apiGroups: [''],
            resources: ['pods'],
            verbs: ['create', 'get', 'list', 'watch', 'delete'],
          },
          { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
          {
            apiGroups: ['batch'],
            resources: ['jobs'],
            verbs: ['create', 'get', 'list', 'watch', 'delete'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'worker', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'worker' },
        subjects: [{ kind: 'ServiceAccount', name: 'worker', namespace: ns }],
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'worker-token',
          namespace: ns,
          annotations: { 'kubernetes.io/service-account.name': 'worker' },
        },
        type: 'kubernetes.io/service-account-token',
      },
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'pods', namespace: ns },
        spec: { hard: { pods: '10' } },
      },
      {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'defaults', namespace: ns },
        spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' } }] },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny-all', namespace: ns },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      },
    ];
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'apply-'));
    const file = join(dir, 'manifest.json');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest }));
    try {
      const first = await t.kubectl(['apply', '-f', file]);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      for (const line of [
        `namespace/${ns} created`,
        'serviceaccount/worker created',
        'role.rbac.authorization.k8s.io/worker created',
        'rolebinding.rbac.authorization.k8s.io/worker created',
        'secret/worker-token created',
        'resourcequota/pods created',
        'limitrange/defaults created',
        'networkpolicy.networking.k8s.io/deny-all created',
      ])
        expect(first.stdout).toContain(line);
      const second = await t.kubectl(['apply', '-f', file]);
      expect(second.code).toBe(0);
      // The server stores the LimitRange with defaultRequest copied from default, and
      // spec.limits is an atomic list, so kubectl's patch is never empty: `configured`, on a
      // real server as here, every time.
      expect(second.stdout.match(/unchanged/g)).toHaveLength(manifest.length - 1);
      expect(second.stdout).toContain('limitrange/defaults configured');
      const lr = await t.admin.core.readNamespacedLimitRange({ name: 'defaults', namespace: ns });
      expect(lr.spec!.limits[0]!.defaultRequest).toEqual({ cpu: '500m', memory: '256Mi' });

      (manifest[5] as { spec: { hard: { pods: string } } }).spec.hard.pods = '20';
      await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest }));
      const third = await t.kubectl(['apply', '-f', file]);
      expect(third.code).toBe(0);
      expect(third.stdout).toContain('resourcequota/pods configured');
      const quota = await t.admin.core.readNamespacedResourceQuota({ name: 'pods', namespace: ns });
      expect(quota.spec!.hard!.pods).toBe('20');

      const got = await t.kubectl([
        'get',
        'sa,role,rolebinding,secret,quota,limitrange,netpol',
        '-n',
        ns,
        '-o',
        'name',
      ]);
      expect(got.code).toBe(0);
      for (const n of [
        'serviceaccount/worker',
        'role.rbac.authorization.k8s.io/worker',
        'rolebinding.rbac.authorization.k8s.io/worker',
        'secret/worker-token',
        'resourcequota/pods',
        'limitrange/defaults',
        'networkpolicy.networking.k8s.io/deny-all',
      ])
        expect(got.stdout).toContain(n);
      // The applied RoleBinding grants the applied Role to the applied ServiceAccount.
      const can = await t.kubectl([
        'auth',
        'can-i',
        'create',
        'pods',
        '-n',
        ns,
        `--as=system:serviceaccount:${ns}:worker`,
      ]);
      expect(can.stdout.trim()).toBe('yes');
    } finally {
      await t.kubectl(['delete', 'namespace', ns, '--wait=false']);
    }
  });

  it('create generators (protobuf bodies from typed clients) make the objects they describe', async () => {
    const ns = uniq('created');
    const steps = [
      ['create', 'namespace', ns],
      ['create', 'configmap', 'cm1', '--from-literal=a=b', '-n', ns],
      ['create', 'secret', 'generic', 's1', '--from-literal=pw=hunter2', '-n', ns],
      ['create', 'serviceaccount', 'sa1', '-n', ns],
      ['create', 'role', 'r1', '--verb=get,list', '--resource=pods', '-n', ns],
      [
        'create',
        'rolebinding',
        'rb1',
        '--role=r1',
        `--serviceaccount=${ns}:sa1`,
        '--user=alice',
        '-n',
        ns,
      ],
      ['create', 'quota', 'q1', '--hard=pods=3', '-n', ns],
    ];
    try {
      for (const args of steps) {
        const r = await t.kubectl(args);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
      }
      const cm = await t.admin.core.readNamespacedConfigMap({ name: 'cm1', namespace: ns });
      expect(cm.data).toEqual({ a: 'b' });
      const secret = await t.admin.core.readNamespacedSecret({ name: 's1', namespace: ns });
      expect(Buffer.from(secret.data!.pw!, 'base64').toString()).toBe('hunter2');
      expect(secret.type).toBe('Opaque');
      const role = await t.admin.rbac.readNamespacedRole({ name: 'r1', namespace: ns });
      expect(role.rules).toEqual([
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      ]);
      const rb = await t.admin.rbac.readNamespacedRoleBinding({ name: 'rb1', namespace: ns });
      expect(rb.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'r1',
      });
      expect(rb.subjects).toEqual(
        expect.arrayContaining([
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' },
          { kind: 'ServiceAccount', name: 'sa1', namespace: ns },
        ]),
      );
      const quota = await t.admin.core.readNamespacedResourceQuota({ name: 'q1', namespace: ns });
      expect(quota.spec!.hard).toEqual({ pods: '3' });
      const can = await t.kubectl([
        'auth',
        'can-i',
        'list',
        'pods',
        '-n',
        ns,
        `--as=system:serviceaccount:${ns}:sa1`,
      ]);
      expect(can.stdout.trim()).toBe('yes');
    } finally {
      await t.kubectl(['delete', 'namespace', ns, '--wait=false']);
    }
  });

  it('delete pod removes it (graceful on a running pod)', async () => {
    const name = uniq('kdel');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: {
        metadata: { name },
        spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
      },
    });
    const r = await t.kubectl(['delete', 'pod', name, '--wait=true', '--timeout=120s'], 'sa');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pod "${name}" deleted`);
    await eventually(
      async () => {
        const g = await t.kubectl(['get', 'pod', name], 'sa');
        if (g.code === 0) throw new Error('still there');
        expect(g.stderr).toContain('NotFound');
      },
      ON_EMULATOR ? 5_000 : 60_000,
    );
  });
});
