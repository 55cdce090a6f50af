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
    const start = Date.now();
    const e = await transportError(
      core.listNamespacedPod({ namespace: c1.namespace }, options(1500)),
    );
    expect(Date.now() - start).toBeGreaterThanOrEqual(700);
    expect(['UND_ERR_CONNECT_TIMEOUT', undefined]).toContain(e.code);
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
