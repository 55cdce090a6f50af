/**
 * ClusterClient over real HTTPS (client-node + undici, unmodified) against the scripted test
 * server: keep-alive, headers, timeouts, retries, token rotation, TLS, watch. Sleeps between
 * retries are recorded, not slept.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';

import { CircuitBreaker } from '../../../src/clusters/circuit-breaker.js';
import { ClusterClient, type ClusterClientOptions } from '../../../src/clusters/cluster-client.js';
import type { ClusterEntry } from '../../../src/clusters/cluster-entry.js';
import type { ClusterEvents } from '../../../src/clusters/events.js';
import type { ClusterLogger } from '../../../src/clusters/logger.js';
import { Emitter } from '../../../src/shared/typed-events.js';
import { plainCoreApi } from '../../support/plain-core-api.js';
import {
  createTestCa,
  sendJson,
  startTestApiServer,
  status,
  type Handler,
  type TestApiServer,
} from './support/https-api-server.js';

const TOKEN = 'inline-token-abcdef';
let server: TestApiServer;
let dir: string;
const clients: ClusterClient[] = [];

function recordingLogger() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      lines.push({ level, obj, msg });
    };
  const logger: ClusterLogger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return { lines, logger };
}

function entry(over: Partial<ClusterEntry> = {}): ClusterEntry {
  return {
    name: 'alpha',
    server: server.url,
    token: TOKEN,
    ca: server.caPem,
    insecureSkipTlsVerify: false,
    namespace: 'challenges',
    weight: 1,
    maxActivePods: 0,
    labels: {},
    ...over,
  };
}

/**
 * A client whose sleeps are recorded, not slept: they move its clock (real time plus the
 * sleeps) instead, so a Retry-After pause and the rate limiter see the time as having passed.
 */
function client(over: Partial<ClusterClientOptions> & { entry?: ClusterEntry } = {}) {
  const sleeps: number[] = [];
  let slept = 0;
  const c = new ClusterClient({
    sleep: async (ms) => {
      sleeps.push(ms);
      slept += ms;
    },
    now: () => Date.now() + slept,
    random: () => 0.5,
    requestTimeoutMs: 2000,
    retry: { backoff: { baseMs: 100, maxMs: 1000, jitter: 'full' } },
    ...over,
    entry: over.entry ?? entry(),
  });
  clients.push(c);
  return { c, sleeps };
}

const podJson = (name: string, extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'challenges', resourceVersion: '7', uid: `uid-${name}`, ...extra },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
  status: { phase: 'Pending' },
});

/** Answers with the given handlers in turn, then repeats the last. */
function sequence(...handlers: Handler[]): Handler {
  let i = 0;
  return (req, res) => handlers[Math.min(i++, handlers.length - 1)]!(req, res);
}

const ok: Handler = (req, res) => sendJson(res, 200, podJson('p'));
const never: Handler = () => undefined;

beforeAll(async () => {
  server = await startTestApiServer();
  dir = await mkdtemp(join(tmpdir(), 'podbus-clusters-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
  server.setHandler(ok);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('connection reuse and headers', () => {
  test('sequential calls share keep-alive connections (the shared undici Agent is used)', async () => {
    const { c } = client();
    const before = server.connections;
    for (let i = 0; i < 10; i++) await c.getPod('p');
    expect(server.requests).toHaveLength(10);
    expect(server.connections - before).toBeLessThanOrEqual(2);
  });

  test('control: client-node without the shared agent opens a connection per call', async () => {
    const api = plainCoreApi({ server: server.url, caPem: server.caPem, token: TOKEN });
    const before = server.connections;
    for (let i = 0; i < 5; i++) await api.readNamespacedPod({ name: 'p', namespace: 'challenges' });
    expect(server.connections - before).toBe(5);
  });

  test('sends the bearer token and keeps the User-Agent middleware (merge strategy append)', async () => {
    const { c } = client();
    await c.getPod('p');
    const [req] = server.requests;
    expect(req?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.userAgent).toMatch(/^kubernetes-client-javascript\//);
    expect(req?.url).toBe('/api/v1/namespaces/challenges/pods/p');
  });
});

describe('operations', () => {
  test('createPod: 201 -> created, and the podCreated event says so', async () => {
    const created: string[] = [];
    const events = new Emitter<ClusterEvents>();
    events.on('podCreated', ({ cluster, pod }) =>
      created.push(`${cluster}/${pod.metadata!.name!}`),
    );
    const { c } = client({ events });
    server.setHandler((req, res) => sendJson(res, 201, JSON.parse(req.body)));
    const res = await c.createPod({ metadata: { name: 'p1' }, spec: { containers: [] } });
    expect(res).toMatchObject({ outcome: 'created', pod: { metadata: { name: 'p1' } } });
    expect(created).toEqual(['alpha/p1']);
    expect(server.requests[0]).toMatchObject({
      method: 'POST',
      url: '/api/v1/namespaces/challenges/pods?fieldManager=podbus',
    });
  });

  test('createPod: 409 -> already-exists result (not an error)', async () => {
    const { c } = client();
    server.setHandler((_r, res) =>
      sendJson(res, 409, status(409, 'AlreadyExists', 'pods "p1" already exists')),
    );
    await expect(c.createPod({ metadata: { name: 'p1' } })).resolves.toEqual({
      outcome: 'already-exists',
      afterAmbiguousAttempt: false,
    });
  });

  test('createPod: a timed-out attempt then 409 -> already-exists after an ambiguous attempt', async () => {
    const { c } = client({ requestTimeoutMs: 150 });
    server.setHandler(
      sequence(never, (_r, res) => sendJson(res, 409, status(409, 'AlreadyExists', 'exists'))),
    );
    await expect(c.createPod({ metadata: { name: 'p1' } })).resolves.toEqual({
      outcome: 'already-exists',
      afterAmbiguousAttempt: true,
    });
  });

  test('createPod: 422 -> rejected error with causes, no retry', async () => {
    const { c, sleeps } = client();
    server.setHandler((_r, res) =>
      sendJson(
        res,
        422,
        status(422, 'Invalid', 'Pod "p1" is invalid: spec.containers: Required value', {
          causes: [
            { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' },
          ],
        }),
      ),
    );
    await expect(c.createPod({ metadata: { name: 'p1' } })).rejects.toMatchObject({
      kind: 'rejected',
      causes: [{ field: 'spec.containers' }],
      attempts: 1,
      mayHaveTakenEffect: false,
    });
    expect(sleeps).toEqual([]);
  });

  test('getPod 404 -> undefined; deletePod 404 -> not-found; deletePod 200 -> deleted', async () => {
    const { c } = client();
    server.setHandler((_r, res) =>
      sendJson(res, 404, status(404, 'NotFound', 'pods "p" not found')),
    );
    await expect(c.getPod('p')).resolves.toBeUndefined();
    await expect(c.deletePod('p')).resolves.toBe('not-found');
    server.setHandler(ok);
    await expect(c.deletePod('p')).resolves.toBe('deleted');
  });

  test('listPods passes selectors and returns the list resourceVersion', async () => {
    const { c } = client();
    server.setHandler((_r, res) =>
      sendJson(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '42' },
        items: [podJson('a')],
      }),
    );
    const list = await c.listPods({
      labelSelector: 'app.kubernetes.io/managed-by=podbus',
      limit: 10,
    });
    expect(list.resourceVersion).toBe('42');
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a']);
    expect(list.continueToken).toBeUndefined();
    const url = new URL(server.requests[0]!.url, 'https://x');
    expect(url.searchParams.get('labelSelector')).toBe('app.kubernetes.io/managed-by=podbus');
    expect(url.searchParams.get('limit')).toBe('10');
  });

  test('checkAccess sends SelfSubjectAccessReviews and reports denied permissions', async () => {
    const { c } = client();
    server.setHandler((req, res) => {
      const review = JSON.parse(req.body);
      const verb = review.spec.resourceAttributes.verb;
      sendJson(res, 201, { ...review, status: { allowed: verb !== 'delete' } });
    });
    await expect(c.checkAccess()).resolves.toEqual({ allowed: false, denied: ['delete pods'] });
    expect(server.requests[0]!.url).toBe('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    expect(JSON.parse(server.requests[0]!.body).spec.resourceAttributes).toEqual({
      namespace: 'challenges',
      verb: 'create',
      group: '',
      resource: 'pods',
    });
  });

  test('checkAccess asks for subresources and other API groups as RBAC names them', async () => {
    const { c } = client();
    server.setHandler((req, res) => {
      const review = JSON.parse(req.body);
      sendJson(res, 201, {
        ...review,
        status: { allowed: review.spec.resourceAttributes.resource !== 'leases' },
      });
    });
    await expect(
      c.checkAccess([
        { verb: 'get', resource: 'pods/log' },
        { verb: 'update', resource: 'leases', group: 'coordination.k8s.io' },
      ]),
    ).resolves.toEqual({ allowed: false, denied: ['update leases'] });
    expect(server.requests.map((r) => JSON.parse(r.body).spec.resourceAttributes)).toEqual([
      { namespace: 'challenges', verb: 'get', group: '', resource: 'pods', subresource: 'log' },
      { namespace: 'challenges', verb: 'update', group: 'coordination.k8s.io', resource: 'leases' },
    ]);
  });

  test('version() reads /version', async () => {
    const { c } = client();
    server.setHandler((_r, res) =>
      sendJson(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0' }),
    );
    await expect(c.version()).resolves.toMatchObject({ gitVersion: 'v1.33.0' });
    expect(server.requests[0]!.url).toBe('/version');
  });
});

describe('timeouts and retries', () => {
  test('an unanswered request times out per attempt and is retried, then fails as timeout', async () => {
    const { c, sleeps } = client({ requestTimeoutMs: 150, retry: { maxAttempts: 3 } });
    server.setHandler(never);
    await expect(c.getPod('p')).rejects.toMatchObject({ kind: 'timeout', attempts: 3 });
    expect(server.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  test('429 with Retry-After: the wait is at least what the server asked', async () => {
    const { c, sleeps } = client();
    server.setHandler(
      sequence((_r, res) => {
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '2' });
        res.end('Too many requests, please try again later.\n');
      }, ok),
    );
    await expect(c.getPod('p')).resolves.toMatchObject({ metadata: { name: 'p' } });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(2000);
  });

  test('5xx are retried with backoff; success on the third attempt', async () => {
    const calls: number[] = [];
    const events = new Emitter<ClusterEvents>();
    events.on('call', (e) => calls.push(e.attempts));
    const { c, sleeps } = client({ events });
    const unavailable: Handler = (_r, res) =>
      sendJson(res, 503, status(503, 'ServiceUnavailable', 'apiserver is shutting down'));
    server.setHandler(sequence(unavailable, unavailable, ok));
    await expect(c.getPod('p')).resolves.toBeDefined();
    expect(sleeps).toEqual([50, 100]); // full jitter with random 0.5: half of 100, 200
    expect(calls).toEqual([3]);
  });

  test('a reset connection is retried', async () => {
    const { c } = client();
    server.setHandler(sequence((_r, res) => res.socket?.destroy(), ok));
    await expect(c.getPod('p')).resolves.toBeDefined();
  });

  test("the caller's signal aborts the call (and its backoff) as kind aborted", async () => {
    const { c } = client({
      sleep: (ms, signal) =>
        new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
    });
    server.setHandler((_r, res) => sendJson(res, 503, status(503, 'ServiceUnavailable', 'x')));
    const ac = new AbortController();
    const pending = c.getPod('p', { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
  });
});

describe('rate limit', () => {
  test('every request takes a token: past the burst, calls wait for the next one', async () => {
    const waits: number[] = [];
    const paced: string[] = [];
    const events = new Emitter<ClusterEvents>();
    events.on('rateLimited', (e) => paced.push(`${e.cluster} ${e.operation}`));
    const { c, sleeps } = client({ entry: entry({ qps: 1, burst: 2 }), events });
    const onRateLimitWait = (ms: number) => waits.push(ms);
    await c.getPod('p', { onRateLimitWait });
    await c.createPod({ metadata: { name: 'p' }, spec: { containers: [] } }, { onRateLimitWait });
    expect(sleeps).toEqual([]);
    await c.getPod('p', { onRateLimitWait });
    // The third request waited for the next token (about a second at qps 1), and said so.
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(500);
    expect(waits).toEqual(sleeps);
    expect(paced).toEqual(['alpha get']);
    expect(server.requests).toHaveLength(3);
  });

  test('an APF 429 with Retry-After holds the next calls to that cluster, not only its own retry', async () => {
    const paused: number[] = [];
    const events = new Emitter<ClusterEvents>();
    events.on('rateLimitPaused', (e) => paused.push(e.forMs));
    const { c, sleeps } = client({ events, retry: { maxAttempts: 1 } });
    server.setHandler(
      sequence((_r, res) => {
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '3' });
        res.end('Too many requests, please try again later.\n');
      }, ok),
    );
    await expect(c.getPod('a')).rejects.toMatchObject({ kind: 'throttled', retryAfterMs: 3000 });
    expect(paused).toEqual([3000]);
    // Another message's call, with tokens to spare: it waits out the server's 3 s first.
    const waits: number[] = [];
    await c.getPod('b', { onRateLimitWait: (ms) => waits.push(ms) });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(2_500);
    expect(waits).toEqual(sleeps);
  });

  test('a wait longer than a Retry-After podbus would sleep through fails at once, nothing sent', async () => {
    const { c, sleeps } = client({ entry: entry({ qps: 0.01, burst: 1 }) });
    await c.getPod('p');
    const error = await c.getPod('p').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'throttled', mayHaveTakenEffect: false });
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(30_000);
    expect(sleeps).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  test('qps 0 sends without pacing', async () => {
    const { c, sleeps } = client({ entry: entry({ qps: 0, burst: 1 }) });
    for (let i = 0; i < 5; i++) await c.getPod('p');
    expect(sleeps).toEqual([]);
    expect(server.requests).toHaveLength(5);
  });
});

describe('tokens', () => {
  test('tokenFile: a rotated file is used by the next call', async () => {
    const path = join(dir, 'token-rotate');
    await writeFile(path, 'file-token-1\n');
    let now = 0;
    const { c } = client({ entry: entry({ token: undefined, tokenFile: path }), now: () => now });
    await c.getPod('p');
    await writeFile(path, 'file-token-2-longer\n');
    now += 1000;
    await c.getPod('p');
    expect(server.requests.map((r) => r.authorization)).toEqual([
      'Bearer file-token-1',
      'Bearer file-token-2-longer',
    ]);
  });

  test('401 -> the token file is re-read at once and the call retried with the new token', async () => {
    const path = join(dir, 'token-401');
    await writeFile(path, 'old-token');
    const { c, sleeps } = client({
      entry: entry({ token: undefined, tokenFile: path }),
      now: () => 0,
    });
    server.setHandler((req, res) =>
      req.authorization === 'Bearer new-token'
        ? ok(req, res)
        : sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized')),
    );
    await c.getPod('p').catch(() => undefined); // caches old-token (clock frozen: no re-check)
    server.requests.length = 0;
    await writeFile(path, 'new-token');
    await expect(c.getPod('p')).resolves.toBeDefined();
    expect(server.requests.map((r) => r.authorization)).toEqual([
      'Bearer old-token',
      'Bearer new-token',
    ]);
    expect(sleeps).toEqual([]);
  });

  test('a revoked token: 401, one re-read finds nothing new -> unauthorized', async () => {
    const path = join(dir, 'token-revoked');
    await writeFile(path, 'revoked');
    const { c } = client({ entry: entry({ token: undefined, tokenFile: path }) });
    server.setHandler((_r, res) => sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized')));
    const err = await c.getPod('p').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unauthorized', status: 401, attempts: 1 });
    expect(server.requests).toHaveLength(1);
    expect(JSON.stringify(err)).not.toContain('revoked');
    expect(String(err)).not.toContain('revoked');
  });

  test('inline token: 401 is final at once', async () => {
    const { c } = client();
    server.setHandler((_r, res) => sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized')));
    await expect(c.getPod('p')).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(server.requests).toHaveLength(1);
  });
});

describe('TLS', () => {
  test('verification is on: a server from another CA fails as tls, without retries', async () => {
    const other = await startTestApiServer({ ca: await createTestCa('other') });
    try {
      const { c, sleeps } = client({ entry: entry({ server: other.url }) });
      await expect(c.getPod('p')).rejects.toMatchObject({ kind: 'tls', attempts: 1 });
      expect(sleeps).toEqual([]);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  test('insecureSkipTlsVerify: true connects anyway and warns loudly', async () => {
    const { lines, logger } = recordingLogger();
    const { c } = client({ entry: entry({ ca: undefined, insecureSkipTlsVerify: true }), logger });
    await expect(c.getPod('p')).resolves.toBeDefined();
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('TLS VERIFICATION IS OFF');
  });

  test('caFile is read; an http:// server or an unreadable caFile is a config error', async () => {
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, server.caPem);
    const { c } = client({ entry: entry({ ca: undefined, caFile }) });
    await expect(c.getPod('p')).resolves.toBeDefined();
    expect(() => client({ entry: entry({ server: 'http://127.0.0.1:1' }) })).toThrow(
      expect.objectContaining({ kind: 'config' }),
    );
    expect(() =>
      client({ entry: entry({ ca: undefined, caFile: join(dir, 'missing.pem') }) }),
    ).toThrow(expect.objectContaining({ kind: 'config' }));
  });
});

describe('circuit breaker gate', () => {
  test('an open breaker refuses calls without sending; failures are recorded', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({
      cluster: 'alpha',
      options: { failureThreshold: 2, openMs: 1000 },
      now: () => now,
    });
    const { c } = client({ breaker, retry: { maxAttempts: 1 } });
    server.setHandler((_r, res) => sendJson(res, 500, status(500, 'InternalError', 'boom')));
    await expect(c.getPod('p')).rejects.toMatchObject({ kind: 'server-error' });
    await expect(c.getPod('p')).rejects.toMatchObject({ kind: 'server-error' });
    expect(breaker.state).toBe('open');
    await expect(c.getPod('p')).rejects.toMatchObject({
      kind: 'circuit-open',
      mayHaveTakenEffect: false,
    });
    expect(server.requests).toHaveLength(2);
    now += 1000;
    server.setHandler(ok);
    await expect(c.getPod('p')).resolves.toBeDefined();
    expect(breaker.state).toBe('closed');
  });

  test('409 and 404 count as healthy answers', async () => {
    const breaker = new CircuitBreaker({ cluster: 'alpha', options: { failureThreshold: 1 } });
    const { c } = client({ breaker });
    server.setHandler((_r, res) =>
      sendJson(res, 404, status(404, 'NotFound', 'pods "p" not found')),
    );
    await c.getPod('p');
    server.setHandler((_r, res) => sendJson(res, 409, status(409, 'AlreadyExists', 'exists')));
    await c.createPod({ metadata: { name: 'p' } });
    expect(breaker.state).toBe('closed');
  });
});

describe('watch', () => {
  test('watchPods streams events through the shared agent with the token; stop() ends it', async () => {
    const { c } = client();
    let streamRes: ServerResponse | undefined;
    server.setHandler((req, res) => {
      if (!req.url.includes('watch=true')) return ok(req, res);
      streamRes = res;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: podJson('w1') }) + '\n');
    });
    await c.getPod('p'); // opens the pooled connection first
    const before = server.connections;
    const events: string[] = [];
    let doneWith: unknown = 'not yet';
    const handle = await c.watchPods(
      { labelSelector: 'app.kubernetes.io/managed-by=podbus', resourceVersion: '5' },
      (type, obj) =>
        events.push(`${type} ${(obj as { metadata: { name: string } }).metadata.name}`),
      (err) => (doneWith = err),
    );
    await waitFor(() => events.length === 1);
    streamRes!.write(JSON.stringify({ type: 'DELETED', object: podJson('w1') }) + '\n');
    await waitFor(() => events.length === 2);
    expect(events).toEqual(['ADDED w1', 'DELETED w1']);
    const watchReq = server.requests.find((r) => r.url.includes('watch=true'))!;
    expect(watchReq.authorization).toBe(`Bearer ${TOKEN}`);
    const url = new URL(watchReq.url, 'https://x');
    expect(url.pathname).toBe('/api/v1/namespaces/challenges/pods');
    expect(url.searchParams.get('resourceVersion')).toBe('5');
    expect(url.searchParams.get('allowWatchBookmarks')).toBe('true');
    // The test CA is known only to the client's own Agent (the KubeConfig has no CA), so the
    // watch could not have verified TLS through any other dispatcher; and it reused the pool.
    expect(server.connections - before).toBeLessThanOrEqual(1);
    handle.stop();
    await waitFor(() => doneWith !== 'not yet');
    expect(doneWith).toBeNull();
    streamRes!.end();
  });

  test('a watch refused with 403 ends with a classified error', async () => {
    const { c } = client();
    server.setHandler((_r, res) => sendJson(res, 403, status(403, 'Forbidden', 'no')));
    const done = await new Promise<unknown>((resolve) => {
      void c.watchPods({}, () => undefined, resolve);
    });
    expect(done).toMatchObject({ kind: 'forbidden', status: 403 });
  });
});

async function waitFor(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met');
}
