import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ServiceBusClient } from '@azure/service-bus';

import {
  DEFAULT_CA_FILE,
  resolveServiceBusEmulatorFlags,
  runServiceBusEmulator,
} from '../../src/cli-actions.js';
import { main } from '../../src/cli.js';
import { CliUsageError } from '../../src/cli-support.js';
import type { ServiceBusEmulator } from '../../src/index.js';
import { startCli } from './cli-process.js';
import type { CliProcess } from './cli-process.js';

const CONNECTION_STRING =
  /^Endpoint=sb:\/\/localhost:(\d+);SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true$/;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'podbus-sb-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function receiveBodies(
  connectionString: string,
  count: number,
  settle: 'complete' | 'none',
  thenEmpty = true,
): Promise<string[]> {
  const client = new ServiceBusClient(connectionString);
  try {
    const receiver = client.createReceiver('challenges');
    const out: string[] = [];
    const deadline = Date.now() + 15_000;
    while (out.length < count && Date.now() < deadline) {
      const batch = await receiver.receiveMessages(count - out.length, { maxWaitTimeInMs: 2_000 });
      for (const m of batch) {
        out.push(String(m.body));
        if (settle === 'complete') await receiver.completeMessage(m);
      }
    }
    if (thenEmpty) {
      const extra = await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 });
      out.push(...extra.map((m) => `unexpected:${String(m.body)}`));
    }
    return out;
  } finally {
    await client.close();
  }
}

describe('servicebus-emulator: flags', () => {
  it('validates flags, naming the flag', () => {
    expect(() => resolveServiceBusEmulatorFlags({ port: 'abc' })).toThrow(
      new CliUsageError('--port must be an integer between 0 and 65535, got "abc"'),
    );
    expect(() => resolveServiceBusEmulatorFlags({ port: '70000' })).toThrow(/--port/);
    expect(() => resolveServiceBusEmulatorFlags({ host: 'a b' })).toThrow(/--host/);
    expect(() => resolveServiceBusEmulatorFlags({ config: ' ' })).toThrow(/--config/);
    expect(() => resolveServiceBusEmulatorFlags({ dataDir: '' })).toThrow(/--data-dir/);
    expect(() => resolveServiceBusEmulatorFlags({ controlPort: '-1' })).toThrow(
      new CliUsageError('--control-port must be an integer between 0 and 65535, got "-1"'),
    );
    expect(() => resolveServiceBusEmulatorFlags({ controlHost: '::1' })).toThrow(
      new CliUsageError('--control-host needs --control-port'),
    );
    expect(() => resolveServiceBusEmulatorFlags({ faultSeed: 'x' })).toThrow(
      new CliUsageError('--fault-seed must be an integer between 0 and 4294967295, got "x"'),
    );
    expect(resolveServiceBusEmulatorFlags({})).toEqual({
      port: 5672,
      host: '0.0.0.0',
      config: undefined,
      dataDir: undefined,
      acceptAnyToken: false,
      controlPort: undefined,
      controlHost: '127.0.0.1',
      faultSeed: 1,
      tls: undefined,
    });
    expect(resolveServiceBusEmulatorFlags({ tls: true }).tls).toEqual({
      port: 5671,
      certFile: undefined,
      keyFile: undefined,
      caFile: DEFAULT_CA_FILE,
    });
    expect(() => resolveServiceBusEmulatorFlags({ tlsCert: 'c.pem' })).toThrow(
      new CliUsageError('--tls-cert and --tls-key go together'),
    );
    expect(() => resolveServiceBusEmulatorFlags({ tlsCaFile: 'ca.pem' })).toThrow(
      new CliUsageError('--tls-ca-file needs --tls'),
    );
  });

  describe('exit code 2 with the flag or file named', () => {
    let stderr: string[];
    beforeAll(() => {
      stderr = [];
      jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
        stderr.push(String(chunk));
        return true;
      });
    });
    afterEach(() => {
      stderr.length = 0;
    });
    afterAll(() => {
      jest.restoreAllMocks();
    });

    const run = (args: string[]): Promise<number> => main(['node', 'servicebus-emulator', ...args]);

    it('for a bad port', async () => {
      expect(await run(['--port', 'x'])).toBe(2);
      expect(stderr.join('')).toContain('--port must be an integer');
    });

    it('for a missing config file', async () => {
      const missing = join(dir, 'missing.json');
      expect(await run(['--port', '0', '--config', missing])).toBe(2);
      expect(stderr.join('')).toContain(`--config cannot read config file ${missing}: ENOENT`);
    });

    it('for a malformed config', async () => {
      const bad = join(dir, 'bad.json');
      writeFileSync(
        bad,
        JSON.stringify({
          UserConfig: {
            Namespaces: [{ Queues: [{ Name: 'q', Properties: { LockDuration: 'soon' } }] }],
          },
        }),
      );
      expect(await run(['--port', '0', '--config', bad])).toBe(2);
      expect(stderr.join('')).toContain(
        `--config ${bad}: UserConfig.Namespaces[0].Queues[0].Properties.LockDuration must be an ISO-8601 duration`,
      );
    });

    it('for a data directory that is a file', async () => {
      const file = join(dir, 'not-a-dir');
      writeFileSync(file, 'x');
      expect(await run(['--port', '0', '--data-dir', file])).toBe(2);
      expect(stderr.join('')).toContain('--data-dir');
    });

    it('for a port that is taken', async () => {
      let emulator: ServiceBusEmulator | undefined;
      let stop!: () => void;
      const running = runServiceBusEmulator(
        { port: '0', host: '127.0.0.1' },
        {
          out: () => undefined,
          err: () => undefined,
          until: new Promise<void>((r) => (stop = r)),
          onStarted: (e) => (emulator = e),
        },
      );
      while (!emulator) await new Promise((r) => setTimeout(r, 20));
      expect(await run(['--port', String(emulator.port), '--host', '127.0.0.1'])).toBe(2);
      expect(stderr.join('')).toContain('(--host/--port)');
      stop();
      await running;
    });
  });
});

describe('servicebus-emulator: running', () => {
  it('prints the connection string alone on the first line and serves until stopped', async () => {
    const out: string[] = [];
    const err: string[] = [];
    let emulator: ServiceBusEmulator | undefined;
    let stop!: () => void;
    const running = runServiceBusEmulator(
      { port: '0', host: '127.0.0.1' },
      {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        until: new Promise<void>((r) => (stop = r)),
        onStarted: (e) => (emulator = e),
      },
    );
    while (!emulator) await new Promise((r) => setTimeout(r, 20));
    expect(out.join('')).toMatch(/^Endpoint=sb:\/\/localhost:\d+;[^\n]*\n$/);
    expect(out.join('').trim()).toMatch(CONNECTION_STRING);
    expect(err.join('')).toContain('queues: challenges');
    const client = new ServiceBusClient(out.join('').trim());
    await client.createSender('challenges').sendMessages({ body: 'hi', messageId: 'cli-1' });
    await client.close();
    expect(await receiveBodies(out.join('').trim(), 1, 'complete')).toEqual(['hi']);
    stop();
    await running;
  });

  it('--accept-any-token lets any key in, like the official emulator', async () => {
    let emulator: ServiceBusEmulator | undefined;
    let stop!: () => void;
    const running = runServiceBusEmulator(
      { port: '0', host: '127.0.0.1', acceptAnyToken: true },
      {
        out: () => undefined,
        err: () => undefined,
        until: new Promise<void>((r) => (stop = r)),
        onStarted: (e) => (emulator = e),
      },
    );
    while (!emulator) await new Promise((r) => setTimeout(r, 20));
    const wrong = emulator.connectionString.replace('SAS_KEY_VALUE', 'not-the-key');
    const client = new ServiceBusClient(wrong, { retryOptions: { maxRetries: 0 } });
    await client.createSender('challenges').sendMessages({ body: 'any', messageId: 'any-1' });
    await client.close();
    expect(emulator.inspect('challenges').active).toBe(1);
    stop();
    await running;
  });

  it('--tls also listens for AMQPS and names the CA file and TLS connection string', async () => {
    const err: string[] = [];
    let emulator: ServiceBusEmulator | undefined;
    let stop!: () => void;
    const caFile = join(dir, 'tls', 'ca.pem');
    const running = runServiceBusEmulator(
      { port: '0', host: '127.0.0.1', tlsPort: '0', tlsCaFile: caFile },
      {
        out: () => undefined,
        err: (t) => err.push(t),
        until: new Promise<void>((r) => (stop = r)),
        onStarted: (e) => (emulator = e),
      },
    );
    while (!emulator) await new Promise((r) => setTimeout(r, 20));
    const port = emulator.tls?.port;
    expect(err.join('')).toContain(
      `amqps: port ${port}, CA in ${caFile} (NODE_EXTRA_CA_CERTS=${caFile})\n` +
        `  Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE\n`,
    );
    stop();
    await running;
  });

  it('--control-port serves the control endpoint on 127.0.0.1 and names it on stderr', async () => {
    const err: string[] = [];
    let emulator: ServiceBusEmulator | undefined;
    let stop!: () => void;
    const running = runServiceBusEmulator(
      { port: '0', host: '127.0.0.1', controlPort: '0', faultSeed: '42' },
      {
        out: () => undefined,
        err: (t) => err.push(t),
        until: new Promise<void>((r) => (stop = r)),
        onStarted: (e) => (emulator = e),
      },
    );
    while (!emulator) await new Promise((r) => setTimeout(r, 20));
    const url = /control: (http:\/\/127\.0\.0\.1:\d+) \(fault seed 42\)/.exec(err.join(''))?.[1];
    expect(url).toBe(emulator.controlUrl);
    const faults = (await (await fetch(`${url}/faults`)).json()) as { seed: number };
    expect(faults.seed).toBe(42);
    stop();
    await running;
  });
});

describe('servicebus-emulator as a process', () => {
  const processes: CliProcess[] = [];
  afterEach(() => {
    for (const p of processes.splice(0)) p.child.kill('SIGKILL');
  });

  it('exits 2 naming the flag when a flag is bad', async () => {
    const p = startCli(['--port', 'nope']);
    processes.push(p);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('--port must be an integer');
    expect(p.stdout()).toBe('');
  });

  it('keeps every accepted message across a SIGKILL with --data-dir; SIGTERM exits 0', async () => {
    const dataDir = join(dir, 'data');
    const first = startCli(['--port', '0', '--data-dir', dataDir]);
    processes.push(first);
    const connectionString = await first.firstLine;
    expect(connectionString).toMatch(CONNECTION_STRING);

    const client = new ServiceBusClient(connectionString);
    const bodies = Array.from({ length: 30 }, (_, i) => `m${i}`);
    await client
      .createSender('challenges')
      .sendMessages(bodies.slice(0, 25).map((b) => ({ body: b, messageId: b })));
    for (const b of bodies.slice(25)) {
      await client.createSender('challenges').sendMessages({ body: b, messageId: b });
    }
    await client.close();
    expect(await receiveBodies(connectionString, 10, 'complete', false)).toEqual(
      bodies.slice(0, 10),
    );

    first.child.kill('SIGKILL'); // no chance to flush or clean up
    expect(await first.exited).toBe('SIGKILL');

    const second = startCli(['--port', '0', '--data-dir', dataDir]);
    processes.push(second);
    const again = await second.firstLine;
    const rest = await receiveBodies(again, 20, 'complete');
    expect(rest).toEqual(bodies.slice(10));

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.stdout()).toBe(`${again}\n`);
  }, 60_000);
});
