import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { CoreV1Api } from '@kubernetes/client-node';

import { abortableCall } from '../../../src/clusters/call-options.js';
import { plainCoreApi } from '../../support/plain-core-api.js';
import { sendJson, startTestApiServer, type TestApiServer } from './support/https-api-server.js';

let server: TestApiServer;
let api: CoreV1Api;

beforeAll(async () => {
  server = await startTestApiServer();
  api = plainCoreApi({ server: server.url, caPem: server.caPem, token: 'call-options-token' });
});
afterAll(async () => {
  await server.close();
});

describe('abortableCall: client-node per-call options with an AbortSignal', () => {
  test('ends a request the server never answers when the signal aborts', async () => {
    server.setHandler(() => undefined);
    const call = api.readNamespacedPod(
      { name: 'p', namespace: 'n' },
      abortableCall(AbortSignal.timeout(100)),
    );
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  test('keeps client-node’s own middleware: the request still carries its User-Agent', async () => {
    server.setHandler((_req, res) => sendJson(res, 200, { kind: 'Pod', metadata: { name: 'p' } }));
    server.requests.length = 0;
    await api.readNamespacedPod(
      { name: 'p', namespace: 'n' },
      abortableCall(new AbortController().signal),
    );
    expect(server.requests[0]?.userAgent).toMatch(/^kubernetes-client-javascript\//);
  });
});
