/**
 * Handle stage, writes: create (incl. generateName, the create pipeline server-side apply
 * reuses), update (preconditions, immutable metadata, no-op writes keep the resourceVersion)
 * and patch (JSON, merge, strategic merge, apply). Admission runs inside, in kube-apiserver's
 * order: NamespaceLifecycle, defaults, mutating admission, validation, validating admission.
 */
import { parse as parseYaml } from 'yaml';

import type { Admission, AdmissionName } from '../../admission.js';
import type { Controllers } from '../../controllers.js';
import { isObject } from '../../json.js';
import {
  managedFieldsEntry,
  managerFromUserAgent,
  upsertManagedFields,
} from '../../managed-fields.js';
import { jsonPatch, mergePatch, strategicMerge } from '../../patch.js';
import { podResourceType } from '../../pods.js';
import { NAME_SUFFIX_ALPHABET, type SeededRandom } from '../../random.js';
import type { RbacAuthorizer } from '../../rbac.js';
import {
  apiVersionOf,
  metadataOf,
  type ResourceType,
  type StrategyContext,
} from '../../resource-type.js';
import { namespaceType } from '../../resources.js';
import { rfc3339, type ClusterState } from '../../state.js';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  invalid,
  notFound,
  preconditionFailed,
  unsupportedMediaType,
  type FieldError,
} from '../../status.js';
import type { JsonObject, StoredObject } from '../../store.js';
import { authorizationAttributes } from '../authorize.js';
import { readBody } from '../body.js';
import type { RequestContext } from '../context.js';
import { requireVerb } from '../objects.js';
import type { Responder } from '../respond.js';

export class WriteHandlers {
  constructor(
    private readonly state: ClusterState,
    private readonly random: SeededRandom,
    private readonly controllers: Controllers,
    private readonly admission: Admission,
    private readonly rbac: RbacAuthorizer,
    private readonly respond: Responder,
  ) {}

  private strategyContext(ctx: RequestContext): StrategyContext {
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
      random: this.random,
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
    if (!this.state.collection(namespaceType).get('', namespace))
      throw notFound('', 'namespaces', namespace);
    if (this.controllers.isTerminating(namespace)) {
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
    const c = this.state.collection(type);
    const prefix = base.length > 58 ? base.slice(0, 58) : base;
    let name = '';
    for (let i = 0; i < 8; i++) {
      name = prefix + this.random.chars(NAME_SUFFIX_ALPHABET, 5);
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

  async create(
    ctx: RequestContext,
    type: ResourceType,
    body: JsonObject,
    status = 201,
  ): Promise<void> {
    requireVerb(type, 'create');
    const stored = this.createObject(ctx, type, body);
    this.respond.send(ctx.res, ctx.auditId, status, this.state.collection(type).render(stored));
  }

  /** The create pipeline without the HTTP response (also used by server-side apply). */
  private createObject(ctx: RequestContext, type: ResourceType, body: JsonObject): StoredObject {
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
    if (type === podResourceType) this.admission.mutatePod(namespace, names, body);
    const errs: FieldError[] = type.validate ? type.validate(body) : [];
    if (errs.length > 0) throw invalid(type.group, type.kind, name, errs);
    if (type === podResourceType)
      this.respond.warn(ctx, this.admission.validatePod(namespace, names, body));
    else if (type === namespaceType)
      this.respond.warn(ctx, this.admission.validateNamespace(body, undefined));
    const c = this.state.collection(type);
    if (c.get(type.namespaced ? namespace : '', name))
      throw alreadyExists(type.group, type.resource, name);
    fresh.managedFields = [managed];
    if (sctx.dryRun) {
      metadataOf(body).uid = this.random.uuid();
      metadataOf(body).creationTimestamp = sctx.nowIso;
      return this.state.serialize(type, body, this.state.resourceVersion);
    }
    const stored = this.state.insert(type, body, sctx.now.getTime());
    this.controllers.afterCreate(type, stored);
    return stored;
  }

  async update(
    ctx: RequestContext,
    type: ResourceType,
    body: JsonObject,
    statusSub: boolean,
  ): Promise<void> {
    requireVerb(type, 'update');
    const existing = this.state
      .collection(type)
      .get(type.namespaced ? ctx.info.namespace : '', ctx.info.name);
    // Types that allow create-on-update check the body before they know whether it exists.
    if (!existing && !(type.createsOnUpdate && !statusSub))
      throw notFound(type.group, type.resource, ctx.info.name);
    this.checkKind(type, body);
    const meta = metadataOf(body);
    if (typeof meta.name === 'string' && meta.name !== ctx.info.name)
      throw badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${ctx.info.name})`,
      );
    if (!existing) {
      // Create-on-update also needs `create` (handlers/update.go withAuthorization); the
      // denial carries RBAC's empty reason.
      const attrs = authorizationAttributes({ ...ctx.info, verb: 'create' }, ctx.user);
      if (!this.rbac.authorize(attrs).allowed)
        throw forbidden(type.group, type.resource, ctx.info.name, '');
      meta.name = ctx.info.name;
      const created = this.createObject(ctx, type, body);
      return this.respond.send(
        ctx.res,
        ctx.auditId,
        201,
        this.state.collection(type).render(created),
      );
    }
    const prev = existing;
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
    this.respond.send(ctx.res, ctx.auditId, 200, this.state.collection(type).render(stored));
  }

  /** Update pipeline: preconditions, immutable metadata, strategy, validation, store. */
  private updateObject(
    ctx: RequestContext,
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
      type.requiresResourceVersionOnUpdate &&
      (typeof meta.resourceVersion !== 'string' || meta.resourceVersion === '')
    )
      // errors.NewInvalid with the qualified *resource* in place of the kind, as the store does.
      throw invalid(type.group, type.resource, prev.name, [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.resourceVersion',
          value: 0,
          detail: 'must be specified for an update',
        },
      ]);
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
      throw preconditionFailed(
        type.group,
        type.resource,
        prev.namespace,
        prev.name,
        `UID in precondition: ${meta.uid}, UID in object meta: ${prev.uid}`,
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
      this.respond.warn(ctx, this.admission.validatePodUpdate(prev.namespace, body, old));
    else if (type === namespaceType && !statusSub)
      this.respond.warn(ctx, this.admission.validateNamespace(body, old));
    if (type.tracksGeneration && JSON.stringify(body.spec) !== JSON.stringify(old.spec))
      metadataOf(body).generation = ((oldMeta.generation as number | undefined) ?? 1) + 1;
    // A no-op update keeps the resourceVersion (upstream skips the write).
    metadataOf(body).managedFields = oldMeta.managedFields;
    const candidate = this.state.serialize(type, structuredClone(body), prev.rv);
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
    const stored = this.state.replace(type, body, prev);
    this.controllers.afterUpdate(type, stored);
    return stored;
  }

  async patch(ctx: RequestContext, type: ResourceType, statusSub: boolean): Promise<void> {
    requireVerb(type, 'patch');
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
    const c = this.state.collection(type);
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
        return this.respond.send(ctx.res, ctx.auditId, 201, c.render(stored));
      }
      const merged = strategicMerge(existing.parse(), patch) as JsonObject;
      const stored = this.updateObject(ctx, type, existing, merged, statusSub, 'Apply', patch);
      return this.respond.send(ctx.res, ctx.auditId, 200, c.render(stored));
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
    this.respond.send(ctx.res, ctx.auditId, 200, c.render(stored));
  }
}
