import { readFile } from 'node:fs/promises';

import { describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

import { generateClusterCertificates } from '../../src/certificates.js';
import {
  EmulatorOptionsError,
  kubeconfigYaml,
  resolveClusterConfigs,
  startKubernetesEmulator,
} from '../../src/index.js';

describe('emulator options', () => {
  it('defaults to cluster-1 and cluster-2 with namespace challenges', () => {
    const configs = resolveClusterConfigs({});
    expect(configs.map((c) => [c.name, c.namespace, c.nodeCapacityPods])).toEqual([
      ['cluster-1', 'challenges', 110],
      ['cluster-2', 'challenges', 110],
    ]);
  });

  it('records events that live an hour unless told otherwise', () => {
    expect(resolveClusterConfigs({ clusters: [{ name: 'a' }] })[0]!.events).toEqual({
      record: true,
      ttlSeconds: 3600,
    });
    expect(
      resolveClusterConfigs({ clusters: [{ name: 'a', events: { record: false } }] })[0]!.events
        .record,
    ).toBe(false);
  });

  it.each([
    [{ clusters: [] }, 'at least one cluster'],
    [{ clusters: [{ name: 'Bad_Name' }] }, 'clusters[0].name'],
    [{ clusters: [{ name: 'a' }, { name: 'a' }] }, 'duplicate cluster name'],
    [{ clusters: [{ name: 'a', lifecycle: { runMs: -1 } }] }, 'lifecycle.runMs'],
    [{ clusters: [{ name: 'a', namespace: 'x.y' }] }, 'namespace'],
    [{ clusters: [{ name: 'a', events: { ttlSeconds: 0 } }] }, 'clusters[0].events.ttlSeconds'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveClusterConfigs(options)).toThrow(EmulatorOptionsError);
    expect(() => resolveClusterConfigs(options)).toThrow(message);
  });

  it('serves a supplied certificate and CA instead of generating them', async () => {
    const certs = await generateClusterCertificates('mine', ['127.0.0.1']);
    const emulator = await startKubernetesEmulator({
      clusters: [
        {
          name: 'mine',
          tls: { certPem: certs.serverCertPem, keyPem: certs.serverKeyPem, caPem: certs.caPem },
        },
      ],
    });
    try {
      const c = emulator.cluster('mine');
      expect(c.caPem).toBe(certs.caPem);
      expect(await readFile(c.caFile, 'utf8')).toBe(certs.caPem);
      const kc = new KubeConfig();
      kc.loadFromClusterAndUser(
        {
          name: 'mine',
          server: c.server,
          caData: Buffer.from(certs.caPem).toString('base64'),
          skipTLSVerify: false,
        },
        { name: 'mine-admin', token: c.adminToken },
      );
      const ns = await kc.makeApiClient(CoreV1Api).listNamespace();
      expect(ns.items.map((n) => n.metadata!.name)).toContain('challenges');
    } finally {
      await emulator.stop();
    }
  });

  it('plain HTTP only when asked: no CA, http:// URL, kubeconfig skips verification', async () => {
    const emulator = await startKubernetesEmulator({
      clusters: [{ name: 'plain' }],
      plainHttp: true,
    });
    try {
      const c = emulator.cluster('plain');
      expect(c.server).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(c.caPem).toBe('');
      expect(kubeconfigYaml([c])).toContain('insecure-skip-tls-verify: true');
    } finally {
      await emulator.stop();
    }
  });

  it('stop frees the ports and is idempotent', async () => {
    const emulator = await startKubernetesEmulator({ clusters: [{ name: 'ports' }] });
    const port = Number(new URL(emulator.cluster('ports').server).port);
    await emulator.stop();
    await emulator.stop();
    const again = await startKubernetesEmulator({ clusters: [{ name: 'ports' }], basePort: port });
    expect(again.cluster('ports').server).toContain(`:${port}`);
    await again.stop();
  });
});
