/**
 * Authenticate stage: the bearer token (401 when it is not valid; no header is
 * system:anonymous) through the authenticators in kube-apiserver's order (the tokens the
 * emulator issued, then the JWT authenticators of the authentication configuration), then
 * impersonation (`kubectl --as`), authorized like upstream.
 */
import type { IncomingMessage } from 'node:http';

import { ANONYMOUS, serviceAccountUser, type TokenAuthenticator } from '../auth.js';
import type { JwtAuthenticators } from '../jwt-authenticator.js';
import type { AuthorizationAttributes, RbacAuthorizer } from '../rbac.js';
import type { UserInfo } from '../resource-type.js';
import { serviceAccountType } from '../resources.js';
import type { ClusterState } from '../state.js';
import { forbidden } from '../status.js';

/** The user a request's bearer token names; undefined for a token that is not valid. */
export async function authenticate(
  req: IncomingMessage,
  tokens: TokenAuthenticator,
  jwt: JwtAuthenticators,
): Promise<UserInfo | undefined> {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return ANONYMOUS;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  return authenticateToken(m[1] as string, tokens, jwt);
}

/** The union of the token authenticators: the first that knows the token decides. */
export async function authenticateToken(
  token: string,
  tokens: TokenAuthenticator,
  jwt: JwtAuthenticators,
): Promise<UserInfo | undefined> {
  const known = tokens.authenticate(token);
  if (known !== undefined || tokens.isRevoked(token)) return known;
  const verdict = await jwt.authenticate(token);
  return verdict !== undefined && 'user' in verdict ? verdict.user : undefined;
}

/**
 * The effective user: the impersonated one when `Impersonate-User` is sent and `user` may
 * impersonate it (403 otherwise), else `user`.
 */
export function impersonate(
  req: IncomingMessage,
  user: UserInfo,
  rbac: RbacAuthorizer,
  state: ClusterState,
): UserInfo {
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
  if (!rbac.authorize(attrs).allowed)
    throw forbidden(
      attrs.group,
      attrs.resource,
      attrs.name,
      `User "${user.name}" cannot impersonate resource "${attrs.resource}" in API group "" ${attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope'}`,
    );
  if (saMatch) {
    const sa = state.collection(serviceAccountType).get(saMatch[1] as string, saMatch[2] as string);
    return serviceAccountUser(saMatch[1] as string, saMatch[2] as string, sa?.uid ?? '');
  }
  const groups = req.headers['impersonate-group'];
  const list = Array.isArray(groups) ? groups : groups ? [groups] : [];
  return { name: as, uid: '', groups: [...list, 'system:authenticated'] };
}
