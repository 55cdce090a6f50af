/**
 * Classification of the errors client-node 2.x really throws: every error here is produced by
 * the unmodified library talking HTTPS to a scripted server (support/https-api-server.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { CoreV1Api } from '@kubernetes/client-node';

import { abortableCall } from '../../../src/clusters/call-options.js';
import { classifyError, parseRetryAfterHeader } from '../../../src/clusters/classify.js';
import { ClusterError } from '../../../src/clusters/errors.js';
import { plainCoreApi } from '../../support/plain-core-api.js';
import {
  createTestCa,
  sendJson,
  startTestApiServer,
  status,
  type Handler,
  type TestApiServer,
} from './support/https-api-server.js';

const TOKEN = 'sekrit-token-value-123';
let server: TestApiServer;
let api: CoreV1Api;

function rawClient(url: string, caPem?: string): CoreV1Api {
  return plainCoreApi({ server: url, ...(caPem !== undefined && { caPem }), token: TOKEN });
}

async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

async function classified(
  handler: Handler,
  call = () => api.readNamespacedPod({ namespace: 'ns', name: 'p' }),
) {
  server.setHandler(handler);
  return classifyError(await thrown(call), { cluster: 'alpha', now: () => 0 });
}

function expectSafe(err: ClusterError): void {
  expect(err.message).not.toContain(TOKEN);
  expect(JSON.stringify(err.toJSON())).not.toContain(TOKEN);
}

beforeAll(async () => {
  server = await startTestApiServer();
  api = rawClient(server.url, server.caPem);
});
afterAll(async () => server.close());

describe('HTTP errors (ApiException)', () => {
  test('409 AlreadyExists on create -> already-exists, not retryable, healthy', async () => {
    const err = await classified(
      (_r, res) =>
        sendJson(
          res,
          409,
          status(409, 'AlreadyExists', 'pods "p" already exists', { name: 'p', kind: 'pods' }),
        ),
      () => api.createNamespacedPod({ namespace: 'ns', body: { metadata: { name: 'p' } } }),
    );
    expect(err).toMatchObject({
      kind: 'already-exists',
      status: 409,
      reason: 'AlreadyExists',
      cluster: 'alpha',
    });
    expect(err.retryable).toBe(false);
    expect(err.healthImpact).toBe('success');
    expect(err.message).toBe('cluster alpha: 409 pods "p" already exists');
    expectSafe(err);
  });

  test('422 Invalid -> rejected with causes', async () => {
    const causes = [
      {
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: 'spec.containers[0].image',
      },
    ];
    const err = await classified(
      (_r, res) =>
        sendJson(
          res,
          422,
          status(422, 'Invalid', 'Pod "p" is invalid: spec.containers[0].image: Required value', {
            name: 'p',
            kind: 'Pod',
            causes,
          }),
        ),
      () => api.createNamespacedPod({ namespace: 'ns', body: { metadata: { name: 'p' } } }),
    );
    expect(err.kind).toBe('rejected');
    expect(err.causes).toEqual(causes);
    expect(err.retryable).toBe(false);
  });

  test('400 BadRequest -> rejected', async () => {
    const err = await classified((_r, res) =>
      sendJson(
        res,
        400,
        status(400, 'BadRequest', 'the namespace of the provided object does not match'),
      ),
    );
    expect(err.kind).toBe('rejected');
  });

  test('404 namespaces "x" not found -> namespace-missing (unhealthy)', async () => {
    const err = await classified((_r, res) =>
      sendJson(
        res,
        404,
        status(404, 'NotFound', 'namespaces "ns" not found', { name: 'ns', kind: 'namespaces' }),
      ),
    );
    expect(err.kind).toBe('namespace-missing');
    expect(err.healthImpact).toBe('failure');
  });

  test('404 pods "p" not found -> not-found', async () => {
    const err = await classified((_r, res) =>
      sendJson(
        res,
        404,
        status(404, 'NotFound', 'pods "p" not found', { name: 'p', kind: 'pods' }),
      ),
    );
    expect(err.kind).toBe('not-found');
    expect(err.healthImpact).toBe('success');
  });

  test('401 (body undefined in client-node) -> unauthorized', async () => {
    const raw = await (async () => {
      server.setHandler((_r, res) =>
        sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized')),
      );
      return thrown(() => api.readNamespacedPod({ namespace: 'ns', name: 'p' }));
    })();
    expect((raw as { body?: unknown }).body).toBeUndefined();
    const err = classifyError(raw, { cluster: 'alpha' });
    expect(err).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(err.message).toBe('cluster alpha: 401 Unauthorized');
    expect(err.retryable).toBe(false);
    expect(err.healthImpact).toBe('failure');
    expectSafe(err);
  });

  test('403 -> forbidden with the server message', async () => {
    const msg =
      'pods is forbidden: User "system:serviceaccount:ns:sa" cannot create resource "pods" in API group "" in the namespace "ns"';
    const err = await classified((_r, res) =>
      sendJson(res, 403, status(403, 'Forbidden', msg, { kind: 'pods' })),
    );
    expect(err.kind).toBe('forbidden');
    expect(err.message).toContain('cannot create resource "pods"');
  });

  /**
   * 403 on a pod create, each body as kube-apiserver 1.32 writes it (specs/kube-api.md, "403
   * Forbidden: who said it"): the admission plugins' own messages, `admission.NewForbidden`'s
   * `pods "<name>" is forbidden: ` prefix and details, RBAC's nameless form, a webhook's Status.
   */
  const pod = { name: 'web-1', kind: 'pods' };
  const forbidden403: [string, object, string, string][] = [
    [
      'RBAC',
      status(
        403,
        'Forbidden',
        'pods is forbidden: User "system:serviceaccount:challenges:podbus" cannot create resource "pods" in API group "" in the namespace "challenges"',
        { kind: 'pods' },
      ),
      'forbidden',
      'failure',
    ],
    [
      'NamespaceLifecycle, namespace terminating',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: unable to create new content in namespace challenges because it is being terminated',
        {
          ...pod,
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: 'namespace challenges is being terminated',
              field: 'metadata.namespace',
            },
          ],
        },
      ),
      'forbidden',
      'failure',
    ],
    [
      'ResourceQuota, exceeded',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: exceeded quota: challenges, requested: limits.cpu=1, used: limits.cpu=40, limited: limits.cpu=40',
        pod,
      ),
      'quota-exceeded',
      'neutral',
    ],
    [
      'ResourceQuota, usage not counted yet',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: status unknown for quota: challenges, resources: limits.cpu,pods',
        pod,
      ),
      'quota-exceeded',
      'neutral',
    ],
    [
      'ResourceQuota, requests/limits missing',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: failed quota: challenges: must specify limits.cpu for: web-1-01; limits.memory for: web-1-01',
        pod,
      ),
      'rejected',
      'success',
    ],
    [
      'LimitRanger, one violation',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: maximum cpu usage per Container is 2, but limit is 4',
        pod,
      ),
      'rejected',
      'success',
    ],
    [
      'LimitRanger, several violations',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: [minimum memory usage per Container is 64Mi, but request is 32Mi, cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000]',
        pod,
      ),
      'rejected',
      'success',
    ],
    [
      'PodSecurity',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "web-1-01" must set securityContext.runAsNonRoot=true)',
        pod,
      ),
      'rejected',
      'success',
    ],
    [
      'an admission webhook',
      {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'admission webhook "validation.gatekeeper.sh" denied the request: [require-team] you must provide labels: {"team"}',
        reason: 'Forbidden',
        code: 403,
      },
      'rejected',
      'success',
    ],
    [
      'another admission plugin',
      status(
        403,
        'Forbidden',
        'pods "web-1" is forbidden: no PriorityClass with name gold was found',
        pod,
      ),
      'admission-refused',
      'neutral',
    ],
  ];

  test.each(forbidden403)(
    '403 from %s -> its own kind, the server text kept',
    async (_who, body, kind, health) => {
      const err = await classified(
        (_r, res) => sendJson(res, 403, body),
        () =>
          api.createNamespacedPod({
            namespace: 'challenges',
            body: { metadata: { name: 'web-1' } },
          }),
      );
      expect(err).toMatchObject({ kind, status: 403, reason: 'Forbidden' });
      expect(err.detail).toBe(`403 ${(body as { message: string }).message}`);
      expect(err.healthImpact).toBe(health);
      expect(err.retryable).toBe(false);
      expect(err.mayHaveTakenEffect).toBe(false);
    },
  );

  test('429 plain text with Retry-After -> throttled, retryAfterMs from the header', async () => {
    const err = await classified((_r, res) => {
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '3' });
      res.end('Too many requests, please try again later.\n');
    });
    expect(err).toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 3000 });
    expect(err.message).toBe('cluster alpha: 429 Too many requests, please try again later.');
    expect(err.retryable).toBe(true);
    expect(err.healthImpact).toBe('neutral');
  });

  test('500 ServerTimeout with details.retryAfterSeconds -> server-error, retryAfterMs', async () => {
    const err = await classified((_r, res) =>
      sendJson(
        res,
        500,
        status(
          500,
          'ServerTimeout',
          'The create operation against pods could not be completed at this time',
          {
            kind: 'pods',
            retryAfterSeconds: 2,
          },
        ),
      ),
    );
    expect(err).toMatchObject({
      kind: 'server-error',
      reason: 'ServerTimeout',
      retryAfterMs: 2000,
    });
    expect(err.retryable).toBe(true);
  });

  test('503 with Retry-After header -> server-error', async () => {
    const err = await classified((_r, res) =>
      sendJson(res, 503, status(503, 'ServiceUnavailable', 'apiserver is shutting down'), {
        'retry-after': '1',
      }),
    );
    expect(err).toMatchObject({ kind: 'server-error', status: 503, retryAfterMs: 1000 });
  });

  test('504 without Retry-After -> server-error without retryAfterMs', async () => {
    const err = await classified((_r, res) =>
      sendJson(
        res,
        504,
        status(504, 'Timeout', 'Timeout: request did not complete within requested timeout'),
      ),
    );
    expect(err.kind).toBe('server-error');
    expect(err.retryAfterMs).toBeUndefined();
  });

  test('410 Gone -> expired', async () => {
    const err = await classified((_r, res) =>
      sendJson(res, 410, status(410, 'Expired', 'too old resource version')),
    );
    expect(err.kind).toBe('expired');
  });

  test('409 Conflict (not AlreadyExists) -> conflict', async () => {
    const err = await classified((_r, res) =>
      sendJson(res, 409, status(409, 'Conflict', 'Operation cannot be fulfilled')),
    );
    expect(err.kind).toBe('conflict');
  });
});

describe('transport errors (TypeError fetch failed + cause)', () => {
  test('connection reset by the server -> connection (UND_ERR_SOCKET)', async () => {
    const err = await classified((_r, res) => res.socket?.destroy());
    expect(err).toMatchObject({ kind: 'connection', code: 'UND_ERR_SOCKET' });
    expect(err.retryable).toBe(true);
    expect(err.healthImpact).toBe('failure');
  });

  test('connection refused -> connection (ECONNREFUSED)', async () => {
    const closed = await startTestApiServer();
    const url = closed.url;
    await closed.close();
    const raw = await thrown(() =>
      rawClient(url, closed.caPem).readNamespacedPod({ namespace: 'ns', name: 'p' }),
    );
    const err = classifyError(raw, { cluster: 'alpha' });
    expect(err).toMatchObject({ kind: 'connection', code: 'ECONNREFUSED' });
  });

  test('server certificate from another CA -> tls, not retryable', async () => {
    const other = await startTestApiServer({ ca: await createTestCa('someone-else') });
    try {
      const raw = await thrown(() =>
        rawClient(other.url, server.caPem).readNamespacedPod({ namespace: 'ns', name: 'p' }),
      );
      const err = classifyError(raw, { cluster: 'alpha' });
      expect(err).toMatchObject({ kind: 'tls', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('ca/caFile');
    } finally {
      await other.close();
    }
  });
});

describe('aborts', () => {
  test('AbortSignal.timeout fires (no answer) -> timeout (DOMException TimeoutError)', async () => {
    server.setHandler(() => undefined); // never answers
    const raw = await thrown(() =>
      api.readNamespacedPod(
        { namespace: 'ns', name: 'p' },
        abortableCall(AbortSignal.timeout(200)),
      ),
    );
    expect((raw as Error).name).toBe('TimeoutError');
    const err = classifyError(raw, { cluster: 'alpha' });
    expect(err.kind).toBe('timeout');
    expect(err.retryable).toBe(true);
  });

  test("the caller's own signal -> aborted, neutral for health", async () => {
    server.setHandler(() => undefined);
    const caller = new AbortController();
    const pending = thrown(() =>
      api.readNamespacedPod(
        { namespace: 'ns', name: 'p' },
        abortableCall(AbortSignal.any([caller.signal, AbortSignal.timeout(5000)])),
      ),
    );
    caller.abort();
    const err = classifyError(await pending, { cluster: 'alpha', callerSignal: caller.signal });
    expect(err.kind).toBe('aborted');
    expect(err.retryable).toBe(false);
    expect(err.healthImpact).toBe('neutral');
  });
});

describe('other inputs', () => {
  test('watch non-200 (Error with statusCode) is classified by status', () => {
    const e = Object.assign(new Error('Forbidden'), { statusCode: 403 });
    expect(classifyError(e, { cluster: 'a' }).kind).toBe('forbidden');
  });

  test('ClusterError passes through unchanged', () => {
    const e = new ClusterError({ kind: 'config', cluster: 'a', message: 'x' });
    expect(classifyError(e, { cluster: 'a' })).toBe(e);
  });

  test('AggregateError cause (several addresses tried) -> connection with the first code', () => {
    const cause = new AggregateError([
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('y'), { code: 'ENETUNREACH' }),
    ]);
    const e = new TypeError('fetch failed', { cause });
    expect(classifyError(e, { cluster: 'a' })).toMatchObject({
      kind: 'connection',
      code: 'ECONNREFUSED',
    });
  });

  test('undici connect timeout -> timeout', () => {
    const e = new TypeError('fetch failed', {
      cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
    });
    expect(classifyError(e, { cluster: 'a' }).kind).toBe('timeout');
  });

  test('anything else -> unknown, not retryable', () => {
    const err = classifyError(new RangeError('boom'), { cluster: 'a' });
    expect(err.kind).toBe('unknown');
    expect(err.retryable).toBe(false);
  });

  test('Retry-After as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterHeader('Thu, 01 Jan 2026 00:00:05 GMT', () => now)).toBe(5000);
    expect(parseRetryAfterHeader('7', () => now)).toBe(7000);
    expect(parseRetryAfterHeader('soon', () => now)).toBeUndefined();
  });
});
