/**
 * Route stage: a resource request goes to the handler of its verb and subresource.
 */
import { connectError } from '../pod-connect.js';
import { podResourceType } from '../pods.js';
import type { ResourceType } from '../resource-type.js';
import { nodeType, serviceAccountType } from '../resources.js';
import type { ClusterState } from '../state.js';
import { ApiError, methodNotSupported } from '../status.js';
import { decodeBody } from './body.js';
import type { RequestContext } from './context.js';
import type { DeleteHandlers } from './handlers/delete.js';
import type { PodLogs } from './handlers/pod-log.js';
import type { ReadHandlers } from './handlers/read.js';
import type { Reviews } from './handlers/reviews.js';
import type { TokenRequests } from './handlers/token-request.js';
import type { WriteHandlers } from './handlers/write.js';
import { lookup } from './objects.js';

export interface Handlers {
  read: ReadHandlers;
  write: WriteHandlers;
  delete: DeleteHandlers;
  tokens: TokenRequests;
  podLogs: PodLogs;
  reviews: Reviews;
}

export class Router {
  constructor(
    private readonly state: ClusterState,
    private readonly handlers: Handlers,
  ) {}

  /** Calls the handler of the request's verb and subresource (405/404 when there is none). */
  async route(ctx: RequestContext, type: ResourceType): Promise<void> {
    const { info } = ctx;
    const method = ctx.req.method ?? 'GET';
    const sub = info.subresource;
    if (type.virtual) {
      if (method !== 'POST' || info.name !== '')
        throw methodNotSupported(type.group, type.resource, info.verb);
      return this.handlers.reviews.create(ctx, type, await decodeBody(ctx.req, type.kind));
    }
    if (sub !== '') {
      if (!type.subresources?.[sub]) throw new ApiError(404, 'NotFound', '404 page not found');
      if (type === serviceAccountType && sub === 'token' && method === 'POST')
        return this.handlers.tokens.create(ctx, await decodeBody(ctx.req, 'TokenRequest'));
      if (type === podResourceType && sub === 'log' && (method === 'GET' || method === 'HEAD'))
        return this.handlers.podLogs.get(ctx);
      if (
        type === podResourceType &&
        (sub === 'exec' || sub === 'attach' || sub === 'portforward') &&
        (method === 'GET' || method === 'POST')
      )
        connectError(ctx.req, sub, lookup(this.state, type, info).parse(), ctx.query, (node) =>
          this.state.collection(nodeType).get('', node)?.parse(),
        );
      if (sub === 'status' || sub === 'finalize') {
        if (method === 'GET' && sub === 'status') return this.handlers.read.get(ctx, type);
        if (method === 'PUT')
          return this.handlers.write.update(ctx, type, await decodeBody(ctx.req), true);
        if (method === 'PATCH') return this.handlers.write.patch(ctx, type, true);
      }
      throw methodNotSupported(type.group, `${type.resource}/${sub}`, info.verb);
    }
    switch (info.verb) {
      case 'get':
        return this.handlers.read.get(ctx, type);
      case 'list':
        return this.handlers.read.list(ctx, type);
      case 'watch':
        return this.handlers.read.watch(ctx, type);
      case 'create':
        if (info.name !== '') throw methodNotSupported(type.group, type.resource, 'create');
        return this.handlers.write.create(ctx, type, await decodeBody(ctx.req, type.kind));
      case 'update':
        return this.handlers.write.update(ctx, type, await decodeBody(ctx.req), false);
      case 'patch':
        return this.handlers.write.patch(ctx, type, false);
      case 'delete':
        return this.handlers.delete.delete(ctx, type);
      case 'deletecollection':
        return this.handlers.delete.deleteCollection(ctx, type);
    }
    throw methodNotSupported(type.group, type.resource, info.verb);
  }
}
