/**
 * Handle stage: non-resource paths (health, `/openapi/v2|v3`, discovery documents), after the
 * authorize stage allowed them.
 */
import { KUBERNETES_VERSION, type Discovery } from '../../discovery.js';
import { openApiV2Protobuf } from '../../protobuf.js';
import { ApiError, notAcceptable } from '../../status.js';
import type { RequestContext } from '../context.js';
import type { Responder } from '../respond.js';

const CORE_GROUP_NOT_FOUND = 'the server could not find the requested resource';

export class NonResourceHandler {
  constructor(
    private readonly discovery: Discovery,
    private readonly respond: Responder,
  ) {}

  serve(ctx: RequestContext): void {
    const { res, info, auditId } = ctx;
    const path = info.path;
    if (path === '/healthz' || path === '/livez' || path === '/readyz')
      return this.respond.send(res, auditId, 200, 'ok', 'text/plain; charset=utf-8');
    if (path === '/openapi/v2') {
      const accept = ctx.req.headers.accept ?? '';
      if (accept.includes('protobuf')) {
        const body = openApiV2Protobuf('Kubernetes', KUBERNETES_VERSION.gitVersion);
        res.writeHead(200, {
          ...this.respond.headers(
            auditId,
            'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
          ),
          'Content-Length': String(body.length),
        });
        res.end(body);
        return;
      }
      return this.respond.send(
        res,
        auditId,
        200,
        JSON.stringify({
          swagger: '2.0',
          info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion },
          paths: {},
        }),
      );
    }
    if (path === '/openapi/v3' || path === '/openapi/v3/')
      return this.respond.send(res, auditId, 200, this.discovery.openApiV3Index());
    if (path.startsWith('/openapi/v3/')) {
      const doc = this.discovery.openApiV3(path.slice('/openapi/v3/'.length));
      if (doc) return this.respond.send(res, auditId, 200, doc);
    }
    const doc = this.discovery.document(path);
    if (doc !== undefined) {
      if (!acceptsJson(ctx.req.headers.accept))
        return this.respond.sendError(res, auditId, notAcceptable());
      return this.respond.send(res, auditId, 200, doc);
    }
    this.respond.sendError(res, auditId, new ApiError(404, 'NotFound', CORE_GROUP_NOT_FOUND));
  }
}

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return /json|\*\/\*|yaml/i.test(accept);
}
