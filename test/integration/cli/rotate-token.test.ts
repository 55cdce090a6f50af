/**
 * `podbus clusters rotate-token` against the Kubernetes API emulator, in-process: expiring
 * TokenRequest tokens from `clusters add --token-ttl`, renewed with the entry's own token (once
 * the target cluster has deploy/target-cluster/components/token-self-renewal) or an admin
 * context, written atomically to the tokenFile or into the Secret of the worker's cluster that
 * the worker mounts.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '@podbus/kubernetes-emulator';
import { runCli } from '../../unit/cli/support/run-cli.js';

const repo = new URL('../../../', import.meta.url).pathname;

let emu: KubernetesEmulator;
let east: EmulatedCluster;
let home: EmulatedCluster;
let dir: string;
let kubeconfig: string;
let clustersFile: string;
let tokenFile: string;

function api(cluster: EmulatedCluster, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.server,
        caData: Buffer.from(cluster.caPem).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: cluster.name, user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

/** Whether a token may list pods in the entry's namespace (what the worker needs). */
async function works(token: string): Promise<boolean> {
  try {
    await api(east, token).makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'challenges' });
    return true;
  } catch {
    return false;
  }
}

/** Read-only even for root (which ignores mode bits): the immutable attribute there. */
async function setWritable(directory: string, writable: boolean): Promise<void> {
  if (process.getuid?.() === 0) execFileSync('chattr', [writable ? '-i' : '+i', directory]);
  else await chmod(directory, writable ? 0o755 : 0o555);
}

const rotate = (...args: string[]) =>
  runCli(['clusters', 'rotate-token', ...args, '--clusters-file', clustersFile], {
    env: { KUBECONFIG: join(dir, 'home.kubeconfig') },
  });

beforeAll(async () => {
  emu = await startKubernetesEmulator({
    clusters: [{ name: 'east' }, { name: 'home' }],
    tokenControllerDelayMs: 50,
  });
  east = emu.cluster('east');
  home = emu.cluster('home');
  dir = await mkdtemp(join(tmpdir(), 'podbus-rotate-it-'));
  kubeconfig = join(dir, 'kubeconfig');
  await emu.writeKubeconfig(kubeconfig);
  clustersFile = join(dir, 'clusters.yaml');
  const added = await runCli([
    'clusters',
    'add',
    'east',
    '--context',
    'east',
    '--kubeconfig',
    kubeconfig,
    '--token-ttl',
    '1h',
    '--clusters-file',
    clustersFile,
  ]);
  expect(added.code).toBe(0);
  tokenFile = (parse(await readFile(clustersFile, 'utf8')) as { tokenFile: string }[])[0]!
    .tokenFile;
  tokenFile = join(dir, tokenFile);
  // The worker's own cluster ("home"): the Secret the worker mounts, and a kubeconfig for it.
  const homeAdmin = api(home, home.adminToken);
  await homeAdmin
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'podbus' } } });
  await homeAdmin.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: 'podbus',
    body: {
      metadata: { name: 'podbus-cluster-east' },
      stringData: { token: 'old', 'ca.crt': east.caPem },
    },
  });
  await writeFile(join(dir, 'home.kubeconfig'), homeAdmin.exportConfig());
});

afterAll(async () => {
  await emu?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('clusters rotate-token', () => {
  test('without the self-renewal Role, the token cannot renew itself: 403 and what to apply', async () => {
    const before = await readFile(tokenFile, 'utf8');
    const run = await rotate('east');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "podbus: east: requesting a token for ServiceAccount challenges/podbus with the entry's own token",
    );
    expect(run.stderr).toContain(
      'forbidden (403): the service account may not renew its own token; apply deploy/target-cluster/components/token-self-renewal on the cluster, or pass --context <admin-context>',
    );
    expect(await readFile(tokenFile, 'utf8')).toBe(before);
  });

  test('with deploy/target-cluster/components/token-self-renewal, it renews itself into the tokenFile', async () => {
    const rbac = api(east, east.adminToken).makeApiClient(RbacAuthorizationV1Api);
    const component = join(repo, 'deploy/target-cluster/components/token-self-renewal');
    await rbac.createNamespacedRole({
      namespace: 'challenges',
      body: parse(await readFile(join(component, 'role.yaml'), 'utf8')),
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'challenges',
      body: parse(await readFile(join(component, 'rolebinding.yaml'), 'utf8')),
    });
    const before = (await readFile(tokenFile, 'utf8')).trim();
    const inode = (await stat(tokenFile)).ino;
    const run = await rotate('east', '--token-ttl', '2h');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^east: new token for challenges/podbus, expires \\d{4}-\\d\\d-\\d\\dT.*, written to ${tokenFile}\\n$`,
      ),
    );
    const after = (await readFile(tokenFile, 'utf8')).trim();
    expect(after).not.toBe(before);
    expect(run.stdout).not.toContain(after);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    // A new file renamed over the old one: a new inode, which the worker's token source notices.
    expect((await stat(tokenFile)).ino).not.toBe(inode);
    expect(await works(after)).toBe(true);
    const verify = await runCli(['clusters', 'verify', '--clusters-file', clustersFile]);
    expect(verify.code).toBe(0);
  });

  test('with --context, an admin context issues it', async () => {
    const before = (await readFile(tokenFile, 'utf8')).trim();
    const run = await rotate('--all', '--context', 'east', '--kubeconfig', kubeconfig);
    expect(run.code).toBe(0);
    const after = (await readFile(tokenFile, 'utf8')).trim();
    expect(after).not.toBe(before);
    expect(await works(after)).toBe(true);
  });

  test('--secret writes into the Secret the worker mounts, in the worker’s cluster', async () => {
    const run = await rotate('--all', '--secret', 'podbus/podbus-cluster-{name}');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('written to Secret podbus/podbus-cluster-east (key token)');
    const secret = await api(home, home.adminToken)
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: 'podbus-cluster-east', namespace: 'podbus' });
    const token = Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8');
    expect(token).not.toBe('old');
    expect(await works(token)).toBe(true);
    expect(Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8')).toBe(east.caPem);
  });

  test("--all renews every entry it can: one entry's failure does not stop the rest", async () => {
    // An entry whose tokenFile cannot be replaced (its directory is read-only), listed first.
    const [eastEntry] = parse(await readFile(clustersFile, 'utf8')) as Record<string, unknown>[];
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await writeFile(join(locked, 'broken.token'), 'old\n');
    const twoEntries = join(dir, 'two-clusters.yaml');
    await writeFile(
      twoEntries,
      stringify([
        { ...eastEntry, name: 'broken', tokenFile: join(locked, 'broken.token') },
        { ...eastEntry, tokenFile },
      ]),
    );
    await setWritable(locked, false);
    await chmod(tokenFile, 0o640);
    const before = (await readFile(tokenFile, 'utf8')).trim();
    const run = await runCli([
      'clusters',
      'rotate-token',
      '--all',
      '--context',
      'east',
      '--kubeconfig',
      kubeconfig,
      '--clusters-file',
      twoEntries,
    ]);
    await setWritable(locked, true);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^podbus: broken: (EPERM|EACCES): .*locked/m);
    expect(run.stdout).toMatch(/^east: new token for challenges\/podbus/m);
    const after = (await readFile(tokenFile, 'utf8')).trim();
    expect(after).not.toBe(before);
    expect(await works(after)).toBe(true);
    // The renewed file keeps the mode the operator gave the old one.
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o640);
  });

  test('names what is wrong with the call', async () => {
    expect((await rotate()).stderr).toContain('name the cluster entries to rotate, or pass --all');
    expect((await rotate('west')).stderr).toContain(
      'no cluster entry named "west" (the configuration has: east)',
    );
    expect((await rotate('east', '--token-ttl', '5m')).stderr).toContain(
      '--token-ttl must be at least 10m',
    );
    expect((await rotate('east', '--secret', 'nope')).stderr).toContain(
      '--secret must be <namespace>/<name>',
    );
  });
});
