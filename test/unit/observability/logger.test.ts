import { describe, expect, it } from '@jest/globals';

import { createLogger } from '../../../src/observability/logger.js';
import type { LogDestination } from '../../../src/observability/logger.js';

/** Planted secrets: none of these strings may ever appear in a log line. */
const SAS_KEY = 'c2VjcmV0LXNhcy1rZXktdmFsdWU+Lz0xMjM0NTY3OA==';
const CONNECTION_STRING = `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${SAS_KEY}`;
const SAS_SIGNATURE = 'Zm9vYmFyc2lnbmF0dXJlMTIzNDU2Nzg5MA%3D';
const SAS_TOKEN = `SharedAccessSignature sr=amqps%3A%2F%2Fns.servicebus.windows.net%2Fq&sig=${SAS_SIGNATURE}&se=1700000000&skn=send`;
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cG9kYnVzOnBvZGJ1cyJ9.c2lnbmF0dXJlLWJ5dGVz';
const OPAQUE_TOKEN = 'opaque-cluster-token-7f3a9d';
const PASSWORD = 'hunter2-hunter2';
const SECRETS = [SAS_KEY, SAS_SIGNATURE, JWT, OPAQUE_TOKEN, PASSWORD];

class Collector implements LogDestination {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  get text(): string {
    return this.lines.join('');
  }
}

function leaked(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

describe('createLogger redaction', () => {
  function logEverything(pretty: boolean): Collector {
    const out = new Collector();
    const logger = createLogger({ level: 'trace', pretty, destination: out });
    logger.info({ connectionString: CONNECTION_STRING }, 'connecting');
    logger.info(
      { cluster: { name: 'a', token: OPAQUE_TOKEN, tokenFile: '/var/run/token' } },
      'cluster',
    );
    logger.info({ config: { serviceBus: { connectionString: CONNECTION_STRING } } }, 'config');
    logger.info({ clusters: [{ name: 'a', token: OPAQUE_TOKEN }] }, 'clusters');
    logger.info({ request: { headers: { authorization: `Bearer ${OPAQUE_TOKEN}` } } }, 'request');
    logger.info(
      { a: { b: { c: { d: { bearerToken: OPAQUE_TOKEN, password: PASSWORD } } } } },
      'deep',
    );
    logger.warn(`connection string was ${CONNECTION_STRING}`);
    logger.warn('sas %s', SAS_TOKEN);
    logger.warn(`GET https://acct.blob.core.windows.net/c/b?sv=2020&sig=${SAS_SIGNATURE}&se=1`);
    logger.warn(`Authorization: Bearer ${JWT}`);
    logger.warn(`a bare service account token ${JWT} in text`);
    logger.warn(`proxy https://user:${PASSWORD}@proxy.local:8080 and token=${OPAQUE_TOKEN}`);
    logger.error({ err: new Error(`AMQP connect failed for ${CONNECTION_STRING}`) }, 'failed');
    logger.error(new Error(`401 with Bearer ${OPAQUE_TOKEN}`));
    const child = logger.child({ messageId: 'm-1', challengeId: 'c-1' });
    child.child({ token: OPAQUE_TOKEN }).info({ sasToken: SAS_TOKEN }, 'child');
    child.info({ token: 12345678 }, 'numeric token');
    return out;
  }

  it('never writes a planted secret (JSON output)', () => {
    const out = logEverything(false);
    expect(out.lines).toHaveLength(16);
    expect(leaked(out.text)).toEqual([]);
    expect(out.text).not.toContain('12345678');
  });

  it('never writes a planted secret (pretty output)', () => {
    const out = logEverything(true);
    expect(out.lines.length).toBeGreaterThanOrEqual(16);
    expect(leaked(out.text)).toEqual([]);
  });

  it('keeps every JSON line valid and keeps what is not secret', () => {
    const out = logEverything(false);
    const records = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[1]).toMatchObject({
      level: 'info',
      msg: 'cluster',
      cluster: { name: 'a', token: '[REDACTED]', tokenFile: '/var/run/token' },
    });
    expect(records[6]?.msg).toBe(
      'connection string was Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=[REDACTED]',
    );
    expect(records[9]?.msg).toBe('Authorization: Bearer [REDACTED]');
    expect(records[15]).toMatchObject({
      messageId: 'm-1',
      challengeId: 'c-1',
      token: '[REDACTED]',
    });
    expect(records[12]).toMatchObject({ err: { type: 'Error' } });
  });
});

describe('createLogger', () => {
  it('respects the level', () => {
    const out = new Collector();
    const logger = createLogger({ level: 'warn', pretty: false, destination: out });
    logger.info('hidden');
    logger.warn('shown');
    expect(out.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['shown']);
  });

  it('writes readable pretty lines without colours to a non-terminal destination', () => {
    const out = new Collector();
    createLogger({ level: 'info', pretty: true, destination: out }).info(
      { cluster: 'a' },
      'pod created',
    );
    expect(out.text).toMatch(/INFO.*pod created/);
    expect(out.text).toContain('cluster: "a"');
    expect(out.text).not.toContain('\u001b[');
  });
});
