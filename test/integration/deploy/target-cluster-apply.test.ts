// deploy/target-cluster applied with `kubectl apply -k` to the Kubernetes API emulator: the
// objects are created as written, the token controller fills in the podbus token Secret, and
// that token is allowed exactly what the Role grants.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startKubernetesEmulator, type KubernetesEmulator } from '@podbus/kubernetes-emulator';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const targetCluster = path.join(repoRoot, 'deploy/target-cluster');

let emulator: KubernetesEmulator;
let workDir: string;
let kubeconfig: string;

/** kubectl against the emulator as its admin (context `target`). */
async function kubectl(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      encoding: 'utf8',
    });
    return stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${stderr ?? String(error)}`, {
      cause: error,
    });
  }
}

async function getJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl('get', ...args, '-o', 'json')) as T;
}

async function waitForToken(): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const secret = await getJson<{ data?: Record<string, string> }>(
      '-n',
      'challenges',
      'secret',
      'podbus-token',
    );
    if (secret.data?.token) return Buffer.from(secret.data.token, 'base64').toString('utf8');
    if (Date.now() > deadline) throw new Error('the token controller never filled podbus-token');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  // The emulator seeds a podbus service account in its own namespace; use another one, so
  // everything in `challenges` comes from deploy/target-cluster.
  emulator = await startKubernetesEmulator({
    clusters: [{ name: 'target', namespace: 'emulator-seeded' }],
  });
  workDir = await mkdtemp(path.join(tmpdir(), 'podbus-target-apply-'));
  kubeconfig = path.join(workDir, 'kubeconfig');
  await emulator.writeKubeconfig(kubeconfig);
});

afterAll(async () => {
  await emulator?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('kubectl apply -k deploy/target-cluster (Kubernetes API emulator)', () => {
  let applyOutput: string;

  beforeAll(async () => {
    applyOutput = await kubectl('--context', 'target', 'apply', '-k', targetCluster);
  });

  it('creates every object', () => {
    for (const line of [
      'namespace/challenges created',
      'serviceaccount/podbus created',
      'role.rbac.authorization.k8s.io/podbus created',
      'rolebinding.rbac.authorization.k8s.io/podbus created',
      'secret/podbus-token created',
      'resourcequota/challenges created',
      'limitrange/challenges created',
      'networkpolicy.networking.k8s.io/default-deny-all created',
    ]) {
      expect(applyOutput).toContain(line);
    }
  });

  it('stores them as written', async () => {
    const role = await getJson<{ rules: object[] }>('-n', 'challenges', 'role', 'podbus');
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
    const sa = await getJson<{ automountServiceAccountToken?: boolean }>(
      '-n',
      'challenges',
      'serviceaccount',
      'podbus',
    );
    expect(sa.automountServiceAccountToken).toBe(false);
    const quota = await getJson<{ spec: { hard: Record<string, string> } }>(
      '-n',
      'challenges',
      'resourcequota',
      'challenges',
    );
    expect(quota.spec.hard.pods).toBe('50');
    const policy = await getJson<{ spec: object }>(
      '-n',
      'challenges',
      'networkpolicy',
      'default-deny-all',
    );
    expect(policy.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  it('gets a token for the podbus service account, with the cluster CA', async () => {
    const token = await waitForToken();
    expect(token.length).toBeGreaterThan(20);
    const secret = await getJson<{ data: Record<string, string> }>(
      '-n',
      'challenges',
      'secret',
      'podbus-token',
    );
    const ca = Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8');
    expect(ca).toBe(emulator.cluster('target').caPem);
    expect(Buffer.from(secret.data.namespace ?? '', 'base64').toString('utf8')).toBe('challenges');
  });

  it('lets that token do exactly what the Role grants', async () => {
    const token = await waitForToken();
    // `kubectl auth can-i` answers on stdout and exits 1 for "no".
    const canI = async (...args: string[]): Promise<string> => {
      const argv = ['--kubeconfig', kubeconfig, '--context', 'target', '--token', token];
      try {
        const { stdout } = await run('kubectl', [...argv, 'auth', 'can-i', ...args], {
          encoding: 'utf8',
        });
        return stdout.trim();
      } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        if (stdout?.trim() === 'no') return 'no';
        throw new Error(`kubectl auth can-i ${args.join(' ')}: ${stderr ?? String(error)}`, {
          cause: error,
        });
      }
    };
    for (const verb of ['create', 'get', 'list', 'watch', 'delete', 'patch']) {
      expect(`${verb} pods: ${await canI(verb, 'pods', '-n', 'challenges')}`).toBe(
        `${verb} pods: yes`,
      );
    }
    for (const verb of ['get', 'create', 'update']) {
      expect(
        `${verb} leases: ${await canI(verb, 'leases.coordination.k8s.io', '-n', 'challenges')}`,
      ).toBe(`${verb} leases: yes`);
    }
    expect(await canI('update', 'pods', '-n', 'challenges')).toBe('no');
    expect(await canI('delete', 'leases.coordination.k8s.io', '-n', 'challenges')).toBe('no');
    expect(await canI('get', 'secrets', '-n', 'challenges')).toBe('no');
    // (pods/exec is not checked here: the emulator's RBAC does not tell subresources apart yet.)
    expect(await canI('create', 'pods', '-n', 'default')).toBe('no');
  });

  it('is idempotent: a second apply changes nothing', async () => {
    const again = await kubectl('--context', 'target', 'apply', '-k', targetCluster);
    expect(again).not.toMatch(/created|configured/);
    expect(again).toMatch(/unchanged/);
  });
});
