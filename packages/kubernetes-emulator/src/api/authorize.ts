/** Authorize stage: RBAC decides; a denial is the real 403 text. */
import type { AuthorizationAttributes, RbacAuthorizer } from '../rbac.js';
import type { UserInfo } from '../resource-type.js';
import { forbidden } from '../status.js';
import type { RequestInfo } from './request-info.js';

export function authorizationAttributes(
  info: RequestInfo,
  user: UserInfo,
): AuthorizationAttributes {
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

/** Throws the 403 RBAC writes when `user` may not do what the request asks. */
export function authorize(rbac: RbacAuthorizer, info: RequestInfo, user: UserInfo): void {
  if (rbac.authorize(authorizationAttributes(info, user)).allowed) return;
  if (!info.resourceRequest)
    throw forbidden('', '', '', `User "${user.name}" cannot ${info.verb} path "${info.path}"`);
  throw forbidden(info.group, info.resource, info.name, forbiddenWhy(info, user));
}

function forbiddenWhy(info: RequestInfo, user: UserInfo): string {
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const scope =
    info.namespace !== '' ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
  return `User "${user.name}" cannot ${info.verb} resource "${resource}" in API group "${info.group}" ${scope}`;
}
