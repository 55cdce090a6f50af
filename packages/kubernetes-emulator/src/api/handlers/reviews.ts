/**
 * Handle stage: the review APIs (SelfSubjectAccessReview, SubjectAccessReview,
 * LocalSubjectAccessReview, SelfSubjectRulesReview, TokenReview, SelfSubjectReview), answered
 * from the cluster's RBAC and tokens.
 */
import { API_AUDIENCE, type TokenAuthenticator } from '../../auth.js';
import type { JwtAuthenticators } from '../../jwt-authenticator.js';
import { isObject } from '../../json.js';
import type { AuthorizationAttributes, RbacAuthorizer } from '../../rbac.js';
import { apiVersionOf, type ResourceType, type UserInfo } from '../../resource-type.js';
import {
  localSubjectAccessReviewType,
  selfSubjectAccessReviewType,
  selfSubjectReviewType,
  selfSubjectRulesReviewType,
  subjectAccessReviewType,
  tokenReviewType,
} from '../../resources.js';
import { rfc3339 } from '../../state.js';
import { invalid, methodNotSupported } from '../../status.js';
import type { JsonObject } from '../../store.js';
import type { RequestContext } from '../context.js';
import type { Responder } from '../respond.js';

export class Reviews {
  constructor(
    private readonly rbac: RbacAuthorizer,
    private readonly auth: TokenAuthenticator,
    private readonly jwt: JwtAuthenticators,
    private readonly respond: Responder,
  ) {}

  async create(ctx: RequestContext, type: ResourceType, body: JsonObject): Promise<void> {
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
      const d = this.rbac.authorize(attrs);
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
      const rules = this.rbac.rulesFor(user, ns);
      out = { ...base, spec, status: { ...rules, incomplete: false } };
    } else if (type === tokenReviewType) {
      const token = String(spec.token ?? '');
      const audiences =
        Array.isArray(spec.audiences) && spec.audiences.length > 0
          ? (spec.audiences as string[])
          : [API_AUDIENCE];
      let who = token === '' ? undefined : this.auth.authenticate(token, audiences);
      let granted = this.auth.audiencesOf(token).filter((a) => audiences.includes(a));
      if (who === undefined && token !== '' && !this.auth.isRevoked(token)) {
        // JWT authenticators are not audience-aware: they answer for the API server's own
        // audience only (authenticator.WrapAudienceAgnosticToken).
        const verdict = await this.jwt.authenticate(token);
        if (verdict !== undefined && 'user' in verdict && audiences.includes(API_AUDIENCE)) {
          who = verdict.user;
          granted = [API_AUDIENCE];
        }
      }
      const status: JsonObject = who
        ? {
            authenticated: true,
            user: {
              username: who.name,
              ...(who.uid ? { uid: who.uid } : {}),
              groups: who.groups,
            },
            audiences: granted,
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
    this.respond.send(ctx.res, ctx.auditId, 201, JSON.stringify(out));
  }
}
