/**
 * `podbus clusters add` and `podbus clusters verify` end to end against the Kubernetes API
 * emulator, in-process, with the kubeconfig the emulator writes (context NAME = admin). The
 * written token is then used with plain client-node to prove least privilege: pods in its
 * namespace yes; another namespace, secrets, no.
 */
import { readFile, stat, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ApiException, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '@podbus/kubernetes-emulator';
import { runCli } from '../../unit/cli/support/run-cli.js';

let emu: KubernetesEmulator;
let east: EmulatedCluster;
let west: EmulatedCluster;
let dir: string;
let kubeconfig: string;
let clustersFile: string;

beforeAll(async () => {
  emu = await startKubernetesEmulator({
    // east: "challenges" does not exist yet; west: the emulator's own podbus identity exists in
    // "challenges", with a Role that also allows pods/log (more than podbus needs).
    clusters: [
      { name: 'east', namespace: 'preseeded', lifecycle: { runMs: 600_000 } },
      { name: 'west', lifecycle: { runMs: 600_000 } },
    ],
    seed: 5,
    tokenControllerDelayMs: 50,
  });
  east = emu.cluster('east');
  west = emu.cluster('west');
  dir = await mkdtemp(join(tmpdir(), 'podbus-clusters-it-'));
  kubeconfig = join(dir, 'kubeconfig');
  await emu.writeKubeconfig(kubeconfig);
  clustersFile = join(dir, 'etc', 'clusters.yaml');
});

afterAll(async () => {
  await emu?.stop();
  await rm(dir, { recursive: true, force: true });
});

function admin(cluster: EmulatedCluster): CoreV1Api {
  return clientFor(cluster.server, cluster.caPem, cluster.adminToken);
}

function clientFor(server: string, caPem: string, token: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'c', server, caData: Buffer.from(caPem).toString('base64'), skipTLSVerify: false },
    ],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc.makeApiClient(CoreV1Api);
}

function pod(name: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'podbus' } },
    spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
  };
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

const add = (name: string, ...flags: string[]) =>
  runCli([
    'clusters',
    'add',
    name,
    '--kubeconfig',
    kubeconfig,
    '--clusters-file',
    clustersFile,
    ...flags,
  ]);

describe('clusters add --dry-run', () => {
  test('prints the objects and the entry; creates and writes nothing', async () => {
    const run = await add('east', '--context', 'east', '--create-namespace', '--dry-run');
    expect(run.code).toBe(0);
    const docs = run.stdout
      .split(/^---$/m)
      .map((d) => parse(d) as { kind?: string; rules?: unknown } | null)
      .filter((d) => d?.kind);
    expect(docs.map((d) => d?.kind)).toEqual([
      'Namespace',
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Secret',
    ]);
    expect(docs[2]?.rules).toEqual([
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
    expect(run.stdout).toContain(`# Entry to add to ${clustersFile}:`);
    expect(run.stdout).toContain(`#   server: ${east.server}`);
    expect(run.stdout).toContain('#   tokenFile: tokens/east.token');
    expect(await status(admin(east).readNamespace({ name: 'challenges' }))).toBe(404);
    await expect(stat(clustersFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('clusters add', () => {
  test('a missing namespace without --create-namespace is a clear error (exit 1)', async () => {
    const run = await add('east', '--context', 'east');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'namespace "challenges" does not exist on context east: pass --create-namespace',
    );
  });

  test('unknown context or kubeconfig: exit 2 naming the flag', async () => {
    const run = await add('east', '--context', 'nope');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--context nope: no such context');
    expect(run.stderr).toContain('east-podbus');
    const missing = await runCli([
      'clusters',
      'add',
      'east',
      '--context',
      'east',
      '--kubeconfig',
      join(dir, 'none'),
      '--clusters-file',
      clustersFile,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('pass --kubeconfig PATH');
    const bad = await add('East_1', '--context', 'east');
    expect(bad.stderr).toContain('the cluster name must be a DNS-1123 label');
  });

  test('creates the identity, writes token (0600), CA and entry; verify passes; least privilege holds', async () => {
    const run = await add('east', '--context', 'east', '--create-namespace');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Namespace challenges\s+created/);
    expect(run.stdout).toMatch(/Role podbus\s+created/);
    expect(run.stdout).toMatch(/Secret podbus-token\s+created/);
    expect(run.stdout).toMatch(/clusters file .*clusters\.yaml\s+entry added/);

    const tokenFile = join(dir, 'etc', 'tokens', 'east.token');
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token.length).toBeGreaterThan(20);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(run.stdout + run.stderr).not.toContain(token);
    expect(await readFile(join(dir, 'etc', 'tokens', 'east.ca.crt'), 'utf8')).toBe(
      east.caPem.endsWith('\n') ? east.caPem : `${east.caPem}\n`,
    );
    expect(parse(await readFile(clustersFile, 'utf8'))).toEqual([
      {
        name: 'east',
        server: east.server,
        tokenFile: 'tokens/east.token',
        caFile: 'tokens/east.ca.crt',
        namespace: 'challenges',
        weight: 1,
        maxActivePods: 0,
      },
    ]);

    // The token podbus will use: pods in "challenges", nothing else.
    const sa = clientFor(east.server, east.caPem, token);
    expect(
      await status(sa.createNamespacedPod({ namespace: 'challenges', body: pod('allowed') })),
    ).toBe(200);
    expect(await status(sa.listNamespacedPod({ namespace: 'challenges' }))).toBe(200);
    expect(await status(sa.deleteNamespacedPod({ namespace: 'challenges', name: 'allowed' }))).toBe(
      200,
    );
    expect(
      await status(sa.createNamespacedPod({ namespace: 'default', body: pod('denied') })),
    ).toBe(403);
    expect(await status(sa.listNamespacedSecret({ namespace: 'challenges' }))).toBe(403);
    expect(await status(sa.listNamespacedPod({ namespace: 'kube-system' }))).toBe(403);

    const verify = await runCli(['clusters', 'verify', '--clusters-file', clustersFile]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(
      /^CLUSTER\s+RESULT\s+VERSION\s+TLS\s+TOKEN\s+ACCESS\s+ACTIVE\/MAX\s+SERVER$/m,
    );
    expect(verify.stdout).toMatch(
      /^east\s+ok\s+v1\.\d+\.\d+\S*\s+verified\s+valid\s+ok\s+0\/no limit/m,
    );
    expect(verify.stderr).toContain('all 1 cluster(s) passed');
  });

  test('a second run changes nothing and says so', async () => {
    const before = await readFile(clustersFile, 'utf8');
    const run = await add('east', '--context', 'east', '--create-namespace');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('nothing changed: cluster east was already onboarded');
    expect(run.stdout).not.toMatch(/created|updated|written|entry added/);
    expect(await readFile(clustersFile, 'utf8')).toBe(before);
  });

  test('an existing Role with more rules is corrected; other entries and comments are kept', async () => {
    const withComment = `# managed by the platform team\n${await readFile(clustersFile, 'utf8')}`;
    await writeFile(clustersFile, withComment);
    const run = await add('west', '--context', 'west', '--max-active-pods', '20');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Namespace challenges\s+unchanged\s+exists/);
    expect(run.stdout).toMatch(/ServiceAccount podbus\s+unchanged/);
    expect(run.stdout).toMatch(
      /Role podbus\s+updated\s+rules were "pods: create,get,list,watch,delete,patch; pods\/log: get; events: list,watch; coordination\.k8s\.io\/leases: get,create,update", now "pods: create,get,list,watch,delete,patch; pods\/log: get; coordination\.k8s\.io\/leases: get,create,update"/,
    );
    expect(run.stdout).toMatch(/Secret podbus-token\s+unchanged/);
    const text = await readFile(clustersFile, 'utf8');
    expect(text.startsWith('# managed by the platform team\n')).toBe(true);
    const entries = parse(text) as { name: string; maxActivePods: number }[];
    expect(entries.map((e) => e.name)).toEqual(['east', 'west']);
    expect(entries[1]?.maxActivePods).toBe(20);

    const verify = await runCli(['clusters', 'verify', '--clusters-file', clustersFile, '--json']);
    expect(verify.code).toBe(0);
    const results = JSON.parse(verify.stdout) as Record<string, unknown>[];
    expect(results.map((r) => [r.name, r.ok, r.tls, r.token, r.maxActivePods])).toEqual([
      ['east', true, 'verified', 'valid', 0],
      ['west', true, 'verified', 'valid', 20],
    ]);
  });

  test('KUBECONFIG and PODBUS_CLUSTERS_FILE instead of flags (as the compose offline profile runs it)', async () => {
    const file = join(dir, 'env', 'clusters.yaml');
    const run = await runCli(['clusters', 'add', 'west', '--context', 'west'], {
      env: { KUBECONFIG: kubeconfig, PODBUS_CLUSTERS_FILE: file },
    });
    expect(run.code).toBe(0);
    expect((parse(await readFile(file, 'utf8')) as { name: string }[])[0]?.name).toBe('west');
    const verify = await runCli(['clusters', 'verify'], { env: { PODBUS_CLUSTERS_FILE: file } });
    expect(verify.code).toBe(0);
  });

  test('--token-ttl: a TokenRequest token, no Secret, and a warning that it expires', async () => {
    const file = join(dir, 'ttl', 'clusters.yaml');
    const run = await runCli([
      'clusters',
      'add',
      'west-ttl',
      '--context',
      'west',
      '--kubeconfig',
      kubeconfig,
      '--clusters-file',
      file,
      '--service-account',
      'podbus-ttl',
      '--token-ttl',
      '2h',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: the token expires at \S+: renew it before then/);
    expect(run.stdout).toMatch(/Role podbus-ttl\s+created/);
    expect(run.stdout).not.toContain('Secret');
    expect(
      await status(
        admin(west).readNamespacedSecret({ namespace: 'challenges', name: 'podbus-ttl-token' }),
      ),
    ).toBe(404);
    const verify = await runCli(['clusters', 'verify', '--clusters-file', file]);
    expect(verify.code).toBe(0);
    const tooShort = await runCli([
      'clusters',
      'add',
      'x',
      '--context',
      'west',
      '--kubeconfig',
      kubeconfig,
      '--clusters-file',
      file,
      '--token-ttl',
      '5m',
    ]);
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toContain('--token-ttl must be at least 10m');
  });
});

describe('clusters verify failures (exit 1, with what to do)', () => {
  async function entriesFile(name: string, entries: unknown[]): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, JSON.stringify(entries));
    return file;
  }

  test('a wrong CA: TLS failure naming caFile', async () => {
    await writeFile(join(dir, 'west-ca.crt'), west.caPem);
    const file = await entriesFile('wrong-ca', [
      {
        name: 'east',
        server: east.server,
        tokenFile: 'etc/tokens/east.token',
        caFile: 'west-ca.crt',
        namespace: 'challenges',
      },
    ]);
    const run = await runCli(['clusters', 'verify', '--clusters-file', file, '--timeout', '3']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^east\s+FAILED\s+-\s+failed/m);
    expect(run.stderr).toContain('east: TLS failed: the CA does not match the server certificate');
    expect(run.stderr).toContain(`check caFile ${join(dir, 'west-ca.crt')}`);
  });

  test('a token without the Role: which verbs are missing and the Role to apply', async () => {
    const token = west.issueToken({ namespace: 'challenges', serviceAccount: 'nobody' });
    const file = await entriesFile('no-role', [
      { name: 'west', server: west.server, token, ca: west.caPem, namespace: 'challenges' },
    ]);
    const run = await runCli(['clusters', 'verify', '--clusters-file', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^west\s+FAILED\s+v1\.\S+\s+verified\s+valid\s+missing create pods, get pods, list pods/m,
    );
    expect(run.stderr).toContain(
      'west: the token may not create pods, get pods, list pods, watch pods, delete pods, patch pods, get leases, create leases, update leases in namespace challenges (creating challenge pods; finding the pod of a redelivered message; counting active pods and following them to their end; cleaning up finished pods; marking a pod whose result was sent; electing the results publisher): apply the least-privilege Role (pods: create,get,list,watch,delete,patch; pods/log: get; coordination.k8s.io/leases: get,create,update) with podbus clusters add west',
    );
    expect(run.stderr).toContain(
      'warning: west: the token may not get pods/log in namespace challenges (log tails in results (results.logTailBytes))',
    );
  });

  test('insecureSkipTlsVerify passes, but says TLS is NOT verified', async () => {
    const file = await entriesFile('insecure', [
      {
        name: 'west',
        server: west.server,
        tokenFile: 'etc/tokens/west.token',
        insecureSkipTlsVerify: true,
        namespace: 'challenges',
      },
    ]);
    const run = await runCli(['clusters', 'verify', '--clusters-file', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^west\s+ok\s+\S+\s+NOT verified \(insecureSkipTlsVerify\)\s+valid\s+ok/m,
    );
    expect(run.stderr).toContain(
      'warning: west: TLS is NOT verified (insecureSkipTlsVerify): remove it and set caFile',
    );
  });

  test('a revoked token: 401 and "re-run podbus clusters add"', async () => {
    const token = (await readFile(join(dir, 'etc', 'tokens', 'east.token'), 'utf8')).trim();
    east.revokeToken(token);
    const run = await runCli(['clusters', 'verify', '--clusters-file', clustersFile]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^east\s+FAILED\s+-\s+verified\s+invalid/m);
    expect(run.stdout).toMatch(/^west\s+ok/m);
    expect(run.stderr).toContain(
      'east: token invalid or expired (401): re-run podbus clusters add east --context <admin-context> --namespace challenges',
    );
    expect(run.stderr).toContain('1 of 2 cluster(s) failed');
    expect(run.stdout + run.stderr).not.toContain(token);
  });
});
