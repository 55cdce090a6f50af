/** Handle stage: TokenRequest (`POST .../serviceaccounts/<sa>/token`, `kubectl create token`). */
import { API_AUDIENCE, type TokenAuthenticator } from '../../auth.js';
import { isObject } from '../../json.js';
import { serviceAccountType } from '../../resources.js';
import { rfc3339, type ClusterState } from '../../state.js';
import { badRequest, conflict, invalid, notFound, type FieldError } from '../../status.js';
import type { JsonObject } from '../../store.js';
import type { RequestContext } from '../context.js';
import type { Responder } from '../respond.js';

export class TokenRequests {
  constructor(
    private readonly state: ClusterState,
    private readonly auth: TokenAuthenticator,
    private readonly respond: Responder,
  ) {}

  create(ctx: RequestContext, body: JsonObject): void {
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
    const sa = this.state.collection(serviceAccountType).get(info.namespace, info.name);
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
      const obj = this.state
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
    const { token, expiresAt } = this.auth.issueBound({
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
    this.respond.send(ctx.res, ctx.auditId, 201, JSON.stringify(response));
  }
}
