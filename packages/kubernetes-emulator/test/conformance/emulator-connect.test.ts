/**
 * Emulator only: exec, attach and port-forward of a running pod. The pod is bound to the
 * emulator's node, whose kubelet cannot be dialled (no container runs), so the answer is what
 * kube-apiserver writes then: 400 "Upgrade request required" for a plain request, and for the
 * WebSocket/SPDY upgrades 500 "error dialing backend: ..." as a Status; client-node's Exec,
 * Attach and PortForward and kubectl exec surface it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Attach, CoreV1Api, Exec, KubeConfig, PortForward } from '@kubernetes/client-node';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../src/index.js';
import { CONNECT_SUBRESOURCES, connectRequest } from './support/connect.js';
import { busyboxPod, EMULATOR_LIFECYCLE, waitForPod } from './support/target.js';

const run = promisify(execFile);
const DIAL_ERROR = 'error dialing backend: dial tcp 172.18.0.2:10250: connect: connection refused';
const POD = 'running';

let emulator: KubernetesEmulator;
let c: EmulatedCluster;
let kc: KubeConfig;
let dir: string;

beforeAll(async () => {
  emulator = await startKubernetesEmulator({
    clusters: [{ name: 'connect', lifecycle: EMULATOR_LIFECYCLE }],
  });
  c = emulator.cluster('connect');
  dir = await mkdtemp(join(tmpdir(), 'emulator-connect-'));
  await emulator.writeKubeconfig(join(dir, 'kubeconfig'));
  kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: 'connect',
      server: c.server,
      caData: Buffer.from(c.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: 'connect-admin', token: c.adminToken },
  );
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: busyboxPod(POD, { runSeconds: 600 }),
  });
  await waitForPod(core, 'default', POD, (p) => p.status?.phase === 'Running');
});
afterAll(async () => {
  await emulator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const path = (sub: string, query: string) =>
  `/api/v1/namespaces/default/pods/${POD}/${sub}?${query}`;

describe('a running pod whose kubelet cannot be dialled', () => {
  it('a plain request is 400 "Upgrade request required"', async () => {
    for (const [sub, query] of CONNECT_SUBRESOURCES) {
      const r = await connectRequest(kc, c.server, c.caPem, path(sub, query), 'plain');
      expect({ sub, code: r.code, message: r.status.message }).toEqual({
        sub,
        code: 400,
        message: 'Upgrade request required',
      });
    }
  });

  it.each(['websocket', 'spdy'] as const)(
    'an upgrade is the 500 Status "error dialing backend" (%s)',
    async (mode) => {
      for (const [sub, query] of CONNECT_SUBRESOURCES) {
        const r = await connectRequest(kc, c.server, c.caPem, path(sub, query), mode);
        expect({ sub, code: r.code }).toEqual({ sub, code: 500 });
        // No reason: upstream renders an error that is not an API status with an empty reason.
        expect(r.status).toEqual({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: DIAL_ERROR,
          code: 500,
        });
      }
    },
  );

  it("client-node's Exec, Attach and PortForward fail on the 500, not on a 404", async () => {
    const out = new PassThrough();
    await expect(
      new Exec(kc).exec('default', POD, 'main', ['true'], out, out, null, false),
    ).rejects.toMatchObject({ message: 'Unexpected server response: 500' });
    await expect(
      new Attach(kc).attach('default', POD, 'main', out, out, null, false),
    ).rejects.toMatchObject({ message: 'Unexpected server response: 500' });
    await expect(
      new PortForward(kc).portForward('default', POD, [80], out, out, new PassThrough()),
    ).rejects.toMatchObject({ message: 'Unexpected server response: 500' });
  });

  it('kubectl exec (WebSocket, then its SPDY fallback) prints the server error', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    const err = await run('kubectl', [
      '--kubeconfig',
      kubeconfig,
      '--context',
      'connect',
      '--cache-dir',
      join(dir, 'cache'),
      'exec',
      POD,
      '--',
      'true',
    ]).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err).toBeDefined();
    expect(err!.code).toBe(1);
    expect(err!.stderr).toContain(`Error from server: ${DIAL_ERROR}`);
  });
});
