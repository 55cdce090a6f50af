/**
 * A tiny HTTPS server with its own throw-away CA, for exercising the real client-node + undici
 * stack in unit tests: every response is scripted by the test. It is not a mock of the library —
 * requests go over real TLS — and it counts TLS connections so keep-alive can be asserted.
 */
import { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { installReflectMetadata } from '../../../../src/emulators/kubernetes/reflect-metadata.js';

import type * as X509Module from '@peculiar/x509';

// Loaded lazily: jest links CommonJS dependencies (x509's tsyringe) before evaluating sibling ES
// modules, so a static import would run before installReflectMetadata() (the emulator's polyfill).
type X509 = typeof X509Module;
let x509Module: Promise<X509> | undefined;
function loadX509(): Promise<X509> {
  installReflectMetadata();
  x509Module ??= import('@peculiar/x509').then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Parameters<X509['cryptoProvider']['set']>[0]);
    return m;
  });
  return x509Module;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCa {
  readonly caPem: string;
  /** Issues a server certificate for 127.0.0.1/localhost signed by this CA. */
  issueServer(): Promise<{ certPem: string; keyPem: string }>;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

export async function createTestCa(name = 'podbus-test-ca'): Promise<TestCa> {
  const x509 = await loadX509();
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys: caKeys,
    signingAlgorithm: ALG,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 24 * 3600_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  return {
    caPem: caCert.toString('pem'),
    async issueServer() {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, [
        'sign',
        'verify',
      ])) as webcrypto.CryptoKeyPair;
      const cert = await x509.X509CertificateGenerator.create({
        subject: 'CN=127.0.0.1',
        issuer: caCert.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ALG,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 24 * 3600_000),
        extensions: [
          new x509.SubjectAlternativeNameExtension([
            { type: 'ip', value: '127.0.0.1' },
            { type: 'dns', value: 'localhost' },
          ]),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        ],
      });
      return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
    },
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
