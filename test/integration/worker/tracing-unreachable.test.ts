/**
 * Tracing on, the collector never answering: an OTLP endpoint that accepts connections and then
 * says nothing (the worst an unlucky operator can point podbus at), with export timeouts far
 * longer than this test may run. The worker still turns every message into a pod and settles
 * it, and stops: the last export is given up after its bounded grace, with a line saying so,
 * and `podbus run` exits instead of waiting for the exporter's own timeouts.
 */
import { createServer, type Server, type Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startWorkerApp, type WorkerApp } from '../../../src/app/worker-app.js';
import { createLogger } from '../../../src/observability/logger.js';
import { tracingSettingsFromEnv } from '../../../src/observability/tracing-env.js';
import { startPodbus } from '../identity/entra-stack.js';
import { challenge, eventually, QUEUE, Stack } from './stack.js';

/** Accepts TCP connections and never writes a byte back. */
class BlackHole {
  readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  });
  connections = 0;

  static async start(): Promise<BlackHole> {
    const hole = new BlackHole();
    hole.server.on('connection', () => (hole.connections += 1));
    await new Promise<void>((resolve) => hole.server.listen(0, '127.0.0.1', resolve));
    return hole;
  }

  get url(): string {
    const address = this.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return `http://127.0.0.1:${port}/v1/traces`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Ten minutes per export: only podbus's own bound can end a shutdown in time. `scheduleDelay`:
 * how long spans wait in the batch before an export (long: every span is still buffered when
 * the worker stops; short: exports are already hanging when it stops).
 */
function otelEnv(scheduleDelay: string): Record<string, string> {
  return {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: hole.url,
    OTEL_EXPORTER_OTLP_TIMEOUT: '600000',
    OTEL_BSP_EXPORT_TIMEOUT: '600000',
    OTEL_BSP_SCHEDULE_DELAY: scheduleDelay,
  };
}

let stack: Stack;
let hole: BlackHole;
let app: WorkerApp | undefined;
const lines: string[] = [];
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  stack = await Stack.start({ clusters: [{ name: 'alpha' }] });
  hole = await BlackHole.start();
  for (const [key, value] of Object.entries(otelEnv('600000'))) {
    savedEnv[key] = process.env[key];
    process.env[key] = value;
  }
  app = await startWorkerApp(stack.config(), {
    logger: createLogger({
      level: 'debug',
      pretty: false,
      destination: { write: (l) => lines.push(l) },
    }),
    defaultMetrics: false,
    tracing: { settings: tracingSettingsFromEnv(process.env)!, serviceVersion: '0.0.0-test' },
  });
});

afterAll(async () => {
  await app?.stop();
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await hole?.stop();
  await stack?.stop();
});

describe('tracing towards a collector that never answers', () => {
  it('still creates and settles every message', async () => {
    const ids = ['dark-1', 'dark-2', 'dark-3'];
    await stack.send(
      ...ids.map((messageId) => ({
        messageId,
        body: challenge('web-101', 'registry.example/challenges/web:1'),
      })),
    );
    await eventually('a pod per message and the queue drained', () => {
      const pods = stack.podNames();
      const queue = stack.sb.inspect(QUEUE);
      return (
        ids.every((id) => pods.some((p) => p.endsWith(`/${id}`))) &&
        queue.active === 0 &&
        queue.locked === 0
      );
    });
    const handled = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['msg'] === 'message handled');
    expect(handled.map((l) => [l['messageId'], l['outcome']]).sort()).toEqual(
      ids.map((id) => [id, 'created']),
    );
  });

  it('stops without waiting for the export, and says it gave the last traces up', async () => {
    await app!.stop();
    app = undefined;
    // The exporter did try: the spans went into the hole.
    expect(hole.connections).toBeGreaterThan(0);
    const warned = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['level'] === 'warn');
    expect(warned.map((l) => l['msg'])).toEqual([
      'the last traces could not be exported in time; giving them up (does the OTLP endpoint answer?)',
    ]);
    expect(lines.filter((l) => /"level":"(error|fatal)"/.test(l))).toEqual([]);
  }, 60_000);

  it('podbus run exits once stopped, not when the exporter times out', async () => {
    const run = startPodbus(['run', '--config', stack.configFile], {
      PODBUS_SERVICE_BUS_CONNECTION_STRING: stack.sb.connectionString,
      ...otelEnv('50'),
    });
    try {
      await run.waitFor('"msg":"receiving messages"', 90_000);
      await stack.send({
        messageId: 'dark-cli',
        body: challenge('web-101', 'registry.example/challenges/web:1'),
      });
      await run.waitFor(/"messageId":"dark-cli".*"msg":"message handled"/);
    } finally {
      // SIGTERM, then SIGKILL (exit code null) if it has not exited 30 s later.
      expect(await run.stop()).toBe(0);
    }
    expect(run.output).toContain('"msg":"stopped"');
  }, 180_000);
});
