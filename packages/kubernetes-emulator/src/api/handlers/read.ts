/**
 * Handle stage, reads: get (object or server-side table), list (selectors, paging, tables) and
 * watch (initial events, replay from a resourceVersion, 410 Expired as an ERROR event).
 */
import { renderTable, wantsTable, type IncludeObject } from '../../table.js';
import type { SeededRandom } from '../../random.js';
import { apiVersionOf, type ResourceType } from '../../resource-type.js';
import {
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
  type FieldRequirement,
  type LabelSelector,
} from '../../selectors.js';
import type { ClusterState } from '../../state.js';
import { badRequest, gatewayTimeout, resourceExpired } from '../../status.js';
import type { JsonObject, StoredObject } from '../../store.js';
import { matchesFilter, WatchConnection, type WatchFilter } from '../../watch.js';
import type { RequestContext } from '../context.js';
import { lookup, requireVerb } from '../objects.js';
import type { Responder } from '../respond.js';

export class ReadHandlers {
  constructor(
    private readonly state: ClusterState,
    private readonly random: SeededRandom,
    private readonly respond: Responder,
    /** Open watch streams (ended at shutdown). */
    private readonly watches: Set<WatchConnection>,
  ) {}

  get(ctx: RequestContext, type: ResourceType): void {
    requireVerb(type, 'get');
    const obj = lookup(this.state, type, ctx.info);
    if (wantsTable(ctx.req.headers.accept)) {
      const include = (ctx.query.get('includeObject') as IncludeObject | null) ?? 'Metadata';
      return this.respond.send(
        ctx.res,
        ctx.auditId,
        200,
        renderTable(type, [obj], { resourceVersion: String(obj.rv) }, include),
      );
    }
    this.respond.send(ctx.res, ctx.auditId, 200, this.state.collection(type).render(obj));
  }

  list(ctx: RequestContext, type: ResourceType): void {
    requireVerb(type, 'list');
    const { query } = ctx;
    const { labels, fields } = parseSelectors(type, query);
    checkResourceVersion(this.state, query);
    const c = this.state.collection(type);
    const filter: WatchFilter = {
      namespace: type.namespaced && ctx.info.namespace !== '' ? ctx.info.namespace : undefined,
      labels,
      fields,
    };
    const items: StoredObject[] = [];
    // metadata.name=x is a lookup, not a scan.
    const nameReq = fields.find((f) => f.field === 'metadata.name' && !f.negate);
    if (nameReq && filter.namespace !== undefined) {
      const o = c.get(filter.namespace, nameReq.value);
      if (o && matchesFilter(filter, o)) items.push(o);
    } else {
      for (const o of c.values(filter.namespace)) if (matchesFilter(filter, o)) items.push(o);
    }
    items.sort(compareKeys);
    let start = 0;
    const cont = query.get('continue');
    if (cont) {
      const after = decodeContinue(cont);
      start = items.findIndex((o) => keyOf(o) > after);
      if (start < 0) start = items.length;
    }
    const limitRaw = query.get('limit');
    const limit = limitRaw && /^\d+$/.test(limitRaw) ? Number(limitRaw) : 0;
    const rv = String(this.state.resourceVersion);
    let page = start === 0 ? items : items.slice(start);
    const meta: JsonObject = { resourceVersion: rv };
    if (limit > 0 && page.length > limit) {
      page = page.slice(0, limit);
      const last = page[page.length - 1] as StoredObject;
      meta.continue = encodeContinue(Number(rv), keyOf(last));
      if (labels.empty && fields.length === 0)
        meta.remainingItemCount = items.length - start - limit;
    }
    if (wantsTable(ctx.req.headers.accept)) {
      const include = (ctx.query.get('includeObject') as IncludeObject | null) ?? 'Metadata';
      return this.respond.send(ctx.res, ctx.auditId, 200, renderTable(type, page, meta, include));
    }
    const parts: string[] = new Array<string>(page.length);
    for (let i = 0; i < page.length; i++) parts[i] = (page[i] as StoredObject).body;
    const body = `{"kind":"${type.listKind}","apiVersion":"${apiVersionOf(type)}","metadata":${JSON.stringify(meta)},"items":[${parts.join(',')}]}`;
    this.respond.send(ctx.res, ctx.auditId, 200, body);
  }

  watch(ctx: RequestContext, type: ResourceType): void {
    requireVerb(type, 'watch');
    const { query, res } = ctx;
    const { labels, fields } = parseSelectors(type, query);
    const c = this.state.collection(type);
    const rvParam = query.get('resourceVersion');
    const since = checkResourceVersion(this.state, query);
    const timeoutParam = query.get('timeoutSeconds');
    const cfg = this.state.config;
    const timeoutMs =
      timeoutParam && /^\d+$/.test(timeoutParam)
        ? Number(timeoutParam) * 1000
        : cfg.defaultWatchTimeoutSeconds * 1000 * (1 + this.random.next());
    const table = wantsTable(ctx.req.headers.accept);
    const filter: WatchFilter = {
      namespace: type.namespaced && ctx.info.namespace !== '' ? ctx.info.namespace : undefined,
      labels,
      fields,
    };
    const bookmarks = query.get('allowWatchBookmarks') === 'true';
    const sendInitialEvents = query.get('sendInitialEvents') === 'true';
    const conn: WatchConnection = new WatchConnection({
      res,
      collection: c,
      filter,
      bookmarks,
      bookmarkIntervalMs: cfg.bookmarkIntervalMs,
      timeoutMs,
      currentRv: () => this.state.resourceVersion,
      renderLine: table
        ? (t, obj, first) =>
            `{"type":"${t}","object":${renderTable(type, [obj], { resourceVersion: String(obj.rv) }, 'Metadata', first)}}\n`
        : undefined,
      onClose: (w) => this.watches.delete(w),
    });
    this.watches.add(conn);
    if (since === undefined || (rvParam === '0' && sendInitialEvents) || sendInitialEvents) {
      conn.start({
        added: c.values(filter.namespace),
        initialEventsEnd: sendInitialEvents && bookmarks,
      });
      return;
    }
    const replay = c.history.since(since);
    if (replay === undefined) {
      const oldest = c.history.oldestRv ?? this.state.resourceVersion + 1;
      const status = resourceExpired(
        `too old resource version: ${since} (${oldest - 1})`,
      ).toStatus();
      this.watches.delete(conn);
      res.writeHead(200, { ...this.respond.headers(ctx.auditId), 'Transfer-Encoding': 'chunked' });
      res.end(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
      return;
    }
    conn.start({ replay });
  }
}

export function parseSelectors(
  type: ResourceType,
  query: URLSearchParams,
): { labels: LabelSelector; fields: FieldRequirement[] } {
  let labels: LabelSelector;
  let fields: FieldRequirement[];
  try {
    labels = parseLabelSelector(query.get('labelSelector') ?? undefined);
    fields = parseFieldSelector(query.get('fieldSelector') ?? undefined);
  } catch (e) {
    if (e instanceof SelectorParseError) throw badRequest(e.message);
    throw e;
  }
  for (const f of fields)
    if (
      f.field !== 'metadata.name' &&
      f.field !== 'metadata.namespace' &&
      !type.fieldLabels?.[f.field]
    )
      throw badRequest(`field label not supported: ${f.field}`);
  return { labels, fields };
}

export function checkResourceVersion(
  state: ClusterState,
  query: URLSearchParams,
): number | undefined {
  const rv = query.get('resourceVersion');
  if (rv === null || rv === '' || rv === '0') return undefined;
  if (!/^\d+$/.test(rv))
    throw badRequest(`Invalid value: "${rv}": must be a valid resourceVersion`);
  const n = Number(rv);
  const current = state.resourceVersion;
  if (n > current) {
    const e = gatewayTimeout(`Too large resource version: ${n}, current: ${current}`, 1);
    e.details!.causes = [
      { reason: 'ResourceVersionTooLarge', message: 'Too large resource version' },
    ];
    throw e;
  }
  return n;
}

export function keyOf(o: StoredObject): string {
  return `${o.namespace}/${o.name}`;
}

export function compareKeys(a: StoredObject, b: StoredObject): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` }),
  ).toString('base64');
}

function decodeContinue(token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      v?: string;
      start?: string;
    };
    if (v.v !== 'meta.k8s.io/v1' || typeof v.start !== 'string') throw new Error('bad');
    return v.start.endsWith('\u0000') ? v.start.slice(0, -1) : v.start;
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}
