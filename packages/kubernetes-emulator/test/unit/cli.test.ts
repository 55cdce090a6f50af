import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

import { resolveKubernetesEmulatorFlags, runKubernetesEmulator } from '../../src/cli-actions.js';
import { buildCommand } from '../../src/cli.js';
import { CliUsageError } from '../../src/cli-support.js';

describe('kubernetes-emulator: flags', () => {
  it('defaults to 2 clusters on 6443.. in namespace challenges', () => {
    const r = resolveKubernetesEmulatorFlags({});
    expect(r.clusters.map((c) => c.name)).toEqual(['cluster-1', 'cluster-2']);
    expect(r.basePort).toBe(6443);
    expect(r.host).toBe('127.0.0.1');
    expect(r.seed).toBe(1);
    expect(r.clusters[0]!.namespace).toBe('challenges');
  });

  it.each([
    [{ clusters: '0' }, '--clusters'],
    [{ clusters: 'two' }, '--clusters'],
    [{ basePort: '70000' }, '--base-port'],
    [{ basePort: '65535', clusters: '2' }, '--base-port'],
    [{ seed: '-1' }, '--seed'],
    [{ namespace: 'Bad_NS' }, '--namespace'],
    [{ host: '' }, '--host'],
    [{ runMs: '1.5' }, '--run-ms'],
    [{ writeKubeconfig: ' ' }, '--write-kubeconfig'],
  ])('rejects %j naming %s', (flags, flag) => {
    expect(() => resolveKubernetesEmulatorFlags(flags)).toThrow(CliUsageError);
    expect(() => resolveKubernetesEmulatorFlags(flags)).toThrow(flag);
  });

  it('registers the command with its flags', () => {
    const cmd = buildCommand();
    expect(cmd.options.map((o) => o.long)).toEqual(
      expect.arrayContaining([
        '--clusters',
        '--base-port',
        '--host',
        '--write-kubeconfig',
        '--seed',
        '--authentication-config',
        '--oidc-signing-algs',
      ]),
    );
  });
});

describe('kubernetes-emulator: --authentication-config and --oidc-signing-algs', () => {
  const jwt = `apiVersion: apiserver.config.k8s.io/v1beta1
kind: AuthenticationConfiguration
jwt:
  - issuer:
      url: https://sts.windows.net/00000000-0000-0000-0000-0000000000aa/
      audiences: [6dae42f8-4368-4678-94ff-3960e28e3630]
    claimMappings:
      username: { claim: oid, prefix: '' }
      groups: { claim: groups, prefix: '' }
`;

  async function withFile<T>(text: string, fn: (path: string) => T): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'k8s-cli-authn-'));
    try {
      const path = join(dir, 'authn.yaml');
      await writeFile(path, text);
      return fn(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('gives every cluster the JWT authenticators of the file (YAML, as kube-apiserver reads it)', async () => {
    const r = await withFile(jwt, (path) =>
      resolveKubernetesEmulatorFlags({
        authenticationConfig: path,
        oidcSigningAlgs: 'RS256,ES256',
      }),
    );
    for (const c of r.clusters) {
      expect(c.authenticationConfig!.jwt[0]!.claimMappings.username).toEqual({
        claim: 'oid',
        prefix: '',
      });
      expect(c.oidcSigningAlgs).toEqual(['RS256', 'ES256']);
    }
  });

  it('refuses a configuration kube-apiserver would refuse, naming the flag and the field', async () => {
    const bad = jwt.replace("username: { claim: oid, prefix: '' }", 'username: { claim: oid }');
    await withFile(bad, (path) => {
      expect(() => resolveKubernetesEmulatorFlags({ authenticationConfig: path })).toThrow(
        new CliUsageError(
          `--authentication-config ${path} is invalid: jwt[0].claimMappings.username.prefix: Required value: prefix is required when claim is set. It can be set to an empty string to disable prefixing`,
        ),
      );
    });
    expect(() =>
      resolveKubernetesEmulatorFlags({ authenticationConfig: '/nonexistent/authn.yaml' }),
    ).toThrow('--authentication-config /nonexistent/authn.yaml: ENOENT');
    expect(() => resolveKubernetesEmulatorFlags({ oidcSigningAlgs: 'HS256' })).toThrow(
      '--oidc-signing-algs: oidc: unsupported signing alg: "HS256"',
    );
  });
});

describe('kubernetes-emulator: run', () => {
  it('prints servers, CA files and tokens, writes a working kubeconfig (0600), stops on request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'k8s-cli-'));
    const kubeconfig = join(dir, 'kc.yaml');
    let output = '';
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const running = runKubernetesEmulator(
      { clusters: '2', basePort: '0', writeKubeconfig: kubeconfig, seed: '3' },
      { out: (t) => (output += t), until },
    );
    try {
      for (let i = 0; i < 200 && !output.includes('Try:'); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(output).toContain('cluster-1');
      expect(output).toContain('cluster-2');
      expect(output).toMatch(/server:\s+https:\/\/127\.0\.0\.1:\d+/);
      expect(output).toMatch(/CA file:\s+\S+cluster-1-ca\.crt/);
      expect(output).toMatch(/service account:\s+system:serviceaccount:challenges:podbus/);
      expect((await stat(kubeconfig)).mode & 0o777).toBe(0o600);
      const kc = new KubeConfig();
      kc.loadFromString(await readFile(kubeconfig, 'utf8'));
      expect(kc.getContexts().map((c) => c.name)).toEqual([
        'cluster-1',
        'cluster-1-podbus',
        'cluster-2',
        'cluster-2-podbus',
      ]);
      kc.setCurrentContext('cluster-2');
      const nodes = await kc.makeApiClient(CoreV1Api).listNode();
      expect(nodes.items.map((n) => n.metadata!.name)).toEqual(['cluster-2-control-plane']);
      kc.setCurrentContext('cluster-1-podbus');
      const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'challenges' });
      expect(pods.items).toEqual([]);
    } finally {
      release();
      await running;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
