import { readFileSync } from 'node:fs';

import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

import type { ClusterEntry } from './cluster-entry.js';
import { ClusterError } from './errors.js';
import type { ClusterLogger } from './logger.js';
import type { TokenSource } from './token-source.js';

/**
 * How podbus connects client-node 2.x to one cluster.
 *
 * client-node builds a fresh undici `Agent` for every request whenever a TLS option such as the
 * CA is present in the KubeConfig (`KubeConfig.applySecurityAuthentication` →
 * `createDispatcher`, config.js), so nothing is pooled and every call pays a TCP+TLS handshake
 * (specs/kube-api.md §1). podbus therefore keeps the CA and the token *out* of the KubeConfig
 * and hands both in through `applySecurityAuthentication`, which is the one hook that both the
 * generated API clients (request factory → `authMethods.default`) and `Watch.watch` call before
 * sending. There it sets the bearer token (read fresh from the TokenSource, so rotation applies
 * to the next request and to the next watch) and the cluster's one long-lived keep-alive
 * `Agent`. Per-call concerns (the timeout signal) go through middleware instead; see
 * cluster-client.ts.
 */
export class PodbusKubeConfig extends KubeConfig {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly tokens: TokenSource,
  ) {
    super();
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    // With neither CA nor token in the config, the base implementation only copies
    // impersonation headers and creates no dispatcher; keep calling it for forward compatibility.
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('Authorization', `Bearer ${await this.tokens.current()}`);
    context.setDispatcher(this.dispatcher);
  }
}

/** Connections per cluster when nothing says otherwise (see `connectionsForConcurrency`). */
export const DEFAULT_CONNECTIONS = 16;

/**
 * Connections a worker handling `maxConcurrentCalls` messages at once needs to one cluster, so
 * that no call queues behind another (HTTP/1.1 carries one request per connection at a time):
 * each message has at most one call on a cluster in flight (a create, or its share of a lookup
 * across clusters), the active-pod watch holds one for good, and a list or a health probe may
 * run beside a full set of creates. With fewer, a slow API server caps a worker at
 * connections / latency creates per second whatever its concurrency (16 at 100 ms: 150/s).
 */
export function connectionsForConcurrency(maxConcurrentCalls: number): number {
  return Math.max(DEFAULT_CONNECTIONS, maxConcurrentCalls + 2);
}

export interface AgentOptions {
  /**
   * Idle time after which a pooled connection is closed (a server keep-alive hint wins).
   * @defaultValue 30_000
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Upper bound of concurrent connections to the API server (long-lived watches use one each).
   * @defaultValue DEFAULT_CONNECTIONS
   */
  readonly connections?: number;
  /**
   * TCP+TLS connect timeout.
   * @defaultValue 10_000
   */
  readonly connectTimeoutMs?: number;
}

/** Reads the entry's CA (inline PEM or file). Undefined means "the system roots". */
export function loadCa(entry: ClusterEntry): string | undefined {
  if (entry.ca !== undefined) return entry.ca;
  if (entry.caFile === undefined) return undefined;
  try {
    return readFileSync(entry.caFile, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new ClusterError({
      kind: 'config',
      cluster: entry.name,
      message: `caFile unreadable (${code}): ${entry.caFile}`,
      cause: err,
    });
  }
}

/**
 * The cluster's shared keep-alive dispatcher. TLS is verified against the entry's CA unless the
 * operator explicitly set `insecureSkipTlsVerify` (then a loud warning is logged, once per
 * client). HTTP/1.1 only: that is what the test suite exercises against the emulator, and
 * it keeps watches and requests on separate, observable connections (undici 8 would otherwise
 * offer h2 via ALPN).
 */
export function createAgent(
  entry: ClusterEntry,
  logger: ClusterLogger,
  options: AgentOptions = {},
): Agent {
  const url = new URL(entry.server);
  if (url.protocol !== 'https:') {
    throw new ClusterError({
      kind: 'config',
      cluster: entry.name,
      message: `server must be an https:// URL, got ${url.protocol}`,
    });
  }
  const ca = loadCa(entry);
  if (entry.insecureSkipTlsVerify) {
    logger.warn(
      { cluster: entry.name, server: entry.server },
      'TLS VERIFICATION IS OFF for this cluster (insecureSkipTlsVerify: true): anyone on the ' +
        'network path can impersonate the API server and steal its token. Configure ca/caFile.',
    );
  }
  return new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    allowH2: false,
    connect: {
      ...(ca === undefined ? {} : { ca }),
      rejectUnauthorized: !entry.insecureSkipTlsVerify,
      timeout: options.connectTimeoutMs ?? 10_000,
      keepAlive: true,
      // Same TCP keep-alive probe delay client-node and client-go use (config.js).
      keepAliveInitialDelay: 30_000,
    },
  });
}

/**
 * One KubeConfig per cluster with a user name unique to it: client-node caches credentials by
 * user name (kubernetes-client/javascript#592), so two clusters must never share one.
 */
export function buildKubeConfig(
  entry: ClusterEntry,
  dispatcher: Dispatcher,
  tokens: TokenSource,
): PodbusKubeConfig {
  const kc = new PodbusKubeConfig(dispatcher, tokens);
  kc.loadFromClusterAndUser(
    { name: entry.name, server: entry.server.replace(/\/+$/, ''), skipTLSVerify: false },
    { name: `podbus-${entry.name}` },
  );
  return kc;
}
