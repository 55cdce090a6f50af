/**
 * OpenTelemetry export, end to end: a worker started with OTEL_TRACES_EXPORTER=otlp and the
 * http/json protocol sends its spans to an OTLP/HTTP receiver run by this test, through the real
 * SDK, the real client-node and the real OpenTelemetry exporter. Each delivery is one trace:
 * `process challenges` > `place pod` > `create pod`, with the Azure SDK's own spans (settling)
 * inside it; the attributes name the message, challenge, cluster and outcome, and no span
 * carries a secret.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startWorkerApp, type WorkerApp } from '../../../src/app/worker-app.js';
import { createLogger } from '../../../src/observability/logger.js';
import { tracingSettingsFromEnv } from '../../../src/observability/tracing-env.js';
import { challenge, eventually, Stack } from './stack.js';

/** One span as OTLP/JSON carries it (the fields read here). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
  events?: { name: string }[];
  links?: { traceId: string; spanId: string }[];
}

/** An OTLP/HTTP receiver for traces (POST /v1/traces, JSON), as a collector would be. */
class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  readonly bodies: string[] = [];
  readonly contentTypes: string[] = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.bodies.push(body);
      this.contentTypes.push(String(req.headers['content-type']));
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const request = JSON.parse(body) as {
          resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        };
        for (const rs of request.resourceSpans ?? []) {
          for (const ss of rs.scopeSpans ?? []) this.spans.push(...(ss.spans ?? []));
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (value === undefined) return undefined;
  return (
    value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue))
  );
}

const OTEL_ENV = {
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '100',
  OTEL_SERVICE_NAME: 'podbus-test',
};

let stack: Stack;
let receiver: OtlpReceiver;
let app: WorkerApp;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  stack = await Stack.start({ clusters: [{ name: 'alpha' }] });
  receiver = await OtlpReceiver.start();
  // The OpenTelemetry SDK reads its OTEL_* variables from the process environment itself.
  const env = { ...OTEL_ENV, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url };
  for (const [key, value] of Object.entries(env)) {
    savedEnv[key] = process.env[key];
    process.env[key] = value;
  }
  const settings = tracingSettingsFromEnv(process.env);
  expect(settings).toEqual({ exporters: ['otlp'], otlpProtocol: 'http/json' });
  const lines: string[] = [];
  app = await startWorkerApp(stack.config(), {
    logger: createLogger({
      level: 'info',
      pretty: false,
      destination: { write: (l) => lines.push(l) },
    }),
    defaultMetrics: false,
    tracing: { settings: settings!, serviceVersion: '0.0.0-test' },
  });
});

afterAll(async () => {
  await app?.stop();
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await receiver?.stop();
  await stack?.stop();
});

/** The spans of one delivery's trace: its root and everything under it. */
async function traceOf(
  messageId: string,
  minSpans: number,
): Promise<{ root: OtlpSpan; spans: OtlpSpan[] }> {
  return eventually(`the trace of ${messageId}`, () => {
    const root = receiver.spans.find(
      (s) => s.name === 'process challenges' && attribute(s, 'messaging.message.id') === messageId,
    );
    if (root === undefined) return undefined;
    const spans = receiver.spans.filter((s) => s.traceId === root.traceId);
    return spans.length >= minSpans && { root, spans };
  });
}

const childrenOf = (spans: OtlpSpan[], parent: OtlpSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId);

describe('tracing: spans for receive -> place -> create -> settle', () => {
  it('a created pod: the delivery, its placement, the create call and the SDK settling it', async () => {
    await stack.send({
      messageId: 'traced-1',
      body: challenge('web-101', 'registry.example/challenges/web:1'),
    });
    const { root, spans } = await traceOf('traced-1', 4);
    expect(root).toMatchObject({ kind: 5 /* CONSUMER */, status: { code: 1 /* OK */ } });
    expect({
      challenge: attribute(root, 'podbus.challenge_id'),
      pod: attribute(root, 'podbus.pod'),
      cluster: attribute(root, 'podbus.cluster'),
      outcome: attribute(root, 'podbus.outcome'),
      queue: attribute(root, 'messaging.destination.name'),
      deliveries: attribute(root, 'messaging.servicebus.message.delivery_count'),
    }).toEqual({
      challenge: 'web-101',
      pod: 'traced-1',
      cluster: 'alpha',
      outcome: 'created',
      queue: 'challenges',
      deliveries: 0,
    });
    const place = childrenOf(spans, root).find((s) => s.name === 'place pod');
    expect(place).toMatchObject({ status: { code: 1 } });
    const create = childrenOf(spans, place!).find((s) => s.name === 'create pod');
    expect(create).toMatchObject({ kind: 3 /* CLIENT */ });
    expect(attribute(create!, 'podbus.cluster')).toBe('alpha');
    expect(attribute(create!, 'podbus.call.outcome')).toBe('ok');
    // The Azure SDK's own span, through its OpenTelemetry instrumentation, inside the trace.
    const settle = childrenOf(spans, root).find((s) => /Receiver\.complete$/i.test(s.name));
    expect(settle?.name).toBe('ServicebusReceiver.complete');
    // Receiving happened in the SDK's consumer span: the delivery links to it.
    expect(root.links?.length).toBe(1);
    expect(
      receiver.spans.some((s) => s.spanId === root.links?.[0]?.spanId && /process/.test(s.name)),
    ).toBe(true);
  });

  it('a dead-lettered message: the reason on the span, the SDK dead-lettering it', async () => {
    await stack.send({
      messageId: 'traced-bad',
      body: challenge('x', 'docker.io/someone/miner:1'),
    });
    const { root, spans } = await traceOf('traced-bad', 2);
    expect(root.status).toMatchObject({
      code: 2 /* ERROR */,
      message: expect.stringMatching(/^PolicyViolation: /),
    });
    expect(attribute(root, 'podbus.outcome')).toBe('dead_lettered');
    expect(attribute(root, 'podbus.dead_letter_reason')).toBe('PolicyViolation');
    expect(childrenOf(spans, root).map((s) => s.name)).toContain('ServiceBusReceiver.deadLetter');
  });

  it('exports OTLP/JSON to the configured endpoint, with the service name from OTEL_SERVICE_NAME', () => {
    expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);
    expect(receiver.bodies.join('')).toContain('"podbus-test"');
  });

  it('never exports a secret', () => {
    const everything = receiver.bodies.join('\n');
    const key = /SharedAccessKey=([^;]+)/.exec(stack.sb.connectionString)?.[1] ?? '';
    expect(key.length).toBeGreaterThan(10);
    expect(everything).not.toContain(key);
    expect(everything).not.toContain(stack.k8s.cluster('alpha').serviceAccountToken);
    expect(everything).not.toMatch(/Bearer /);
  });
});
