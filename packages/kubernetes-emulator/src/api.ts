/**
 * The Kubernetes REST API of one emulated cluster. Requests pass the stages of kube-apiserver
 * in its order: faults (latency, reset, black-hole) -> authentication (401) -> APF (429) ->
 * authorization (403) -> decoding (400/415) -> namespace lifecycle (404) -> defaults ->
 * validation (422) -> validating admission (403) -> storage (409).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { parse as parseYaml } from 'yaml';

import { ANONYMOUS, API_AUDIENCE, serviceAccountUser, type TokenAuthenticator } from './auth.js';
import type { Admission, AdmissionName } from './admission.js';
import type { Controllers } from './controllers.js';
import { KUBERNETES_VERSION, type Discovery } from './discovery.js';
import type { FaultState } from './faults.js';
import type { PodLifecycle } from './lifecycle.js';
import { managedFieldsEntry, managerFromUserAgent, upsertManagedFields } from './managed-fields.js';
import { jsonPatch, mergePatch, strategicMerge } from './patch.js';
import { connectError, resolveContainer } from './pod-connect.js';
import { podResourceType } from './pods.js';
import { decodeProtobuf, openApiV2Protobuf, protobufDecodable } from './protobuf.js';
import { NAME_SUFFIX_ALPHABET, type SeededRandom } from './random.js';
import type { AuthorizationAttributes, RbacAuthorizer } from './rbac.js';
import {
  apiVersionOf,
  metadataOf,
  type ResourceType,
  type StrategyContext,
  type UserInfo,
} from './resource-type.js';
import {
  findType,
  localSubjectAccessReviewType,
  namespaceType,
  nodeType,
  selfSubjectAccessReviewType,
  selfSubjectReviewType,
  selfSubjectRulesReviewType,
  serviceAccountType,
  subjectAccessReviewType,
  tokenReviewType,
} from './resources.js';
import {
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
  type FieldRequirement,
  type LabelSelector,
} from './selectors.js';
import { rfc3339, type ClusterState } from './state.js';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  gatewayTimeout,
  internalError,
  invalid,
  methodNotSupported,
  notAcceptable,
  notFound,
  requestEntityTooLarge,
  resourceExpired,
  serverTimeout,
  serviceUnavailable,
  TOO_MANY_REQUESTS_TEXT,
  unauthorized,
  unsupportedMediaType,
  type FieldError,
} from './status.js';
import { renderTable, wantsTable, type IncludeObject } from './table.js';
import type { Collection, JsonObject, StoredObject } from './store.js';
import { WatchConnection, matchesFilter, type WatchFilter } from './watch.js';
import type { EmulatorStats, FaultAmbiguousWrite } from './types.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const CORE_GROUP_NOT_FOUND = 'the server could not find the requested resource';

/** Parsed request path (k8s.io/apiserver RequestInfoFactory, for the forms served here). */
export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const METHOD_VERBS: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

export function parseRequestInfo(
  method: string,
  path: string,
  query: URLSearchParams,
): RequestInfo {
  const parts = path.split('/').filter((p) => p !== '');
  const info: RequestInfo = {
    resourceRequest: false,
    path,
    verb: METHOD_VERBS[method] ?? method.toLowerCase(),
    group: '',
    version: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    info.version = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    info.group = parts[1] as string;
    info.version = parts[2] as string;
    rest = parts.slice(3);
  } else {
    return info;
  }
  info.resourceRequest = true;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    // As upstream: the namespace of /namespaces/<ns>/... and of the Namespace object itself.
    info.namespace = decodeURIComponent(rest[1] as string);
    if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
  }
  info.resource = rest[0] as string;
  if (rest.length >= 2) info.name = decodeURIComponent(rest[1] as string);
  if (rest.length >= 3) info.subresource = rest[2] as string;
  if (info.name === '' && info.verb === 'get') {
    const w = query.get('watch');
    info.verb = w === 'true' || w === '1' ? 'watch' : 'list';
    const fs = query.get('fieldSelector');
    if (fs) {
      const m = /(?:^|,)metadata\.name==?([^,]*)/.exec(fs);
      if (m && m[1] && !m[1].includes('/')) info.name = m[1];
    }
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

export interface ApiDeps {
  state: ClusterState;
  auth: TokenAuthenticator;
  rbac: RbacAuthorizer;
  faults: FaultState;
  lifecycle: PodLifecycle;
  controllers: Controllers;
  admission: Admission;
  discovery: Discovery;
  random: SeededRandom;
  stats: Pick<EmulatorStats, 'requests' | 'byVerb' | 'connections'>;
  /** Handles /_emulator/* (admin endpoint). */
  admin: (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: () => Promise<Buffer>,
  ) => Promise<void>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  info: RequestInfo;
  query: URLSearchParams;
  user: UserInfo;
  auditId: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ClusterApi {
  private readonly watches = new Set<WatchConnection>();
  private readonly held = new Set<ServerResponse>();
  /** Writes chosen for an ambiguous-write fault: their successful answer is lost or late. */
  private readonly ambiguous = new WeakMap<
    ServerResponse,
    { spec: FaultAmbiguousWrite; info: RequestInfo }
  >();
  private readonly lateAnswers = new Set<NodeJS.Timeout>();
  /** Admission warnings of a request, sent as `Warning` headers with its answer. */
  private readonly warnings = new WeakMap<ServerResponse, string[]>();
  private readonly flowSchemaUid: string;
  private readonly priorityLevelUid: string;

  constructor(private readonly d: ApiDeps) {
    this.flowSchemaUid = d.random.uuid();
    this.priorityLevelUid = d.random.uuid();
  }

  /** Ends watches and held (black-holed) requests; used by stop(). */
  shutdown(): void {
    for (const w of [...this.watches]) w.end();
    for (const r of this.held) r.destroy();
    this.held.clear();
    for (const t of this.lateAnswers) clearTimeout(t);
    this.lateAnswers.clear();
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
      this.sendError(res, randomUUID(), e);
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    if (path.startsWith('/_emulator/') || path === '/_emulator') {
      await this.d.admin(req, res, path, () => readBody(req));
      return;
    }
    const faults = this.d.faults;
    if (faults.blackhole) {
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    if (faults.connectionReset) {
      resetSocket(req);
      return;
    }
    const delay = faults.latency();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    this.d.stats.requests++;
    const auditId = randomUUID();

    // 1. Authentication.
    let user = this.authenticate(req);
    if (user === undefined) return this.sendError(res, auditId, unauthorized());

    // 2. Priority and fairness.
    const retryAfter = faults.takeThrottle();
    if (retryAfter !== undefined) {
      res.writeHead(429, {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        'Retry-After': String(retryAfter),
        'Audit-Id': auditId,
        'X-Kubernetes-Pf-Flowschema-Uid': this.flowSchemaUid,
        'X-Kubernetes-Pf-Prioritylevel-Uid': this.priorityLevelUid,
        'Content-Length': Buffer.byteLength(TOO_MANY_REQUESTS_TEXT),
      });
      res.end(TOO_MANY_REQUESTS_TEXT);
      return;
    }

    const info = parseRequestInfo(req.method ?? 'GET', path, query);
    this.d.stats.byVerb[info.verb] = (this.d.stats.byVerb[info.verb] ?? 0) + 1;

    // Impersonation (kubectl --as), authorized like upstream.
    const impersonated = this.impersonate(req, user, auditId, res);
    if (impersonated === null) return;
    user = impersonated;

    const ctx: Ctx = { req, res, info, query, user, auditId };
    if (!info.resourceRequest) return this.nonResource(ctx);

    // 3. Authorization.
    const decision = this.d.rbac.authorize(this.attributes(info, user));
    if (!decision.allowed) {
      const why = forbiddenWhy(info, user);
      return this.sendError(res, auditId, forbidden(info.group, info.resource, info.name, why));
    }

    const injected = faults.injectedError(info);
    if (injected !== undefined) return this.sendError(res, auditId, injectedError(injected, info));
    const ambiguous = faults.ambiguousWrite(info);
    if (ambiguous !== undefined) this.ambiguous.set(res, { spec: ambiguous, info });

    const type = findType(info.group, info.resource);
    if (
      !type ||
      type.version !== info.version ||
      (info.namespace !== '' && !type.namespaced && !(type === namespaceType))
    ) {
      return this.sendError(res, auditId, new ApiError(404, 'NotFound', '404 page not found'));
    }
    await this.resource(ctx, type);
  }

  private authenticate(req: IncomingMessage): UserInfo | undefined {
    const header = req.headers.authorization;
    if (header === undefined || header === '') return ANONYMOUS;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return undefined;
    return this.d.auth.authenticate(m[1] as string);
  }

  /** Returns the effective user, or null after answering 403. */
  private impersonate(
    req: IncomingMessage,
    user: UserInfo,
    auditId: string,
    res: ServerResponse,
  ): UserInfo | null {
    const as = req.headers['impersonate-user'];
    if (typeof as !== 'string' || as === '') return user;
    const saMatch = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(as);
    const attrs: AuthorizationAttributes = saMatch
      ? {
          user,
          verb: 'impersonate',
          resourceRequest: true,
          namespace: saMatch[1] as string,
          group: '',
          resource: 'serviceaccounts',
          subresource: '',
          name: saMatch[2] as string,
          path: '',
        }
      : {
          user,
          verb: 'impersonate',
          resourceRequest: true,
          namespace: '',
          group: '',
          resource: 'users',
          subresource: '',
          name: as,
          path: '',
        };
    if (!this.d.rbac.authorize(attrs).allowed) {
      this.sendError(
        res,
        auditId,
        forbidden(
          attrs.group,
          attrs.resource,
          attrs.name,
          `User "${user.name}" cannot impersonate resource "${attrs.resource}" in API group "" ${attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope'}`,
        ),
      );
      return null;
    }
    if (saMatch) {
      const sa = this.d.state
        .collection(serviceAccountType)
        .get(saMatch[1] as string, saMatch[2] as string);
      return serviceAccountUser(saMatch[1] as string, saMatch[2] as string, sa?.uid ?? '');
    }
    const groups = req.headers['impersonate-group'];
    const list = Array.isArray(groups) ? groups : groups ? [groups] : [];
    return { name: as, uid: '', groups: [...list, 'system:authenticated'] };
  }

  private attributes(info: RequestInfo, user: UserInfo): AuthorizationAttributes {
    return {
      user,
      verb: info.verb,
      resourceRequest: info.resourceRequest,
      namespace: info.namespace,
      group: info.group,
      resource: info.resource,
      subresource: info.subresource,
      name: info.name,
      path: info.path,
    };
  }

  // ---- responses ----------------------------------------------------------------------

  private headers(auditId: string, contentType = 'application/json'): Record<string, string> {
    return {
      'Audit-Id': auditId,
      'Cache-Control': 'no-cache, private',
      'Content-Type': contentType,
      'X-Kubernetes-Pf-Flowschema-Uid': this.flowSchemaUid,
      'X-Kubernetes-Pf-Prioritylevel-Uid': this.priorityLevelUid,
    };
  }

  private send(
    res: ServerResponse,
    auditId: string,
    code: number,
    body: string,
    contentType?: string,
  ): void {
    const ambiguous = code < 300 ? this.ambiguous.get(res) : undefined;
    if (ambiguous !== undefined) {
      this.ambiguous.delete(res);
      return this.loseAnswer(res, auditId, ambiguous.spec, ambiguous.info, () =>
        this.send(res, auditId, code, body, contentType),
      );
    }
    const h: Record<string, string | string[]> = this.headers(auditId, contentType);
    h['Content-Length'] = String(Buffer.byteLength(body));
    const warnings = this.warnings.get(res);
    if (warnings !== undefined && warnings.length > 0) h.Warning = warnings.map(warningHeader);
    res.writeHead(code, h);
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  /** Adds admission warnings to the request's answer (deduplicated, as the apiserver does). */
  private warn(ctx: Ctx, warnings: readonly string[]): void {
    if (warnings.length === 0) return;
    const list = this.warnings.get(ctx.res) ?? [];
    for (const w of warnings) if (!list.includes(w)) list.push(w);
    this.warnings.set(ctx.res, list);
  }

  /**
   * The write is committed; the client does not learn it: the connection is reset, the answer
   * comes after `delayMs` (past a client's timeout), or a 500 ServerTimeout / 504 Timeout
   * replaces it, as when etcd or the request timeout answers before the commit is reported.
   */
  private loseAnswer(
    res: ServerResponse,
    auditId: string,
    spec: FaultAmbiguousWrite,
    info: RequestInfo,
    answer: () => void,
  ): void {
    switch (spec.outcome) {
      case 'reset':
        return resetSocket(res.req);
      case 'delay': {
        const timer = setTimeout(() => {
          this.lateAnswers.delete(timer);
          if (!res.destroyed && !res.writableEnded) answer();
        }, spec.delayMs ?? 0);
        this.lateAnswers.add(timer);
        return;
      }
      case 500:
        return this.sendError(
          res,
          auditId,
          serverTimeout(info.group, info.resource, operationOf(info.verb)),
        );
      case 504:
        return this.sendError(res, auditId, requestTimeout());
    }
  }

  private sendError(res: ServerResponse, auditId: string, e: ApiError): void {
    const body = JSON.stringify(e.toStatus());
    const h = this.headers(auditId);
    h['Content-Length'] = String(Buffer.byteLength(body));
    const ra = e.retryAfterSeconds;
    if (ra !== undefined) h['Retry-After'] = String(ra);
    res.writeHead(e.code, h);
    res.end(body);
  }

  // ---- non-resource paths -------------------------------------------------------------

  private nonResource(ctx: Ctx): void {
    const { res, info, user, auditId } = ctx;
    const path = info.path;
    const decision = this.d.rbac.authorize(this.attributes(info, user));
    if (!decision.allowed)
      return this.sendError(
        res,
        auditId,
        forbidden('', '', '', `User "${user.name}" cannot ${info.verb} path "${path}"`),
      );
    if (path === '/healthz' || path === '/livez' || path === '/readyz')
      return this.send(res, auditId, 200, 'ok', 'text/plain; charset=utf-8');
    if (path === '/openapi/v2') {
      const accept = ctx.req.headers.accept ?? '';
      if (accept.includes('protobuf')) {
        const body = openApiV2Protobuf('Kubernetes', KUBERNETES_VERSION.gitVersion);
        res.writeHead(200, {
          ...this.headers(auditId, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'),
          'Content-Length': String(body.length),
        });
        res.end(body);
        return;
      }
      return this.send(
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
      return this.send(res, auditId, 200, this.d.discovery.openApiV3Index());
    if (path.startsWith('/openapi/v3/')) {
      const doc = this.d.discovery.openApiV3(path.slice('/openapi/v3/'.length));
      if (doc) return this.send(res, auditId, 200, doc);
    }
    const doc = this.d.discovery.document(path);
    if (doc !== undefined) {
      if (!acceptsJson(ctx.req.headers.accept))
        return this.sendError(res, auditId, notAcceptable());
      return this.send(res, auditId, 200, doc);
    }
    this.sendError(res, auditId, new ApiError(404, 'NotFound', CORE_GROUP_NOT_FOUND));
  }

  // ---- resources ----------------------------------------------------------------------

  private async resource(ctx: Ctx, type: ResourceType): Promise<void> {
    const { info } = ctx;
    const method = ctx.req.method ?? 'GET';
    const sub = info.subresource;
    if (type.virtual) {
      if (method !== 'POST' || info.name !== '')
        throw methodNotSupported(type.group, type.resource, info.verb);
      return this.review(ctx, type, await this.decode(ctx, type.kind));
    }
    if (sub !== '') {
      if (!type.subresources?.[sub]) throw new ApiError(404, 'NotFound', '404 page not found');
      if (type === serviceAccountType && sub === 'token' && method === 'POST')
        return this.tokenRequest(ctx, await this.decode(ctx, 'TokenRequest'));
      if (type === podResourceType && sub === 'log' && (method === 'GET' || method === 'HEAD'))
        return this.podLog(ctx);
      if (
        type === podResourceType &&
        (sub === 'exec' || sub === 'attach' || sub === 'portforward') &&
        (method === 'GET' || method === 'POST')
      )
        connectError(ctx.req, sub, this.lookup(type, info).parse(), ctx.query, (node) =>
          this.d.state.collection(nodeType).get('', node)?.parse(),
        );
      if (sub === 'status' || sub === 'finalize') {
        if (method === 'GET' && sub === 'status') return this.get(ctx, type);
        if (method === 'PUT') return this.update(ctx, type, await this.decode(ctx), true);
        if (method === 'PATCH') return this.patch(ctx, type, true);
      }
      throw methodNotSupported(type.group, `${type.resource}/${sub}`, info.verb);
    }
    switch (info.verb) {
      case 'get':
        return this.get(ctx, type);
      case 'list':
        return this.list(ctx, type);
      case 'watch':
        return this.watch(ctx, type);
      case 'create':
        if (info.name !== '') throw methodNotSupported(type.group, type.resource, 'create');
        return this.create(ctx, type, await this.decode(ctx, type.kind));
      case 'update':
        return this.update(ctx, type, await this.decode(ctx), false);
      case 'patch':
        return this.patch(ctx, type, false);
      case 'delete':
        return this.delete(ctx, type);
      case 'deletecollection':
        return this.deleteCollection(ctx, type);
    }
    throw methodNotSupported(type.group, type.resource, info.verb);
  }

  private requireVerb(type: ResourceType, verb: string): void {
    if (!type.verbs.includes(verb)) throw methodNotSupported(type.group, type.resource, verb);
  }

  /** Reads and decodes a JSON, YAML or (for the review/token kinds) protobuf body (400/413/415). */
  private async decode(ctx: Ctx, kind?: string): Promise<JsonObject> {
    const ct = (ctx.req.headers['content-type'] ?? 'application/json')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    const protobuf = kind !== undefined && protobufDecodable(kind);
    if (ct === PROTOBUF && protobuf) return decodeProtobuf(await readBody(ctx.req));
    if (ct !== 'application/json' && ct !== 'application/yaml')
      throw unsupportedMediaType(
        `application/json, application/yaml${protobuf ? `, ${PROTOBUF}` : ''}`,
      );
    const raw = await readBody(ctx.req);
    const text = raw.toString('utf8');
    let value: unknown;
    try {
      value = ct === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
    } catch (e) {
      throw badRequest(
        `couldn't get version/kind; json parse error: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (!isObject(value))
      throw badRequest(`couldn't get version/kind; json parse error: expected an object`);
    return value;
  }

  private strategyContext(ctx: Ctx): StrategyContext {
    const now = new Date();
    const dryRun = ctx.query.getAll('dryRun');
    for (const v of dryRun)
      if (v !== 'All')
        throw invalid('meta.k8s.io', 'CreateOptions', '', [
          {
            type: 'FieldValueNotSupported',
            field: 'dryRun',
            value: v,
            detail: 'supported values: "All"',
          },
        ]);
    return {
      now,
      nowIso: rfc3339(now.getTime()),
      random: this.d.random,
      manager: ctx.query.get('fieldManager') || managerFromUserAgent(ctx.req.headers['user-agent']),
      user: ctx.user,
      dryRun: dryRun.length > 0,
    };
  }

  private checkKind(type: ResourceType, obj: JsonObject): void {
    const kind = obj.kind;
    const apiVersion = obj.apiVersion;
    if (kind !== undefined && kind !== '' && kind !== type.kind)
      throw badRequest(
        `${String(kind)} in version "${String(apiVersion ?? type.version)}" cannot be handled as a ${type.kind}: no kind "${String(kind)}" is registered for version "${apiVersionOf(type)}" in scheme "pkg/api/legacyscheme/scheme.go:30"`,
      );
    if (apiVersion !== undefined && apiVersion !== '' && apiVersion !== apiVersionOf(type))
      throw badRequest(
        `the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`,
      );
    if (obj.metadata !== undefined && !isObject(obj.metadata))
      throw badRequest(
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: json: cannot unmarshal into Go struct field ${type.kind}.metadata of type v1.ObjectMeta`,
      );
  }

  /** NamespaceLifecycle admission for writes into a namespace (404 / 403 terminating). */
  private admitNamespace(type: ResourceType, namespace: string, name: string): void {
    if (!type.namespaced) return;
    if (!this.d.state.collection(namespaceType).get('', namespace))
      throw notFound('', 'namespaces', namespace);
    if (this.d.controllers.isTerminating(namespace)) {
      const e = forbidden(
        type.group,
        type.resource,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
      e.details!.causes = [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${namespace} is being terminated`,
          field: 'metadata.namespace',
        },
      ];
      throw e;
    }
  }

  private generateName(type: ResourceType, namespace: string, base: string): string {
    const c = this.d.state.collection(type);
    const prefix = base.length > 58 ? base.slice(0, 58) : base;
    let name = '';
    for (let i = 0; i < 8; i++) {
      name = prefix + this.d.random.chars(NAME_SUFFIX_ALPHABET, 5);
      if (!c.get(namespace, name)) return name;
    }
    const e = alreadyExists(type.group, type.resource, name);
    throw new ApiError(
      409,
      'AlreadyExists',
      `${e.message}, the server was not able to generate a unique name for the object`,
      { ...e.details, retryAfterSeconds: 1 },
    );
  }

  private async create(
    ctx: Ctx,
    type: ResourceType,
    body: JsonObject,
    status = 201,
  ): Promise<void> {
    this.requireVerb(type, 'create');
    const stored = this.createObject(ctx, type, body);
    this.send(ctx.res, ctx.auditId, status, this.d.state.collection(type).render(stored));
  }

  /** The create pipeline without the HTTP response (also used by server-side apply). */
  private createObject(ctx: Ctx, type: ResourceType, body: JsonObject): StoredObject {
    const sctx = this.strategyContext(ctx);
    this.checkKind(type, body);
    const meta = metadataOf(body);
    const namespace = ctx.info.namespace;
    if (type.namespaced) {
      if (
        typeof meta.namespace === 'string' &&
        meta.namespace !== '' &&
        meta.namespace !== namespace
      )
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      meta.namespace = namespace;
    } else delete meta.namespace;
    this.admitNamespace(type, namespace, typeof meta.name === 'string' ? meta.name : '');
    const names: AdmissionName = {
      name: typeof meta.name === 'string' ? meta.name : '',
      generateName: typeof meta.generateName === 'string' ? meta.generateName : '',
    };
    const managed = managedFieldsEntry({
      manager: sctx.manager,
      operation: 'Update',
      apiVersion: apiVersionOf(type),
      time: sctx.nowIso,
      body,
    });
    if (
      (typeof meta.name !== 'string' || meta.name === '') &&
      typeof meta.generateName === 'string' &&
      meta.generateName !== ''
    )
      meta.name = this.generateName(type, namespace, meta.generateName);
    for (const k of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'managedFields',
      'selfLink',
    ])
      delete meta[k];
    delete body.kind;
    delete body.apiVersion;
    if (!type.keepsStatus && type !== podResourceType) delete body.status;
    type.prepareForCreate?.(body, sctx);
    const fresh = metadataOf(body);
    const name = typeof fresh.name === 'string' ? fresh.name : '';
    // Mutating admission runs before validation, validating admission after.
    if (type === podResourceType) this.d.admission.mutatePod(namespace, names, body);
    const errs: FieldError[] = type.validate ? type.validate(body) : [];
    if (errs.length > 0) throw invalid(type.group, type.kind, name, errs);
    if (type === podResourceType)
      this.warn(ctx, this.d.admission.validatePod(namespace, names, body));
    else if (type === namespaceType)
      this.warn(ctx, this.d.admission.validateNamespace(body, undefined));
    const c = this.d.state.collection(type);
    if (c.get(type.namespaced ? namespace : '', name))
      throw alreadyExists(type.group, type.resource, name);
    fresh.managedFields = [managed];
    if (sctx.dryRun) {
      metadataOf(body).uid = this.d.random.uuid();
      metadataOf(body).creationTimestamp = sctx.nowIso;
      return this.d.state.serialize(type, body, this.d.state.resourceVersion);
    }
    const stored = this.d.state.insert(type, body, sctx.now.getTime());
    this.d.controllers.afterCreate(type, stored);
    return stored;
  }

  private lookup(type: ResourceType, info: RequestInfo): StoredObject {
    const c = this.d.state.collection(type);
    const obj =
      type === namespaceType
        ? c.get('', info.name)
        : c.get(type.namespaced ? info.namespace : '', info.name);
    if (!obj) throw notFound(type.group, type.resource, info.name);
    return obj;
  }

  private get(ctx: Ctx, type: ResourceType): void {
    this.requireVerb(type, 'get');
    const obj = this.lookup(type, ctx.info);
    if (wantsTable(ctx.req.headers.accept)) {
      const include = (ctx.query.get('includeObject') as IncludeObject | null) ?? 'Metadata';
      return this.send(
        ctx.res,
        ctx.auditId,
        200,
        renderTable(type, [obj], { resourceVersion: String(obj.rv) }, include),
      );
    }
    this.send(ctx.res, ctx.auditId, 200, this.d.state.collection(type).render(obj));
  }

  private selectors(
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

  private checkResourceVersion(query: URLSearchParams): number | undefined {
    const rv = query.get('resourceVersion');
    if (rv === null || rv === '' || rv === '0') return undefined;
    if (!/^\d+$/.test(rv))
      throw badRequest(`Invalid value: "${rv}": must be a valid resourceVersion`);
    const n = Number(rv);
    const current = this.d.state.resourceVersion;
    if (n > current) {
      const e = gatewayTimeout(`Too large resource version: ${n}, current: ${current}`, 1);
      e.details!.causes = [
        { reason: 'ResourceVersionTooLarge', message: 'Too large resource version' },
      ];
      throw e;
    }
    return n;
  }

  private list(ctx: Ctx, type: ResourceType): void {
    this.requireVerb(type, 'list');
    const { query } = ctx;
    const { labels, fields } = this.selectors(type, query);
    this.checkResourceVersion(query);
    const c = this.d.state.collection(type);
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
    const rv = String(this.d.state.resourceVersion);
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
      return this.send(ctx.res, ctx.auditId, 200, renderTable(type, page, meta, include));
    }
    const parts: string[] = new Array<string>(page.length);
    for (let i = 0; i < page.length; i++) parts[i] = (page[i] as StoredObject).body;
    const body = `{"kind":"${type.listKind}","apiVersion":"${apiVersionOf(type)}","metadata":${JSON.stringify(meta)},"items":[${parts.join(',')}]}`;
    this.send(ctx.res, ctx.auditId, 200, body);
  }

  private watch(ctx: Ctx, type: ResourceType): void {
    this.requireVerb(type, 'watch');
    const { query, res } = ctx;
    const { labels, fields } = this.selectors(type, query);
    const c = this.d.state.collection(type);
    const rvParam = query.get('resourceVersion');
    const since = this.checkResourceVersion(query);
    const timeoutParam = query.get('timeoutSeconds');
    const cfg = this.d.state.config;
    const timeoutMs =
      timeoutParam && /^\d+$/.test(timeoutParam)
        ? Number(timeoutParam) * 1000
        : cfg.defaultWatchTimeoutSeconds * 1000 * (1 + this.d.random.next());
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
      currentRv: () => this.d.state.resourceVersion,
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
      const oldest = c.history.oldestRv ?? this.d.state.resourceVersion + 1;
      const status = resourceExpired(
        `too old resource version: ${since} (${oldest - 1})`,
      ).toStatus();
      this.watches.delete(conn);
      res.writeHead(200, { ...this.headers(ctx.auditId), 'Transfer-Encoding': 'chunked' });
      res.end(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
      return;
    }
    conn.start({ replay });
  }

  private async update(
    ctx: Ctx,
    type: ResourceType,
    body: JsonObject,
    statusSub: boolean,
  ): Promise<void> {
    this.requireVerb(type, 'update');
    const prev = this.lookup(type, ctx.info);
    this.checkKind(type, body);
    const meta = metadataOf(body);
    if (typeof meta.name === 'string' && meta.name !== ctx.info.name)
      throw badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${ctx.info.name})`,
      );
    if (
      type.namespaced &&
      typeof meta.namespace === 'string' &&
      meta.namespace !== '' &&
      meta.namespace !== ctx.info.namespace
    )
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    const stored = this.updateObject(ctx, type, prev, body, statusSub, 'Update', body);
    this.send(ctx.res, ctx.auditId, 200, this.d.state.collection(type).render(stored));
  }

  /** Update pipeline: preconditions, immutable metadata, strategy, validation, store. */
  private updateObject(
    ctx: Ctx,
    type: ResourceType,
    prev: StoredObject,
    body: JsonObject,
    statusSub: boolean,
    operation: 'Update' | 'Apply',
    managedBody: JsonObject,
  ): StoredObject {
    const sctx = this.strategyContext(ctx);
    const old = prev.parse();
    const meta = metadataOf(body);
    const oldMeta = metadataOf(old);
    if (
      typeof meta.resourceVersion === 'string' &&
      meta.resourceVersion !== '' &&
      meta.resourceVersion !== String(prev.rv)
    )
      throw conflict(
        type.group,
        type.resource,
        prev.name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    if (typeof meta.uid === 'string' && meta.uid !== '' && meta.uid !== prev.uid)
      throw conflict(
        type.group,
        type.resource,
        prev.name,
        `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${prev.uid}`,
      );
    meta.name = oldMeta.name;
    if (type.namespaced) meta.namespace = oldMeta.namespace;
    meta.uid = oldMeta.uid;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink']) {
      if (oldMeta[k] !== undefined) meta[k] = oldMeta[k];
      else delete meta[k];
    }
    delete body.kind;
    delete body.apiVersion;
    if (statusSub) {
      // The status subresource changes status only.
      const keepStatus = body.status;
      for (const k of Object.keys(body)) delete body[k];
      Object.assign(body, old, { status: keepStatus });
      body.metadata = { ...oldMeta };
    } else if (type.prepareForUpdate) type.prepareForUpdate(body, old, sctx);
    else if (!type.keepsStatus && old.status !== undefined) body.status = old.status;
    const errs = type.validateUpdate
      ? type.validateUpdate(body, old)
      : type.validate
        ? type.validate(body)
        : [];
    if (errs.length > 0) throw invalid(type.group, type.kind, prev.name, errs);
    if (type === podResourceType && !statusSub)
      this.warn(ctx, this.d.admission.validatePodUpdate(prev.namespace, body, old));
    else if (type === namespaceType && !statusSub)
      this.warn(ctx, this.d.admission.validateNamespace(body, old));
    if (type.tracksGeneration && JSON.stringify(body.spec) !== JSON.stringify(old.spec))
      metadataOf(body).generation = ((oldMeta.generation as number | undefined) ?? 1) + 1;
    // A no-op update keeps the resourceVersion (upstream skips the write).
    metadataOf(body).managedFields = oldMeta.managedFields;
    const candidate = this.d.state.serialize(type, structuredClone(body), prev.rv);
    if (candidate.body === prev.body) return prev;
    const entry = managedFieldsEntry({
      manager: sctx.manager,
      operation,
      apiVersion: apiVersionOf(type),
      time: sctx.nowIso,
      body: managedBody,
      subresource: statusSub ? 'status' : undefined,
    });
    metadataOf(body).managedFields = upsertManagedFields(oldMeta.managedFields, entry);
    if (sctx.dryRun) return candidate;
    const stored = this.d.state.replace(type, body, prev);
    this.d.controllers.afterUpdate(type, stored);
    return stored;
  }

  private async patch(ctx: Ctx, type: ResourceType, statusSub: boolean): Promise<void> {
    this.requireVerb(type, 'patch');
    const ct = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const kinds = [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
      'application/apply-patch+yaml',
    ];
    if (!kinds.includes(ct)) throw unsupportedMediaType(kinds.join(', '));
    const raw = (await readBody(ctx.req)).toString('utf8');
    let patch: unknown;
    try {
      patch = ct === 'application/apply-patch+yaml' ? parseYaml(raw) : JSON.parse(raw);
    } catch (e) {
      throw badRequest(`error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
    }
    const c = this.d.state.collection(type);
    const existing =
      type === namespaceType
        ? c.get('', ctx.info.name)
        : c.get(type.namespaced ? ctx.info.namespace : '', ctx.info.name);
    if (ct === 'application/apply-patch+yaml') {
      if (!ctx.query.get('fieldManager'))
        throw invalid('meta.k8s.io', 'PatchOptions', '', [
          {
            type: 'FieldValueRequired',
            field: 'fieldManager',
            detail: 'is required for apply patch',
          },
        ]);
      if (!isObject(patch)) throw badRequest('error decoding YAML: expected an object');
      if (!existing) {
        const body = structuredClone(patch);
        metadataOf(body).name ??= ctx.info.name;
        const stored = this.createObject(ctx, type, body);
        return this.send(ctx.res, ctx.auditId, 201, c.render(stored));
      }
      const merged = strategicMerge(existing.parse(), patch) as JsonObject;
      const stored = this.updateObject(ctx, type, existing, merged, statusSub, 'Apply', patch);
      return this.send(ctx.res, ctx.auditId, 200, c.render(stored));
    }
    if (!existing) throw notFound(type.group, type.resource, ctx.info.name);
    const current = JSON.parse(c.render(existing)) as JsonObject;
    let next: unknown;
    if (ct === 'application/json-patch+json') next = jsonPatch(current, patch);
    else if (ct === 'application/merge-patch+json') next = mergePatch(current, patch);
    else {
      if (!isObject(patch)) throw badRequest('unable to find api field in struct for the patch');
      next = strategicMerge(current, patch);
    }
    if (!isObject(next)) throw badRequest('the patch produced an object that is not a JSON object');
    const stored = this.updateObject(
      ctx,
      type,
      existing,
      next,
      statusSub,
      'Update',
      isObject(patch) ? patch : {},
    );
    this.send(ctx.res, ctx.auditId, 200, c.render(stored));
  }

  private async deleteOptions(ctx: Ctx): Promise<JsonObject> {
    const len = Number(ctx.req.headers['content-length'] ?? '0');
    const chunked = ctx.req.headers['transfer-encoding'] !== undefined;
    if (len === 0 && !chunked) return {};
    const raw = (await readBody(ctx.req)).toString('utf8').trim();
    if (raw === '') return {};
    try {
      const v = JSON.parse(raw) as unknown;
      return isObject(v) ? v : {};
    } catch (e) {
      throw badRequest(
        `couldn't get version/kind; json parse error: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  private async delete(ctx: Ctx, type: ResourceType): Promise<void> {
    this.requireVerb(type, 'delete');
    const opts = await this.deleteOptions(ctx);
    const prev = this.lookup(type, ctx.info);
    const result = this.deleteObject(ctx, type, prev, opts);
    if (type.returnsDeletedObject)
      return this.send(ctx.res, ctx.auditId, 200, this.d.state.collection(type).render(result));
    this.send(
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
    ctx: Ctx,
    type: ResourceType,
    prev: StoredObject,
    opts: JsonObject,
  ): StoredObject {
    const pre = opts.preconditions as JsonObject | undefined;
    if (isObject(pre)) {
      if (typeof pre.uid === 'string' && pre.uid !== prev.uid)
        throw conflict(
          type.group,
          type.resource,
          prev.name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${prev.uid}`,
        );
      if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== String(prev.rv))
        throw conflict(
          type.group,
          type.resource,
          prev.name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${prev.rv}`,
        );
    }
    const dryRun =
      ctx.query.getAll('dryRun').includes('All') ||
      (Array.isArray(opts.dryRun) && opts.dryRun.includes('All'));
    if (dryRun) return prev;
    if (type === namespaceType) {
      if (['default', 'kube-system', 'kube-public'].includes(prev.name))
        throw forbidden('', 'namespaces', prev.name, `this namespace may not be deleted`);
      return this.d.controllers.deleteNamespace(prev, 200);
    }
    if (type === podResourceType) return this.deletePod(ctx, prev, opts);
    const removed = this.d.state.remove(type, prev);
    this.d.controllers.afterDelete(type, removed);
    return removed;
  }

  /** Graceful pod deletion: deletionTimestamp now, removal by the kubelet later. */
  private deletePod(ctx: Ctx, prev: StoredObject, opts: JsonObject): StoredObject {
    const q = ctx.query.get('gracePeriodSeconds');
    let grace: number | undefined;
    if (q !== null && /^-?\d+$/.test(q)) grace = Number(q);
    else if (typeof opts.gracePeriodSeconds === 'number') grace = opts.gracePeriodSeconds;
    const pod = prev.parse();
    const meta = metadataOf(pod);
    if (grace === undefined)
      grace = ((pod.spec as JsonObject).terminationGracePeriodSeconds as number | undefined) ?? 30;
    if (grace < 0) grace = 1;
    const phase = prev.fields['status.phase'];
    const unscheduled = (prev.fields['spec.nodeName'] ?? '') === '';
    if (grace === 0 || unscheduled || phase === 'Succeeded' || phase === 'Failed') {
      return this.d.state.remove(podResourceType, prev);
    }
    if (meta.deletionTimestamp !== undefined) {
      const current = meta.deletionGracePeriodSeconds as number | undefined;
      if (current !== undefined && grace >= current) return prev;
    }
    if (!this.d.lifecycle.scheduleRemoval(prev.namespace, prev.name, grace))
      return this.d.state.remove(podResourceType, prev);
    meta.deletionTimestamp = rfc3339(Date.now() + grace * 1000);
    meta.deletionGracePeriodSeconds = grace;
    return this.d.state.replace(podResourceType, pod, prev);
  }

  private async deleteCollection(ctx: Ctx, type: ResourceType): Promise<void> {
    this.requireVerb(type, 'deletecollection');
    const opts = await this.deleteOptions(ctx);
    const { labels, fields } = this.selectors(type, ctx.query);
    const c = this.d.state.collection(type);
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
    this.send(
      ctx.res,
      ctx.auditId,
      200,
      `{"kind":"${type.listKind}","apiVersion":"${apiVersionOf(type)}","metadata":{"resourceVersion":"${this.d.state.resourceVersion}"},"items":[${deleted.join(',')}]}`,
    );
  }

  // ---- subresources -------------------------------------------------------------------

  private tokenRequest(ctx: Ctx, body: JsonObject): void {
    const { info } = ctx;
    const spec = (isObject(body.spec) ? body.spec : {}) as JsonObject;
    const exp =
      spec.expirationSeconds === undefined || spec.expirationSeconds === null
        ? 3600
        : spec.expirationSeconds;
    const errs: FieldError[] = [];
    if (typeof exp !== 'number' || !Number.isInteger(exp))
      throw badRequest(
        'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64',
      );
    if (exp < 600)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        value: exp,
        detail: 'may not specify a duration less than 10 minutes',
      });
    if (exp > 2 ** 32)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        value: exp,
        detail: 'may not specify a duration larger than 2^32 seconds',
      });
    if (errs.length > 0) throw invalid('authentication.k8s.io', 'TokenRequest', info.name, errs);
    const sa = this.d.state.collection(serviceAccountType).get(info.namespace, info.name);
    if (!sa) throw notFound('', 'serviceaccounts', info.name);
    const audiences =
      Array.isArray(spec.audiences) && spec.audiences.length > 0
        ? (spec.audiences as string[]).map(String)
        : [API_AUDIENCE];
    let boundTo;
    const ref = spec.boundObjectRef;
    if (isObject(ref)) {
      const kind = String(ref.kind ?? '');
      const resource =
        kind === 'Pod' ? 'pods' : kind === 'Secret' ? 'secrets' : kind === 'Node' ? 'nodes' : '';
      if (resource === '') throw badRequest(`cannot bind token to object of type ${kind}`);
      const obj = this.d.state
        .collectionOf('', resource)
        .get(kind === 'Node' ? '' : info.namespace, String(ref.name ?? ''));
      if (!obj) throw notFound('', resource, String(ref.name ?? ''));
      if (typeof ref.uid === 'string' && ref.uid !== '' && ref.uid !== obj.uid)
        throw conflict(
          '',
          resource,
          obj.name,
          `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      boundTo = {
        kind,
        apiVersion: 'v1',
        namespace: kind === 'Node' ? '' : info.namespace,
        name: obj.name,
        uid: obj.uid,
      };
    }
    const { token, expiresAt } = this.d.auth.issueBound({
      namespace: info.namespace,
      serviceAccount: info.name,
      serviceAccountUid: sa.uid,
      expirationSeconds: exp,
      audiences,
      boundTo,
    });
    const response = {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {
        name: info.name,
        namespace: info.namespace,
        creationTimestamp: rfc3339(Date.now()),
      },
      spec: {
        audiences,
        expirationSeconds: exp,
        boundObjectRef: boundTo
          ? { kind: boundTo.kind, apiVersion: 'v1', name: boundTo.name, uid: boundTo.uid }
          : null,
      },
      status: { token, expirationTimestamp: rfc3339(expiresAt) },
    };
    this.send(ctx.res, ctx.auditId, 201, JSON.stringify(response));
  }

  private podLog(ctx: Ctx): void {
    const prev = this.lookup(podResourceType, ctx.info);
    const pod = prev.parse();
    const containers = (((pod.spec as JsonObject).containers as JsonObject[]) ?? []).map((c) =>
      String(c.name),
    );
    const container = resolveContainer(pod, prev.name, ctx.query.get('container') ?? '');
    const idx = containers.indexOf(container);
    if (idx < 0) throw badRequest(`container ${container} is not valid for pod ${prev.name}`);
    const statuses =
      ((pod.status as JsonObject).containerStatuses as JsonObject[] | undefined) ?? [];
    const cs = statuses.find((s) => s.name === container);
    const state = (cs?.state ?? {}) as JsonObject;
    if (!cs || (state.waiting && !(cs.lastState as JsonObject | undefined)?.terminated)) {
      const reason =
        ((state.waiting as JsonObject | undefined)?.reason as string | undefined) ??
        'ContainerCreating';
      throw badRequest(
        `container "${container}" in pod "${prev.name}" is waiting to start: ${reason}`,
      );
    }
    const spec = ((pod.spec as JsonObject).containers as JsonObject[])[idx] as JsonObject;
    const env = Array.isArray(spec.env) ? (spec.env as JsonObject[]) : [];
    const custom = env.find((e) => e.name === 'PODBUS_EMULATOR_LOG')?.value;
    const lines = [
      typeof custom === 'string'
        ? custom
        : `podbus kubernetes emulator: container ${container} running image ${String(spec.image)}`,
    ];
    const term = state.terminated as JsonObject | undefined;
    if (term) lines.push(`exited with code ${String(term.exitCode)}`);
    this.send(ctx.res, ctx.auditId, 200, lines.join('\n') + '\n', 'text/plain');
  }

  // ---- reviews ------------------------------------------------------------------------

  private review(ctx: Ctx, type: ResourceType, body: JsonObject): void {
    const spec = (isObject(body.spec) ? body.spec : {}) as JsonObject;
    const base = {
      kind: type.kind,
      apiVersion: apiVersionOf(type),
      metadata: { creationTimestamp: null },
    };
    const user = ctx.user;
    const evaluate = (who: UserInfo, namespaceOverride?: string): JsonObject => {
      const ra = spec.resourceAttributes as JsonObject | undefined;
      const nra = spec.nonResourceAttributes as JsonObject | undefined;
      if ((ra === undefined) === (nra === undefined))
        throw invalid(type.group, type.kind, '', [
          {
            type: 'FieldValueInvalid',
            field: 'spec.resourceAttributes',
            value: ra ?? null,
            detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified',
          },
        ]);
      const attrs: AuthorizationAttributes = ra
        ? {
            user: who,
            verb: String(ra.verb ?? ''),
            resourceRequest: true,
            namespace: namespaceOverride ?? String(ra.namespace ?? ''),
            group: String(ra.group ?? ''),
            resource: String(ra.resource ?? ''),
            subresource: String(ra.subresource ?? ''),
            name: String(ra.name ?? ''),
            path: '',
          }
        : {
            user: who,
            verb: String(nra?.verb ?? ''),
            resourceRequest: false,
            namespace: '',
            group: '',
            resource: '',
            subresource: '',
            name: '',
            path: String(nra?.path ?? ''),
          };
      const d = this.d.rbac.authorize(attrs);
      const status: JsonObject = { allowed: d.allowed };
      if (d.reason) status.reason = d.reason;
      return status;
    };
    let out: JsonObject;
    if (type === selfSubjectAccessReviewType) out = { ...base, spec, status: evaluate(user) };
    else if (type === subjectAccessReviewType || type === localSubjectAccessReviewType) {
      const who: UserInfo = {
        name: String(spec.user ?? ''),
        uid: String(spec.uid ?? ''),
        groups: Array.isArray(spec.groups) ? (spec.groups as string[]) : [],
      };
      const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(who.name);
      if (sa) who.serviceAccount = { namespace: sa[1] as string, name: sa[2] as string };
      const ns = type === localSubjectAccessReviewType ? ctx.info.namespace : undefined;
      const ra = spec.resourceAttributes as JsonObject | undefined;
      if (
        ns !== undefined &&
        ra &&
        ra.namespace !== undefined &&
        ra.namespace !== '' &&
        ra.namespace !== ns
      )
        throw invalid(type.group, type.kind, '', [
          {
            type: 'FieldValueInvalid',
            field: 'spec.resourceAttributes.namespace',
            value: ra.namespace,
            detail: 'must match metadata.namespace',
          },
        ]);
      out = {
        ...base,
        metadata: { ...base.metadata, ...(ns ? { namespace: ns } : {}) },
        spec,
        status: evaluate(who, ns),
      };
    } else if (type === selfSubjectRulesReviewType) {
      const ns = String(spec.namespace ?? '');
      const rules = this.d.rbac.rulesFor(user, ns);
      out = { ...base, spec, status: { ...rules, incomplete: false } };
    } else if (type === tokenReviewType) {
      const token = String(spec.token ?? '');
      const audiences =
        Array.isArray(spec.audiences) && spec.audiences.length > 0
          ? (spec.audiences as string[])
          : [API_AUDIENCE];
      const who = token === '' ? undefined : this.d.auth.authenticate(token, audiences);
      const status: JsonObject = who
        ? {
            authenticated: true,
            user: { username: who.name, uid: who.uid, groups: who.groups },
            audiences: this.d.auth.audiencesOf(token).filter((a) => audiences.includes(a)),
          }
        : { user: {}, error: '[invalid bearer token, service account token has been invalidated]' };
      out = { ...base, spec, status };
    } else if (type === selfSubjectReviewType) {
      out = {
        ...base,
        metadata: { creationTimestamp: rfc3339(Date.now()) },
        status: {
          userInfo: {
            username: user.name,
            ...(user.uid ? { uid: user.uid } : {}),
            groups: user.groups,
          },
        },
      };
    } else throw methodNotSupported(type.group, type.resource, 'create');
    this.send(ctx.res, ctx.auditId, 201, JSON.stringify(out));
  }
}

function keyOf(o: StoredObject): string {
  return `${o.namespace}/${o.name}`;
}

function compareKeys(a: StoredObject, b: StoredObject): number {
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

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return /json|\*\/\*|yaml/i.test(accept);
}

function forbiddenWhy(info: RequestInfo, user: UserInfo): string {
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const scope =
    info.namespace !== '' ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
  return `User "${user.name}" cannot ${info.verb} resource "${resource}" in API group "${info.group}" ${scope}`;
}

/**
 * A `Warning` header value as the apiserver writes it (k8s.io/apimachinery/pkg/util/net,
 * NewWarningHeader): code 299, agent `-`, the text quoted with `\\` and `"` escaped.
 */
function warningHeader(text: string): string {
  return `299 - "${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The operation a storage timeout names (`The <op> operation against <resource> ...`). */
function operationOf(verb: string): string {
  if (verb === 'patch') return 'update';
  if (verb === 'deletecollection') return 'delete';
  return verb;
}

/** 504 of the request timeout filter. */
function requestTimeout(): ApiError {
  return gatewayTimeout(
    'request did not complete within requested timeout - context deadline exceeded',
  );
}

function injectedError(status: 500 | 503 | 504, info: RequestInfo): ApiError {
  if (status === 503) return serviceUnavailable('apiserver is shutting down', 1);
  if (status === 504) return requestTimeout();
  const operation = info.verb === 'list' || info.verb === 'watch' ? 'list' : info.verb;
  return internalError(
    `injected fault: the ${operation} operation against ${info.resource} failed`,
  );
}

function resetSocket(req: IncomingMessage): void {
  const socket = req.socket as unknown as {
    _parent?: { resetAndDestroy?: () => void };
    resetAndDestroy?: () => void;
    destroy: () => void;
  };
  try {
    if (socket._parent?.resetAndDestroy) socket._parent.resetAndDestroy();
    else if (socket.resetAndDestroy) socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

/** Reads a request body up to 3 MiB (413 beyond, as kube-apiserver's limit). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(requestEntityTooLarge(MAX_BODY_BYTES));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

export { isObject };
export type { Collection };
