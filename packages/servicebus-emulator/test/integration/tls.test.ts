import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { generateCertificates } from '../../src/certificates.js';
import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';

/**
 * The AMQPS listener: the unmodified SDK, given a host name and a key (no
 * UseDevelopmentEmulator), speaks TLS; it trusts the emulator's CA through NODE_EXTRA_CA_CERTS,
 * which Node reads at start-up, so the client runs in a child process.
 */
const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

let dir: string;
let emulator: ServiceBusEmulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podbus-sb-tls-'));
  emulator = await startServiceBusEmulator({ tls: { port: 0, caFile: join(dir, 'ca.pem') } });
});
afterAll(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function client(env: Record<string, string>): Promise<Record<string, unknown>> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('NODE_EXTRA_CA_CERTS' in env)) delete childEnv.NODE_EXTRA_CA_CERTS;
  const { stdout } = await run(process.execPath, [join(here, 'tls-client.mjs')], {
    env: childEnv,
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
}

describe('the AMQPS listener', () => {
  it('writes its CA and a TLS connection string without UseDevelopmentEmulator', () => {
    const tls = emulator.tls!;
    expect(tls.caFile).toBe(join(dir, 'ca.pem'));
    expect(readFileSync(tls.caFile!, 'utf8')).toBe(tls.caPem);
    expect(tls.connectionString).toBe(
      `Endpoint=sb://localhost:${tls.port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE`,
    );
  });

  it('serves the SDK over TLS with a connection string, trusting the CA file', async () => {
    const result = await client({
      SB_CONNECTION_STRING: emulator.tls!.connectionString,
      NODE_EXTRA_CA_CERTS: emulator.tls!.caFile!,
    });
    expect(result).toEqual({ ok: true, messageId: expect.any(String), body: 'over tls' });
  });

  it('serves the SDK over TLS with a host name and an AzureNamedKeyCredential', async () => {
    const result = await client({
      SB_NAMESPACE: `localhost:${emulator.tls!.port}`,
      SB_KEY_NAME: 'RootManageSharedAccessKey',
      SB_KEY: 'SAS_KEY_VALUE',
      NODE_EXTRA_CA_CERTS: emulator.tls!.caFile!,
    });
    expect(result).toMatchObject({ ok: true, body: 'over tls' });
  });

  it('is real TLS: a client that does not trust the CA cannot connect', async () => {
    const result = await client({ SB_CONNECTION_STRING: emulator.tls!.connectionString });
    expect(result.ok).toBe(false);
    expect(String(result.message)).toMatch(/self-signed certificate|unable to verify|certificate/i);
    expect(emulator.inspect('challenges').active).toBe(0);
  });

  it('serves a supplied certificate instead of generating one', async () => {
    const own = generateCertificates(['localhost']);
    const supplied = await startServiceBusEmulator({
      tls: { port: 0, certPem: own.certPem, keyPem: own.keyPem },
    });
    try {
      expect(supplied.tls?.caPem).toBeUndefined();
      const peer = await new Promise<string>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port: supplied.tls!.port, servername: 'localhost', ca: own.caPem },
          () => {
            resolve(String(socket.getPeerCertificate().fingerprint256));
            socket.end();
          },
        );
        socket.on('error', reject);
      });
      expect(peer).toMatch(/^[0-9A-F:]+$/);
    } finally {
      await supplied.stop();
    }
    await expect(
      startServiceBusEmulator({ tls: { port: 0, certPem: own.certPem } }),
    ).rejects.toThrow('tls: certPem and keyPem go together');
  });
});
