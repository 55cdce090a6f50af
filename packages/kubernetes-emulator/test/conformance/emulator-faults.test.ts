/**
 * Emulator-only: fault injection as clients see it through client-node with a shared keep-alive
 * dispatcher (spec: middleware + undici Agent) — APF 429 with Retry-After, per-verb 5xx, latency,
 * connection reset, black-hole, down/up on the same port, token revocation — and the admin
 * endpoint that switches them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  KubeConfig,
  Observable,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '../../src/index.js';
import { expectApiError } from './support/target.js';

let emulator: KubernetesEmulator;
let c1: EmulatedCluster;
let c2: EmulatedCluster;
let agent: Agent;
let core: CoreV1Api;
let adminCore: CoreV1Api;

function options(timeoutMs = 3000): ConfigurationOptions {
  return {
    middlewareMergeStrategy: 'append',
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          ctx.setDispatcher(agent);
          return new Observable(Promise.resolve(ctx));
        },
        post: (r) => new Observable(Promise.resolve(r)),
      },
    ],
  } as ConfigurationOptions;
}

function clientFor(cluster: EmulatedCluster, token: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: cluster.name,
      server: cluster.server,
      caData: Buffer.from(cluster.caPem).toString('base64'),
      skipTLSVerify: false,
    },
    { name: `${cluster.name}-${token.slice(-8)}`, token },
  );
  return kc.makeApiClient(CoreV1Api);
}

/** The transport-level error code behind client-node 2.x's `TypeError('fetch failed')`. */
async function transportError(
  p: Promise<unknown>,
): Promise<{ name: string; code: string | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; cause?: { code?: string }; code?: unknown };
    return {
      name: err.name,
      code: err.cause?.code ?? (typeof err.code === 'string' ? err.code : undefined),
    };
  }
  throw new Error('expected a transport failure');
}

beforeAll(async () => {
  emulator = await startKubernetesEmulator({
    clusters: [{ name: 'faulty' }, { name: 'other' }],
    seed: 42,
  });
  c1 = emulator.cluster('faulty');
  c2 = emulator.cluster('other');
  agent = new Agent({ connect: { ca: [c1.caPem, c2.caPem], timeout: 800 } });
  core = clientFor(c1, c1.serviceAccountToken);
  adminCore = clientFor(c1, c1.adminToken);
});
afterAll(async () => {
  await agent?.close();
  await emulator?.stop();
});
beforeEach(async () => {
  await c1.faults.clear();
});

describe('APF throttling', () => {
  it('429 with a plain-text body and Retry-After in ApiException headers, for `count` requests', async () => {
    await c1.faults.set({ throttle: { retryAfterSeconds: 7, count: 2 } });
    for (let i = 0; i < 2; i++) {
      const e = await expectApiError(
        core.listNamespacedPod({ namespace: c1.namespace }, options()),
      );
      expect(e.code).toBe(429);
      expect(e.body).toBe('Too many requests, please try again later.\n');
      expect(e.headers['retry-after']).toBe('7');
      expect(e.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
    await expect(
      core.listNamespacedPod({ namespace: c1.namespace }, options()),
    ).resolves.toBeDefined();
    expect(c1.faults.get().throttle).toBeUndefined();
  });

  it('with a rate, throttles that share of requests (seeded), each counting against count', async () => {
    await c1.faults.set({ throttle: { retryAfterSeconds: 2, rate: 0.5, count: 3 } });
    let throttled = 0;
    let served = 0;
    for (let i = 0; i < 40; i++) {
      try {
        await core.listNamespacedPod({ namespace: c1.namespace }, options());
        served++;
      } catch (e) {
        expect((e as { code?: number }).code).toBe(429);
        throttled++;
      }
    }
    expect(throttled).toBe(3);
    expect(served).toBe(37);
    expect(c1.faults.get().throttle).toBeUndefined();
  });

  it('throttles after authentication: a bad token still gets 401', async () => {
    await c1.faults.set({ throttle: { retryAfterSeconds: 3 } });
    const e = await expectApiError(
      clientFor(c1, 'bogus').listNamespacedPod({ namespace: c1.namespace }, options()),
    );
    expect(e.code).toBe(401);
  });
});

describe('injected 5xx per verb', () => {
  it('fails only the configured verb with the configured status and Status body', async () => {
    await c1.faults.set({ errorRate: { create: { rate: 1, status: 503 } } });
    const e = await expectApiError(
      core.createNamespacedPod(
        {
          namespace: c1.namespace,
          body: {
            metadata: { name: 'x503' },
            spec: { containers: [{ name: 'c', image: 'busybox' }] },
          },
        },
        options(),
      ),
    );
    expect(e.code).toBe(503);
    expect(e.status).toMatchObject({ reason: 'ServiceUnavailable', code: 503 });
    expect(e.headers['retry-after']).toBe('1');
    await expect(
      core.listNamespacedPod({ namespace: c1.namespace }, options()),
    ).resolves.toBeDefined();
    expect(c1.getPod(c1.namespace, 'x503')).toBeUndefined();
  });

  it('504 Timeout carries details {} and 500 an InternalError', async () => {
    await c1.faults.set({
      errorRate: { list: { rate: 1, status: 504 }, get: { rate: 1, status: 500 } },
    });
    const timeout = await expectApiError(
      core.listNamespacedPod({ namespace: c1.namespace }, options()),
    );
    expect(timeout.code).toBe(504);
    expect(timeout.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Timeout: request did not complete within requested timeout - context deadline exceeded',
      reason: 'Timeout',
      details: {},
      code: 504,
    });
    const internal = await expectApiError(
      core.readNamespacedPod({ name: 'any', namespace: c1.namespace }, options()),
    );
    expect(internal.code).toBe(500);
    expect(internal.status!.reason).toBe('InternalError');
  });

  it('draws failures from the seed: the same seed fails the same requests', async () => {
    const outcomes = async (): Promise<string> => {
      const emu = await startKubernetesEmulator({ clusters: [{ name: 'seeded' }], seed: 7 });
      try {
        const c = emu.cluster('seeded');
        const ag = new Agent({ connect: { ca: c.caPem } });
        await c.faults.set({ errorRate: { '*': { rate: 0.5, status: 500 } } });
        let pattern = '';
        for (let i = 0; i < 24; i++) {
          const r = await fetch(`${c.server}/api/v1/namespaces/${c.namespace}/pods`, {
            headers: { Authorization: `Bearer ${c.adminToken}` },
            dispatcher: ag,
          });
          await r.arrayBuffer();
          pattern += r.status === 500 ? 'x' : '.';
        }
        await ag.close();
        return pattern;
      } finally {
        await emu.stop();
      }
    };
    const a = await outcomes();
    const b = await outcomes();
    expect(a).toBe(b);
    expect(a).toContain('x');
    expect(a).toContain('.');
  });
});

describe('ambiguous writes: committed, but the client does not learn it', () => {
  const pod = (name: string) => ({
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  });
  const create = (name: string, timeoutMs = 3000) =>
    core.createNamespacedPod({ namespace: c1.namespace, body: pod(name) }, options(timeoutMs));
  const read = (name: string) =>
    core.readNamespacedPod({ name, namespace: c1.namespace }, options());

  it('reset after the write: the client sees a transport error, a later GET finds the pod', async () => {
    await c1.faults.set({ ambiguousWrite: { create: { rate: 1, outcome: 'reset' } } });
    const e = await transportError(create('lost-reset'));
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(e.code);
    const stored = await read('lost-reset');
    expect(stored.metadata!.name).toBe('lost-reset');
    // The client's retry meets the pod its first attempt created.
    const again = await expectApiError(create('lost-reset'));
    expect(again.code).toBe(409);
    expect(again.status!.reason).toBe('AlreadyExists');
  });

  it('answer delayed past the client timeout: TimeoutError, and the pod exists', async () => {
    await c1.faults.set({
      ambiguousWrite: { create: { rate: 1, outcome: 'delay', delayMs: 5000 } },
    });
    const e = await transportError(create('lost-late', 500));
    expect(e.name).toBe('TimeoutError');
    expect((await read('lost-late')).metadata!.name).toBe('lost-late');
  });

  it('500 ServerTimeout or 504 Timeout after the write: the pod exists all the same', async () => {
    await c1.faults.set({ ambiguousWrite: { create: { rate: 1, outcome: 500 } } });
    const internal = await expectApiError(create('lost-500'));
    expect(internal.code).toBe(500);
    expect(internal.status).toMatchObject({
      reason: 'ServerTimeout',
      message:
        'The create operation against pods could not be completed at this time, please try again.',
      details: { name: 'create', kind: 'pods', retryAfterSeconds: 2 },
    });
    expect(internal.headers['retry-after']).toBe('2');
    await c1.faults.set({ ambiguousWrite: { create: { rate: 1, outcome: 504 } } });
    const timeout = await expectApiError(create('lost-504'));
    expect(timeout.code).toBe(504);
    expect(timeout.status!.reason).toBe('Timeout');
    expect((await read('lost-500')).metadata!.name).toBe('lost-500');
    expect((await read('lost-504')).metadata!.name).toBe('lost-504');
  });

  it('touches only successful writes of the chosen verb and resources', async () => {
    await create('already-there');
    await c1.faults.set({
      ambiguousWrite: { '*': { rate: 1, outcome: 500, resources: ['pods'] } },
    });
    // A write that fails is answered as usual: nothing was committed.
    expect((await expectApiError(create('already-there'))).code).toBe(409);
    // Reads and other resources are untouched.
    expect((await read('already-there')).metadata!.name).toBe('already-there');
    await expect(
      adminCore.createNamespacedConfigMap(
        { namespace: c1.namespace, body: { metadata: { name: 'untouched' } } },
        options(),
      ),
    ).resolves.toBeDefined();
    // A delete is a write too: committed, answered with a 500.
    expect(
      (
        await expectApiError(
          core.deleteNamespacedPod(
            { name: 'already-there', namespace: c1.namespace, gracePeriodSeconds: 0 },
            options(),
          ),
        )
      ).code,
    ).toBe(500);
    expect(c1.getPod(c1.namespace, 'already-there')).toBeUndefined();
  });

  it('draws from the seed: the same seed loses the same answers, and every write is committed', async () => {
    const run = async (): Promise<{ pattern: string; stored: number }> => {
      const emu = await startKubernetesEmulator({ clusters: [{ name: 'replay' }], seed: 11 });
      try {
        const c = emu.cluster('replay');
        const ag = new Agent({ connect: { ca: c.caPem } });
        await c.faults.set({
          ambiguousWrite: { create: { rate: 0.4, outcome: 504 } },
          errorRate: { create: { rate: 0.2, status: 503 } },
        });
        let pattern = '';
        for (let i = 0; i < 30; i++) {
          const r = await fetch(`${c.server}/api/v1/namespaces/${c.namespace}/pods`, {
            method: 'POST',
            headers: {
              Authorization: `Bearer ${c.adminToken}`,
              'Content-Type': 'application/json',
            },
            body: JSON.stringify(pod(`p-${i}`)),
            dispatcher: ag,
          });
          await r.arrayBuffer();
          pattern += r.status === 201 ? '.' : r.status === 504 ? 'a' : 'x';
        }
        await ag.close();
        return { pattern, stored: c.listPods(c.namespace).length };
      } finally {
        await emu.stop();
      }
    };
    const a = await run();
    const b = await run();
    expect(a.pattern).toBe(b.pattern);
    expect(a.pattern).toMatch(/a/);
    expect(a.pattern).toMatch(/x/);
    expect(a.pattern).toMatch(/\./);
    // Ambiguous writes were committed; injected 503s were not.
    expect(a.stored).toBe(30 - a.pattern.split('x').length + 1);
  });
});

describe('quota-full periods', () => {
  it('refuses pod creates with the real quota 403 while set, and only pod creates', async () => {
    await c1.faults.set({ quotaFull: { quota: 'challenges' } });
    const body = {
      metadata: { name: 'q-full' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    };
    const e = await expectApiError(
      core.createNamespacedPod({ namespace: c1.namespace, body }, options()),
    );
    expect(e.code).toBe(403);
    const used = c1
      .listPods(c1.namespace)
      .filter((p) => p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed').length;
    expect(e.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `pods "q-full" is forbidden: exceeded quota: challenges, requested: pods=1, used: pods=${used}, limited: pods=${used}`,
      reason: 'Forbidden',
      details: { name: 'q-full', kind: 'pods' },
      code: 403,
    });
    await expect(
      adminCore.createNamespacedConfigMap(
        { namespace: c1.namespace, body: { metadata: { name: 'q-full-cm' } } },
        options(),
      ),
    ).resolves.toBeDefined();
    await c1.faults.set({ quotaFull: null });
    await expect(
      core.createNamespacedPod({ namespace: c1.namespace, body }, options()),
    ).resolves.toBeDefined();
  });
});

describe('latency', () => {
  it('delays every request by at least latencyMs', async () => {
    await c1.faults.set({ latencyMs: 300, jitterMs: 50 });
    const start = Date.now();
    await core.listNamespacedPod({ namespace: c1.namespace }, options());
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);
  });
});

describe('connection faults', () => {
  it('connectionReset: the client sees ECONNRESET', async () => {
    await c1.faults.set({ connectionReset: true });
    const e = await transportError(core.listNamespacedPod({ namespace: c1.namespace }, options()));
    expect(e.code).toBe('ECONNRESET');
  });

  it('blackhole: accepted but never answered, so the client times out', async () => {
    await c1.faults.set({ blackhole: true });
    const accepted = c1.stats.connections;
    const requests = c1.stats.requests;
    const e = await transportError(
      core.listNamespacedPod({ namespace: c1.namespace }, options(1500)),
    );
    // Not refused (the connection was accepted), not answered (no request was served); the
    // client gives up on its own (connect timeout, or its abort signal on a kept-alive socket).
    // undici's coarse timers fire a connect timeout early, so the elapsed time is not asserted.
    expect(c1.stats.requests).toBe(requests);
    expect(['UND_ERR_CONNECT_TIMEOUT', undefined]).toContain(e.code);
    if (e.code === 'UND_ERR_CONNECT_TIMEOUT')
      expect(c1.stats.connections).toBeGreaterThan(accepted);
    expect(['TypeError', 'TimeoutError']).toContain(e.name);
  });

  it('down refuses connections (ECONNREFUSED); up serves again on the same port', async () => {
    const port = new URL(c1.server).port;
    await c1.faults.set({ down: true });
    let refused: { code: string | undefined } | undefined;
    // A kept-alive socket is dropped first; a fresh connection is then refused.
    for (let i = 0; i < 3 && refused?.code !== 'ECONNREFUSED'; i++)
      refused = await transportError(
        core.listNamespacedPod({ namespace: c1.namespace }, options()),
      );
    expect(refused!.code).toBe('ECONNREFUSED');
    await c1.faults.set({ down: false });
    expect(new URL(c1.server).port).toBe(port);
    await expect(
      core.listNamespacedPod({ namespace: c1.namespace }, options()),
    ).resolves.toBeDefined();
  });
});

describe('token revocation', () => {
  it('a revoked token gets 401 from then on', async () => {
    const token = c1.issueToken({ namespace: c1.namespace, serviceAccount: 'podbus' });
    const client = clientFor(c1, token);
    await expect(
      client.listNamespacedPod({ namespace: c1.namespace }, options()),
    ).resolves.toBeDefined();
    c1.revokeToken(token);
    const e = await expectApiError(
      client.listNamespacedPod({ namespace: c1.namespace }, options()),
    );
    expect(e.code).toBe(401);
  });

  it('an expired token gets 401', async () => {
    const token = c1.issueToken({
      namespace: c1.namespace,
      serviceAccount: 'podbus',
      expiresInSeconds: 1,
    });
    const client = clientFor(c1, token);
    await expect(
      client.listNamespacedPod({ namespace: c1.namespace }, options()),
    ).resolves.toBeDefined();
    await new Promise((r) => setTimeout(r, 1100));
    const e = await expectApiError(
      client.listNamespacedPod({ namespace: c1.namespace }, options()),
    );
    expect(e.code).toBe(401);
  });
});

describe('admin endpoint', () => {
  const admin = async (
    cluster: EmulatedCluster,
    path: string,
    init: { method?: string; body?: unknown; token?: string } = {},
  ) => {
    const res = await fetch(`${cluster.server}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        Authorization: `Bearer ${init.token ?? cluster.adminToken}`,
        'Content-Type': 'application/json',
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      dispatcher: agent,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('needs the admin token', async () => {
    expect((await admin(c1, '/_emulator/faults', { token: c1.serviceAccountToken })).status).toBe(
      401,
    );
  });

  it('merges, reads, replaces and clears faults; injected faults never hit the admin path', async () => {
    expect(
      (
        await admin(c1, '/_emulator/faults', {
          method: 'PATCH',
          body: { latencyMs: 10, errorRate: { '*': { rate: 1, status: 500 } } },
        })
      ).status,
    ).toBe(200);
    expect(c1.faults.get()).toEqual({
      latencyMs: 10,
      errorRate: { '*': { rate: 1, status: 500 } },
    });
    const get = await admin(c1, '/_emulator/faults');
    expect(get.json).toEqual({ latencyMs: 10, errorRate: { '*': { rate: 1, status: 500 } } });
    await admin(c1, '/_emulator/faults', {
      method: 'PUT',
      body: { throttle: { retryAfterSeconds: 2 } },
    });
    expect(c1.faults.get()).toEqual({ throttle: { retryAfterSeconds: 2 } });
    await admin(c1, '/_emulator/faults', { method: 'DELETE' });
    expect(c1.faults.get()).toEqual({});
  });

  it('rejects invalid faults with 400 naming the problem', async () => {
    const r = await admin(c1, '/_emulator/faults', {
      method: 'PATCH',
      body: { errorRate: { list: { rate: 2, status: 500 } } },
    });
    expect(r.status).toBe(400);
    expect(String(r.json.error)).toContain('errorRate.list.rate');
    const unknown = await admin(c1, '/_emulator/faults', {
      method: 'PATCH',
      body: { explode: true },
    });
    expect(unknown.status).toBe(400);
  });

  it('brings a down cluster back through another cluster of the same emulator', async () => {
    await admin(c1, '/_emulator/faults', { method: 'PATCH', body: { down: true } });
    await transportError(core.listNamespacedPod({ namespace: c1.namespace }, options()));
    const r = await admin(c2, '/_emulator/clusters/faulty/faults', {
      method: 'DELETE',
      token: c1.adminToken,
    });
    expect(r.status).toBe(200);
    await expect(
      core.listNamespacedPod({ namespace: c1.namespace }, options()),
    ).resolves.toBeDefined();
  });

  it('revokes tokens and reports request statistics', async () => {
    const token = c1.issueToken({ namespace: c1.namespace, serviceAccount: 'podbus' });
    await admin(c1, '/_emulator/tokens/revoke', { method: 'POST', body: { token } });
    const e = await expectApiError(
      clientFor(c1, token).listNamespacedPod({ namespace: c1.namespace }, options()),
    );
    expect(e.code).toBe(401);
    const stats = await admin(c1, '/_emulator/stats');
    expect(stats.json.requests).toBeGreaterThan(0);
  });
});

describe('initial faults from the cluster config', () => {
  it('applies them before the first request', async () => {
    const emu = await startKubernetesEmulator({
      clusters: [{ name: 'preset', faults: { throttle: { retryAfterSeconds: 4, count: 1 } } }],
    });
    try {
      const c = emu.cluster('preset');
      const ag = new Agent({ connect: { ca: c.caPem } });
      const r = await fetch(`${c.server}/api/v1/namespaces/default/pods`, {
        headers: { Authorization: `Bearer ${c.adminToken}` },
        dispatcher: ag,
      });
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('4');
      await r.text();
      await ag.close();
    } finally {
      await emu.stop();
    }
  });
});
