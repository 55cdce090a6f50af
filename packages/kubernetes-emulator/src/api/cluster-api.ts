/**
 * The Kubernetes REST API of one emulated cluster, as a pipeline of request stages in
 * kube-apiserver's order: connection faults (black hole, reset, latency) -> authenticate (401)
 * -> APF (429, injected) -> impersonate -> authorize (403) -> injected 5xx -> route -> handle
 * (decoding 400/415, namespace lifecycle 404, defaults, admission, validation 422, storage 409)
 * -> respond. Each stage lives in its own module under api/.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Admission } from '../admission.js';
import type { TokenAuthenticator } from '../auth.js';
import type { JwtAuthenticators } from '../jwt-authenticator.js';
import type { Controllers } from '../controllers.js';
import type { Discovery } from '../discovery.js';
import type { FaultState } from '../faults.js';
import type { PodLifecycle } from '../lifecycle.js';
import type { SeededRandom } from '../random.js';
import type { RbacAuthorizer } from '../rbac.js';
import { findType, namespaceType } from '../resources.js';
import type { ClusterState } from '../state.js';
import { ApiError, internalError, serviceUnavailable, unauthorized } from '../status.js';
import type { EmulatorStats } from '../types.js';
import type { WatchConnection } from '../watch.js';
import { authenticate, impersonate } from './authenticate.js';
import { authorize } from './authorize.js';
import { readBody } from './body.js';
import type { RequestContext } from './context.js';
import { DeleteHandlers } from './handlers/delete.js';
import { NonResourceHandler } from './handlers/non-resource.js';
import { PodLogs } from './handlers/pod-log.js';
import { ReadHandlers } from './handlers/read.js';
import { Reviews } from './handlers/reviews.js';
import { TokenRequests } from './handlers/token-request.js';
import { WriteHandlers } from './handlers/write.js';
import { parseRequestInfo, type RequestInfo } from './request-info.js';
import { requestTimeout, resetSocket, Responder } from './respond.js';
import { Router } from './route.js';

/** Handles `/_emulator/*` (the admin endpoint), outside the Kubernetes API. */
export type AdminHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: () => Promise<Buffer>,
) => Promise<void>;

/** What the API of one cluster is built from. */
export interface ClusterApiDeps {
  state: ClusterState;
  auth: TokenAuthenticator;
  jwt: JwtAuthenticators;
  rbac: RbacAuthorizer;
  faults: FaultState;
  lifecycle: PodLifecycle;
  controllers: Controllers;
  admission: Admission;
  discovery: Discovery;
  random: SeededRandom;
  stats: Pick<EmulatorStats, 'requests' | 'byVerb' | 'connections'>;
  admin: AdminHandler;
}

export class ClusterApi {
  private readonly watches = new Set<WatchConnection>();
  private readonly state: ClusterState;
  private readonly tokens: TokenAuthenticator;
  private readonly jwt: JwtAuthenticators;
  private readonly rbac: RbacAuthorizer;
  private readonly faults: FaultState;
  private readonly stats: ClusterApiDeps['stats'];
  private readonly admin: AdminHandler;
  private readonly respond: Responder;
  private readonly nonResource: NonResourceHandler;
  private readonly router: Router;

  constructor(deps: ClusterApiDeps) {
    this.state = deps.state;
    this.tokens = deps.auth;
    this.jwt = deps.jwt;
    this.rbac = deps.rbac;
    this.faults = deps.faults;
    this.stats = deps.stats;
    this.admin = deps.admin;
    this.respond = new Responder(deps.random);
    this.nonResource = new NonResourceHandler(deps.discovery, this.respond);
    this.router = new Router(deps.state, {
      read: new ReadHandlers(deps.state, deps.random, this.respond, this.watches),
      write: new WriteHandlers(
        deps.state,
        deps.random,
        deps.controllers,
        deps.admission,
        deps.rbac,
        this.respond,
      ),
      delete: new DeleteHandlers(deps.state, deps.controllers, deps.lifecycle, this.respond),
      tokens: new TokenRequests(deps.state, deps.auth, this.respond),
      podLogs: new PodLogs(deps.state, this.respond),
      reviews: new Reviews(deps.rbac, deps.auth, deps.jwt, this.respond),
    });
  }

  /** Ends watches, held (black-holed) requests and late answers; used by stop(). */
  shutdown(): void {
    for (const w of [...this.watches]) w.end();
    this.respond.shutdown();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e =
        err instanceof ApiError
          ? err
          : internalError(err instanceof Error ? err.message : String(err));
      this.respond.sendError(res, randomUUID(), e);
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    if (path.startsWith('/_emulator/') || path === '/_emulator') {
      await this.admin(req, res, path, () => readBody(req));
      return;
    }
    const faults = this.faults;
    if (faults.blackhole) return this.respond.hold(res);
    if (faults.connectionReset) return resetSocket(req);
    const delay = faults.latency();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    this.stats.requests++;
    const auditId = randomUUID();

    // 1. Authentication.
    const authenticated = await authenticate(req, this.tokens, this.jwt);
    if (authenticated === undefined) return this.respond.sendError(res, auditId, unauthorized());

    // 2. Priority and fairness.
    const retryAfter = faults.takeThrottle();
    if (retryAfter !== undefined) return this.respond.throttled(res, auditId, retryAfter);

    const info = parseRequestInfo(req.method ?? 'GET', path, query);
    this.stats.byVerb[info.verb] = (this.stats.byVerb[info.verb] ?? 0) + 1;
    try {
      const user = impersonate(req, authenticated, this.rbac, this.state);
      const ctx: RequestContext = { req, res, info, query, user, auditId };
      // 3. Authorization, then the resource's handler.
      authorize(this.rbac, info, user);
      if (!info.resourceRequest) return this.nonResource.serve(ctx);
      const injected = faults.injectedError(info);
      if (injected !== undefined) throw injectedError(injected, info);
      const ambiguous = faults.ambiguousWrite(info);
      if (ambiguous !== undefined) this.respond.loseNextAnswer(res, ambiguous, info);
      const type = findType(info.group, info.resource);
      if (
        !type ||
        type.version !== info.version ||
        (info.namespace !== '' && !type.namespaced && !(type === namespaceType))
      )
        throw new ApiError(404, 'NotFound', '404 page not found');
      await this.router.route(ctx, type);
    } catch (err) {
      if (!(err instanceof ApiError) || res.headersSent) throw err;
      this.respond.sendError(res, auditId, err);
    }
  }
}

/** A 5xx injected by `errorRate`, as the real server words each. */
function injectedError(status: 500 | 503 | 504, info: RequestInfo): ApiError {
  if (status === 503) return serviceUnavailable('apiserver is shutting down', 1);
  if (status === 504) return requestTimeout();
  const operation = info.verb === 'list' || info.verb === 'watch' ? 'list' : info.verb;
  return internalError(
    `injected fault: the ${operation} operation against ${info.resource} failed`,
  );
}
