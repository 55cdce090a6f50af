/**
 * A tiny HTTPS server with its own throw-away CA, for exercising the real client-node + undici
 * stack in unit tests: every response is scripted by the test. It is not a mock of the library —
 * requests go over real TLS — and it counts TLS connections so keep-alive can be asserted.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { generateClusterCertificates } from '@podbus/kubernetes-emulator';

export interface TestCa {
  readonly caPem: string;
  /** A server certificate for 127.0.0.1/localhost signed by this CA. */
  issueServer(): Promise<{ certPem: string; keyPem: string }>;
}

/** A throw-away CA and its server certificate (the Kubernetes emulator's generator). */
export async function createTestCa(name = 'podbus-test-ca'): Promise<TestCa> {
  const certs = await generateClusterCertificates(name, ['127.0.0.1', 'localhost']);
  return {
    caPem: certs.caPem,
    issueServer: () =>
      Promise.resolve({ certPem: certs.serverCertPem, keyPem: certs.serverKeyPem }),
  };
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly userAgent: string | undefined;
  readonly body: string;
}

export type Handler = (req: RecordedRequest, res: ServerResponse) => void;

export interface TestApiServer {
  readonly url: string;
  readonly caPem: string;
  readonly requests: RecordedRequest[];
  /** TLS connections accepted so far. */
  readonly connections: number;
  setHandler(handler: Handler): void;
  close(): Promise<void>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function status(code: number, reason: string, message: string, details?: object): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export async function startTestApiServer(
  options: { ca?: TestCa; handler?: Handler } = {},
): Promise<TestApiServer> {
  const ca = options.ca ?? (await createTestCa());
  const { certPem, keyPem } = await ca.issueServer();
  let handler: Handler = options.handler ?? ((_req, res) => sendJson(res, 200, {}));
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    collect(req).then(
      (body) => {
        const recorded = {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          authorization: req.headers.authorization,
          userAgent: req.headers['user-agent'],
          body,
        };
        requests.push(recorded);
        handler(recorded, res);
      },
      () => res.destroy(),
    );
  });
  server.on('secureConnection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    caPem: ca.caPem,
    requests,
    get connections() {
      return connections;
    },
    setHandler(h) {
      handler = h;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function collect(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
