import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import type { DeadLetterInfo, QueueInspection } from './broker.js';
import { FaultConfigError } from './faults.js';
import type {
  ConnectionTarget,
  FaultControl,
  ServiceBusFaultConfig,
  ServiceBusFaultPatch,
} from './faults.js';
import type { ConnectionInfo } from './server.js';

/**
 * The opt-in HTTP control endpoint (README, "Control endpoint"): faults and the emulator's own
 * counts for a harness that runs the emulator in another process. JSON in, JSON out; no
 * authentication, so it listens on 127.0.0.1 unless told otherwise.
 */
export interface ControlTarget {
  readonly faults: FaultControl;
  readonly queueNames: readonly string[];
  inspect(queue: string): QueueInspection;
  deadLetters(queue: string, options?: { limit?: number }): DeadLetterInfo[];
  deadLetterReasons(queue: string): Record<string, number>;
  connections(): ConnectionInfo[];
}

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ControlServer {
  private readonly server: Server;

  constructor(private readonly target: ControlTarget) {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://control');
      const body = await readJson(req);
      const result = this.route(req.method ?? 'GET', url, body);
      send(res, 200, result);
    } catch (error) {
      if (error instanceof HttpError) send(res, error.status, { error: error.message });
      else if (error instanceof FaultConfigError) send(res, 400, { error: error.message });
      else send(res, 500, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  private route(method: string, url: URL, body: unknown): unknown {
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const t = this.target;
    const [first, second, third] = parts;
    if (parts.length === 0 || (first === 'healthz' && parts.length === 1)) {
      allow(method, 'GET');
      return { ok: true };
    }
    if (first === 'faults' && parts.length === 1) {
      switch (method) {
        case 'GET':
          return this.faultReport();
        case 'PATCH':
          t.faults.set((body ?? {}) as ServiceBusFaultPatch);
          return this.faultReport();
        case 'PUT':
          t.faults.replace((body ?? {}) as ServiceBusFaultConfig);
          return this.faultReport();
        case 'DELETE':
          t.faults.clear();
          return this.faultReport();
        default:
          throw new HttpError(405, `${method} is not allowed on /faults (GET, PATCH, PUT, DELETE)`);
      }
    }
    if (first === 'faults' && second === 'drop-connections' && parts.length === 2) {
      allow(method, 'POST');
      const o = fields(body, ['target', 'how']);
      const target = (o.target ?? 'all') as ConnectionTarget;
      return { dropped: t.faults.dropConnections(target, (o.how ?? 'reset') as 'reset') };
    }
    if (first === 'faults' && second === 'lose-locks' && parts.length === 2) {
      allow(method, 'POST');
      const o = fields(body, ['queue', 'messageId', 'sequenceNumber']);
      this.queueName(o.queue);
      if (o.messageId !== undefined && typeof o.messageId !== 'string') {
        throw new HttpError(400, 'messageId must be a string');
      }
      if (o.sequenceNumber !== undefined && !Number.isInteger(o.sequenceNumber)) {
        throw new HttpError(400, 'sequenceNumber must be an integer');
      }
      return {
        lost: t.faults.loseLocks({
          queue: o.queue as string | undefined,
          messageId: o.messageId as string | undefined,
          sequenceNumber: o.sequenceNumber as number | undefined,
        }),
      };
    }
    if (first === 'connections' && parts.length === 1) {
      allow(method, 'GET');
      return { connections: t.connections() };
    }
    if (first === 'queues' && parts.length === 1) {
      allow(method, 'GET');
      return { queues: t.queueNames.map((name) => this.queueReport(name)) };
    }
    if (first === 'queues' && parts.length === 2) {
      allow(method, 'GET');
      return this.queueReport(this.queueName(second) as string);
    }
    if (first === 'queues' && third === 'dead-letters' && parts.length === 3) {
      allow(method, 'GET');
      const name = this.queueName(second) as string;
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? undefined : Number(limitText);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
        throw new HttpError(400, `limit must be a non-negative integer, got "${limitText}"`);
      }
      return { deadLetters: t.deadLetters(name, { limit }) };
    }
    throw new HttpError(404, `no such control resource: ${url.pathname}`);
  }

  private faultReport(): unknown {
    const f = this.target.faults;
    return { seed: f.seed, faults: f.get(), injected: f.counts() };
  }

  private queueReport(name: string): unknown {
    return {
      name,
      ...this.target.inspect(name),
      deadLetterReasons: this.target.deadLetterReasons(name),
    };
  }

  /** A configured queue name as the client spelled it (case-insensitive), or 404. */
  private queueName(name: unknown): string | undefined {
    if (name === undefined) return undefined;
    if (typeof name !== 'string') throw new HttpError(400, 'queue must be a string');
    const found = this.target.queueNames.find((q) => q.toLowerCase() === name.toLowerCase());
    if (!found) {
      throw new HttpError(
        404,
        `no queue named '${name}' (queues: ${this.target.queueNames.join(', ')})`,
      );
    }
    return found;
  }
}

function allow(method: string, expected: string): void {
  if (method !== expected) throw new HttpError(405, `${method} is not allowed here (${expected})`);
}

function fields(body: unknown, known: readonly string[]): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'the request body must be a JSON object');
  }
  for (const k of Object.keys(body)) {
    if (!known.includes(k)) {
      throw new HttpError(400, `unknown field "${k}" (known: ${known.join(', ')})`);
    }
  }
  return body as Record<string, unknown>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'the request body is too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    // one request per connection: a harness polls rarely, and nothing lingers at shutdown
    connection: 'close',
  });
  res.end(text);
}
