import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Registry } from 'prom-client';

import { scrubText } from '../shared/redaction.js';

/** What /readyz asks: every check must pass for the worker to receive traffic. */
export interface ReadinessCheck {
  readonly name: string;
  /** Returns undefined when ready, or a short reason a person can act on. */
  check(): string | undefined;
}

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: readonly ReadinessCheck[];
  /** /healthz fails when the event loop has not ticked for this long (default 10 s). */
  maxEventLoopStallMs?: number;
  /** How often the heartbeat stamps the time (default 1 s). */
  heartbeatIntervalMs?: number;
  now?: () => number;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves /healthz (liveness), /readyz (readiness) and /metrics (Prometheus) on one port.
 *
 * Liveness is "the event loop keeps turning": a heartbeat timer stamps the time every second,
 * and /healthz compares against it. A loop blocked outright never answers the probe at all
 * (the kubelet's timeout catches that); this also catches a loop that is starved for long
 * stretches but still occasionally answers.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const now = options.now ?? Date.now;
  const maxStall = options.maxEventLoopStallMs ?? 10_000;
  let lastBeat = now();
  const heartbeat = setInterval(() => (lastBeat = now()), options.heartbeatIntervalMs ?? 1000);
  heartbeat.unref();

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const stalledMs = now() - lastBeat;
      const ok = stalledMs <= maxStall;
      sendJson(res, ok ? 200 : 503, ok ? { status: 'ok' } : { status: 'stalled', stalledMs });
    } else if (path === '/readyz') {
      // Reasons quote errors (a cluster's, the SDK's): scrubbed like the logs, since anyone
      // who can reach the port reads them.
      const failures = options.readiness
        .map((c) => ({ name: c.name, reason: c.check() }))
        .filter((f): f is { name: string; reason: string } => f.reason !== undefined)
        .map((f) => ({ name: f.name, reason: scrubText(f.reason) }));
      sendJson(res, failures.length === 0 ? 200 : 503, {
        status: failures.length === 0 ? 'ready' : 'not ready',
        failures,
      });
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
        },
      );
    } else {
      sendJson(res, 404, { status: 'not found', paths: ['/healthz', '/readyz', '/metrics'] });
    }
  });
  // A probe connection must never keep the process alive during shutdown.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
