/**
 * ClusterClient against the Kubernetes API emulator: the real @kubernetes/client-node 2.x over
 * real HTTPS, TLS verified against the emulator's CA. No mocks.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';

import { ClusterClient, type ClusterClientOptions } from '../../../src/clusters/cluster-client.js';
import type { ClusterEntry } from '../../../src/clusters/cluster-entry.js';
import type { ClusterLogger } from '../../../src/clusters/logger.js';
import { plainCoreApi } from '../../support/plain-core-api.js';
import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '@podbus/kubernetes-emulator';
import { entryFor, testPod } from './support/entries.js';

let emu: KubernetesEmulator;
let alpha: EmulatedCluster;
let beta: EmulatedCluster;
let dir: string;
const clients: ClusterClient[] = [];

beforeAll(async () => {
  emu = await startKubernetesEmulator({
    clusters: [
      { name: 'alpha', lifecycle: { runMs: 600_000 } },
      { name: 'beta', nodeCapacityPods: 10 },
    ],
    seed: 1,
  });
  alpha = emu.cluster('alpha');
  beta = emu.cluster('beta');
  dir = await mkdtemp(join(tmpdir(), 'podbus-int-clusters-'));
});

afterAll(async () => {
  await emu?.stop();
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await alpha.faults.clear();
});

function client(over: Partial<ClusterClientOptions> & { entry?: ClusterEntry } = {}): {
  c: ClusterClient;
  sleeps: number[];
} {
  const sleeps: number[] = [];
  // Sleeps are recorded, not slept; the client's clock moves by them instead, so that a
  // Retry-After pause of its rate limiter sees the time as having passed.
  let slept = 0;
  const c = new ClusterClient({
    requestTimeoutMs: 5000,
    sleep: async (ms) => {
      sleeps.push(ms);
      slept += ms;
    },
    now: () => Date.now() + slept,
    ...over,
    entry: over.entry ?? entryFor(alpha),
  });
  clients.push(c);
  return { c, sleeps };
}

describe('pods', () => {
  test('create, get, list, delete with the least-privilege service-account token', async () => {
    const { c } = client();
    const pod = testPod();
    const name = pod.metadata!.name!;
    const created = await c.createPod(pod);
    expect(created.outcome).toBe('created');
    expect(alpha.getPod(alpha.namespace, name)).toBeDefined();

    const got = await c.getPod(name);
    expect(got?.metadata?.annotations?.['podbus.io/request-hash']).toBe('abc');
    expect(got?.metadata?.creationTimestamp).toBeInstanceOf(Date);

    const list = await c.listPods({ labelSelector: 'app.kubernetes.io/managed-by=podbus' });
    expect(list.items.map((p) => p.metadata?.name)).toContain(name);
    expect(list.resourceVersion).not.toBe('');

    await expect(c.deletePod(name)).resolves.toBe('deleted');
    await expect(c.deletePod(`${name}-never-existed`)).resolves.toBe('not-found');
    await expect(c.getPod(`${name}-never-existed`)).resolves.toBeUndefined();
  });

  test('409 surfaces as already-exists', async () => {
    const { c } = client();
    const pod = testPod();
    await c.createPod(pod);
    await expect(c.createPod(pod)).resolves.toEqual({
      outcome: 'already-exists',
      afterAmbiguousAttempt: false,
    });
  });

  test('422 surfaces as rejected with causes, without retries', async () => {
    const { c, sleeps } = client();
    const pod = testPod();
    pod.spec!.containers[0]!.image = '';
    const err = await c.createPod(pod).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'rejected', status: 422, attempts: 1 });
    expect((err as { causes?: unknown[] }).causes?.length).toBeGreaterThan(0);
    expect(sleeps).toEqual([]);
  });

  test('a missing namespace is namespace-missing', async () => {
    const { c } = client({
      entry: entryFor(alpha, { namespace: 'no-such-namespace', token: alpha.adminToken }),
    });
    await expect(c.createPod(testPod())).rejects.toMatchObject({ kind: 'namespace-missing' });
  });

  test('RBAC: the service account may create pods in its namespace only', async () => {
    const { c } = client();
    await expect(c.canCreatePods()).resolves.toBe(true);
    await expect(c.checkAccess()).resolves.toEqual({ allowed: true, denied: [] });
    const other = client({ entry: entryFor(alpha, { namespace: 'default' }) }).c;
    await expect(other.canCreatePods()).resolves.toBe(false);
    await expect(other.createPod(testPod())).rejects.toMatchObject({ kind: 'forbidden' });
  });

  test('version() answers', async () => {
    const { c } = client();
    await expect(c.version()).resolves.toMatchObject({ gitVersion: expect.any(String) });
  });
});

describe('connections', () => {
  test('keep-alive: 20 sequential creates use at most 2 TLS connections', async () => {
    const { c } = client();
    const before = alpha.stats.connections;
    for (let i = 0; i < 20; i++) await c.createPod(testPod('ka'));
    expect(alpha.stats.connections - before).toBeLessThanOrEqual(2);
  });

  test('control: plain client-node opens one connection per call (so the counter is real)', async () => {
    const api = plainCoreApi({
      server: alpha.server,
      caPem: alpha.caPem,
      token: alpha.serviceAccountToken,
    });
    const before = alpha.stats.connections;
    for (let i = 0; i < 5; i++) {
      await api.createNamespacedPod({ namespace: alpha.namespace, body: testPod('plain') });
    }
    expect(alpha.stats.connections - before).toBe(5);
  });

  test('black-holed server: each attempt times out, the call ends as timeout', async () => {
    const { c, sleeps } = client({ requestTimeoutMs: 300, retry: { maxAttempts: 2 } });
    await alpha.faults.set({ blackhole: true });
    const err = await c.getPod('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', attempts: 2, retryable: true });
    expect(sleeps).toHaveLength(1);
  });

  test('black-holed server: a create that never connected is known not to have happened', async () => {
    // The connect timeout (half the attempt timeout) fires first, so placement may fail over
    // instead of pinning the message to an unreachable cluster (AKS authorized-IP ranges).
    // undici's connect timer ticks coarsely (about 1 s), hence seconds here, not milliseconds.
    const { c } = client({ requestTimeoutMs: 3000, retry: { maxAttempts: 1 } });
    await alpha.faults.set({ blackhole: true });
    const err = await c.createPod(testPod('blackholed')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT', mayHaveTakenEffect: false });
  });

  test('429 with Retry-After is honoured (real time: the retry comes after >= 1 s)', async () => {
    const { c } = client({ sleep: undefined }); // the real sleep
    await alpha.faults.set({ throttle: { retryAfterSeconds: 1, count: 1 } });
    const started = Date.now();
    const result = await c.createPod(testPod('throttled'));
    expect(result.outcome).toBe('created');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  test('beforeLateSend runs before a retried create; a lock lost there stops the retry', async () => {
    const { c, sleeps } = client();
    await alpha.faults.set({ throttle: { retryAfterSeconds: 1, count: 1 } });
    const lock = new AbortController();
    const pod = testPod('lock-lost-before-retry');
    let confirmations = 0;
    await expect(
      c.createPod(pod, {
        signal: lock.signal,
        beforeLateSend: async () => {
          confirmations += 1;
          lock.abort(new Error('message lock lost'));
        },
      }),
    ).rejects.toMatchObject({ kind: 'aborted' });
    expect(sleeps).toHaveLength(1); // the 429 was answered, and a retry was due
    expect(confirmations).toBe(1);
    // The retry would have created it: the 429 was the only one.
    expect(alpha.podHistory(alpha.namespace).map((p) => p.name)).not.toContain(pod.metadata!.name);
  });

  test('beforeLateSend runs before a first create the rate limiter held back', async () => {
    const { c } = client({ entry: { ...entryFor(alpha), qps: 1, burst: 1 } });
    await c.createPod(testPod('takes-the-burst'));
    const lock = new AbortController();
    const pod = testPod('lock-lost-while-paced');
    let confirmations = 0;
    await expect(
      c.createPod(pod, {
        signal: lock.signal,
        beforeLateSend: async () => {
          confirmations += 1;
          lock.abort(new Error('message lock lost'));
        },
      }),
    ).rejects.toMatchObject({ kind: 'aborted' });
    expect(confirmations).toBe(1);
    expect(alpha.podHistory(alpha.namespace).map((p) => p.name)).not.toContain(pod.metadata!.name);
  });

  test('beforeLateSend does not run for a first create that went out at once', async () => {
    const { c } = client();
    let confirmations = 0;
    const result = await c.createPod(testPod('on-time'), {
      beforeLateSend: async () => {
        confirmations += 1;
      },
    });
    expect(result.outcome).toBe('created');
    expect(confirmations).toBe(0);
  });

  test('429 with Retry-After: the recorded wait is at least the server value', async () => {
    const { c, sleeps } = client();
    await alpha.faults.set({ throttle: { retryAfterSeconds: 2, count: 2 } });
    await expect(c.getPod('whatever')).resolves.toBeUndefined();
    expect(sleeps).toHaveLength(2);
    for (const s of sleeps) expect(s).toBeGreaterThanOrEqual(2000);
  });

  test('5xx are retried until the server recovers', async () => {
    const sleeps: number[] = [];
    const { c } = client({
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 2) await alpha.faults.clear();
      },
    });
    await alpha.faults.set({ errorRate: { create: { rate: 1, status: 503 } } });
    const result = await c.createPod(testPod('five-oh-three'));
    expect(result.outcome).toBe('created');
    expect(sleeps).toHaveLength(2);
  });

  test('5xx on every attempt: server-error, mayHaveTakenEffect', async () => {
    const { c } = client({ retry: { maxAttempts: 3 } });
    await alpha.faults.set({ errorRate: { create: { rate: 1, status: 500 } } });
    await expect(c.createPod(testPod())).rejects.toMatchObject({
      kind: 'server-error',
      attempts: 3,
      mayHaveTakenEffect: true,
    });
  });

  test('cluster down: connection error that certainly created nothing', async () => {
    const { c } = client({ retry: { maxAttempts: 2 } });
    await alpha.faults.set({ down: true });
    await expect(c.createPod(testPod())).rejects.toMatchObject({
      kind: 'connection',
      code: 'ECONNREFUSED',
      mayHaveTakenEffect: false,
    });
  });
});

describe('tokens', () => {
  test('tokenFile rotated on disk: the next call uses the new token', async () => {
    const path = join(dir, 'rotate');
    const first = alpha.issueToken({ namespace: alpha.namespace, serviceAccount: 'podbus' });
    await writeFile(path, `${first}\n`);
    let now = 0;
    const { c } = client({
      entry: entryFor(alpha, { token: undefined, tokenFile: path }),
      now: () => now,
    });
    await expect(c.getPod('nope')).resolves.toBeUndefined();

    const second = alpha.issueToken({ namespace: alpha.namespace, serviceAccount: 'podbus' });
    await writeFile(path, `${second}\n`);
    alpha.revokeToken(first);
    now += 1000; // next change check
    await expect(c.getPod('nope')).resolves.toBeUndefined();
  });

  test('401 after an unnoticed rotation: re-read once, retried with the new token', async () => {
    const path = join(dir, 'rotate-401');
    const first = alpha.issueToken({ namespace: alpha.namespace, serviceAccount: 'podbus' });
    await writeFile(path, first);
    const { c, sleeps } = client({
      entry: entryFor(alpha, { token: undefined, tokenFile: path }),
      now: () => 0, // the change check never runs: only the 401 path can find the new token
    });
    await c.getPod('nope');
    const second = alpha.issueToken({ namespace: alpha.namespace, serviceAccount: 'podbus' });
    await writeFile(path, second);
    alpha.revokeToken(first);
    await expect(c.getPod('nope')).resolves.toBeUndefined();
    expect(sleeps).toEqual([]);
  });

  test('revoked token: 401, one re-read finds the same token -> unauthorized', async () => {
    const path = join(dir, 'revoked');
    const token = alpha.issueToken({ namespace: alpha.namespace, serviceAccount: 'podbus' });
    await writeFile(path, token);
    alpha.revokeToken(token);
    const { c } = client({ entry: entryFor(alpha, { token: undefined, tokenFile: path }) });
    const err = await c.createPod(testPod()).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(JSON.stringify(err)).not.toContain(token);
    expect(String(err)).not.toContain(token);
  });
});

describe('TLS', () => {
  test('verification is on by default: the wrong CA fails as tls, not retried', async () => {
    const { c, sleeps } = client({ entry: entryFor(alpha, { ca: beta.caPem }) });
    await expect(c.getPod('x')).rejects.toMatchObject({ kind: 'tls', attempts: 1 });
    expect(sleeps).toEqual([]);
  });

  test('caFile works', async () => {
    const { c } = client({ entry: entryFor(alpha, { ca: undefined, caFile: alpha.caFile }) });
    await expect(c.getPod('x')).resolves.toBeUndefined();
  });

  test('insecureSkipTlsVerify: true works and warns loudly', async () => {
    const warnings: string[] = [];
    const logger: ClusterLogger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_o, msg) => warnings.push(msg),
      error: () => undefined,
    };
    const { c } = client({
      entry: entryFor(alpha, { ca: undefined, insecureSkipTlsVerify: true }),
      logger,
    });
    await expect(c.getPod('x')).resolves.toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining('TLS VERIFICATION IS OFF')]);
  });
});
