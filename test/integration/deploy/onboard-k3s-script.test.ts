// deploy/compose/onboard-k3s.sh (the compose stack's k3s onboarding) against the Kubernetes API
// emulator instead of k3s: it applies deploy/target-cluster with an admin kubeconfig, waits for
// the token, and writes a token and CA the worker can use, idempotently.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startKubernetesEmulator, type KubernetesEmulator } from '@podbus/kubernetes-emulator';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let emulator: KubernetesEmulator;
let workDir: string;
let kubeconfig: string;
let out: string;

async function onboard(): Promise<string> {
  const { stdout } = await run('sh', [path.join(repoRoot, 'deploy/compose/onboard-k3s.sh')], {
    env: {
      ...process.env,
      ONBOARD_KUBECONFIG: kubeconfig,
      ONBOARD_SERVER: emulator.cluster('k3s').server,
      ONBOARD_MANIFESTS: path.join(repoRoot, 'deploy/target-cluster'),
      ONBOARD_OUT: out,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return stdout;
}

beforeAll(async () => {
  // Another namespace for the emulator's own seeded service account, so `challenges` is new.
  emulator = await startKubernetesEmulator({
    clusters: [{ name: 'k3s', namespace: 'emulator-seeded' }],
  });
  workDir = await mkdtemp(path.join(tmpdir(), 'podbus-onboard-k3s-'));
  kubeconfig = path.join(workDir, 'kubeconfig.yaml');
  out = workDir;
  await emulator.writeKubeconfig(kubeconfig);
});

afterAll(async () => {
  await emulator?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('deploy/compose/onboard-k3s.sh', () => {
  it('applies deploy/target-cluster and writes the podbus token and the cluster CA', async () => {
    const output = await onboard();
    expect(output).toContain('role.rbac.authorization.k8s.io/podbus created');
    expect(output).toContain(`onboard-k3s: wrote ${out}/token and ${out}/ca.crt`);
    const ca = await readFile(path.join(out, 'ca.crt'), 'utf8');
    expect(ca).toBe(emulator.cluster('k3s').caPem);
    // World-readable: the worker container reads them as uid 10001.
    expect((await stat(path.join(out, 'token'))).mode & 0o044).toBe(0o044);
  }, 90_000);

  it('writes a token that may create pods in challenges and read no secrets', async () => {
    const token = (await readFile(path.join(out, 'token'), 'utf8')).trim();
    const canI = async (...args: string[]): Promise<string> => {
      try {
        const argv = ['--kubeconfig', kubeconfig, '--token', token, 'auth', 'can-i', ...args];
        return (await run('kubectl', argv, { encoding: 'utf8' })).stdout.trim();
      } catch (error) {
        return ((error as { stdout?: string }).stdout ?? '').trim();
      }
    };
    expect(await canI('create', 'pods', '-n', 'challenges')).toBe('yes');
    expect(await canI('get', 'secrets', '-n', 'challenges')).toBe('no');
  });

  it('is idempotent', async () => {
    const before = await readFile(path.join(out, 'token'), 'utf8');
    const output = await onboard();
    expect(output).not.toMatch(/ created$/m);
    expect(await readFile(path.join(out, 'token'), 'utf8')).toBe(before);
  }, 90_000);
});
