/**
 * Handle stage, deletes: preconditions, dryRun, pod deletion (pod-deletion.ts: marked with a
 * deletionTimestamp, then removed at once or by the simulated kubelet later), namespace
 * deletion, deletecollection.
 */
import type { Controllers } from '../../controllers.js';
import { isObject } from '../../json.js';
import { deletePod, type PodTerminator } from '../../pod-deletion.js';
import { podResourceType } from '../../pods.js';
import { apiVersionOf, type ResourceType } from '../../resource-type.js';
import { namespaceType } from '../../resources.js';
import type { ClusterState } from '../../state.js';
import { forbidden, preconditionFailed } from '../../status.js';
import type { JsonObject, StoredObject } from '../../store.js';
import { matchesFilter, type WatchFilter } from '../../watch.js';
import { decodeDeleteOptions } from '../body.js';
import type { RequestContext } from '../context.js';
import { lookup, requireVerb } from '../objects.js';
import type { Responder } from '../respond.js';
import { compareKeys, parseSelectors } from './read.js';

export class DeleteHandlers {
  constructor(
    private readonly state: ClusterState,
    private readonly controllers: Controllers,
    private readonly lifecycle: PodTerminator,
    private readonly respond: Responder,
  ) {}

  async delete(ctx: RequestContext, type: ResourceType): Promise<void> {
    requireVerb(type, 'delete');
    const opts = await decodeDeleteOptions(ctx.req);
    const prev = lookup(this.state, type, ctx.info);
    const result = this.deleteObject(ctx, type, prev, opts);
    if (type.returnsDeletedObject)
      return this.respond.send(
        ctx.res,
        ctx.auditId,
        200,
        this.state.collection(type).render(result),
      );
    this.respond.send(
      ctx.res,
      ctx.auditId,
      200,
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: {
          name: prev.name,
          ...(type.group ? { group: type.group } : {}),
          kind: type.resource,
          uid: prev.uid,
        },
      }),
    );
  }

  private deleteObject(
    ctx: RequestContext,
    type: ResourceType,
    prev: StoredObject,
    opts: JsonObject,
  ): StoredObject {
    const pre = opts.preconditions as JsonObject | undefined;
    if (isObject(pre)) {
      if (typeof pre.uid === 'string' && pre.uid !== prev.uid)
        throw preconditionFailed(
          type.group,
          type.resource,
          prev.namespace,
          prev.name,
          `UID in precondition: ${pre.uid}, UID in object meta: ${prev.uid}`,
        );
      if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== String(prev.rv))
        throw preconditionFailed(
          type.group,
          type.resource,
          prev.namespace,
          prev.name,
          `ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${prev.rv}`,
        );
    }
    const dryRun =
      ctx.query.getAll('dryRun').includes('All') ||
      (Array.isArray(opts.dryRun) && opts.dryRun.includes('All'));
    if (dryRun) return prev;
    if (type === namespaceType) {
      if (['default', 'kube-system', 'kube-public'].includes(prev.name))
        throw forbidden('', 'namespaces', prev.name, `this namespace may not be deleted`);
      return this.controllers.deleteNamespace(prev, 200);
    }
    if (type === podResourceType) return this.deletePod(ctx, prev, opts);
    const removed = this.state.remove(type, prev);
    this.controllers.afterDelete(type, removed);
    return removed;
  }

  /** Pod deletion (pod-deletion.ts): marked first, removed now or by the kubelet later. */
  private deletePod(ctx: RequestContext, prev: StoredObject, opts: JsonObject): StoredObject {
    const q = ctx.query.get('gracePeriodSeconds');
    let grace: number | undefined;
    if (q !== null && /^-?\d+$/.test(q)) grace = Number(q);
    else if (typeof opts.gracePeriodSeconds === 'number') grace = opts.gracePeriodSeconds;
    return deletePod(this.state, prev, grace, this.lifecycle);
  }

  async deleteCollection(ctx: RequestContext, type: ResourceType): Promise<void> {
    requireVerb(type, 'deletecollection');
    const opts = await decodeDeleteOptions(ctx.req);
    const { labels, fields } = parseSelectors(type, ctx.query);
    const c = this.state.collection(type);
    const filter: WatchFilter = {
      namespace: type.namespaced ? ctx.info.namespace : undefined,
      labels,
      fields,
    };
    const victims = [...c.values(filter.namespace)]
      .filter((o) => matchesFilter(filter, o))
      .sort(compareKeys);
    const deleted: string[] = [];
    for (const v of victims) deleted.push(this.deleteObject(ctx, type, v, opts).body);
    this.respond.send(
      ctx.res,
      ctx.auditId,
      200,
      `{"kind":"${type.listKind}","apiVersion":"${apiVersionOf(type)}","metadata":{"resourceVersion":"${this.state.resourceVersion}"},"items":[${deleted.join(',')}]}`,
    );
  }
}
