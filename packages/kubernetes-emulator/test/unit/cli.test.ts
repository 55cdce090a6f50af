import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
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
      ]),
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
