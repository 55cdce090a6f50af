/** Handle stage helpers shared by the handlers: the object a request names, allowed verbs. */
import type { ResourceType } from '../resource-type.js';
import { namespaceType } from '../resources.js';
import type { ClusterState } from '../state.js';
import { methodNotSupported, notFound } from '../status.js';
import type { StoredObject } from '../store.js';
import type { RequestInfo } from './request-info.js';

/** The stored object a request names (404 when there is none). */
export function lookup(state: ClusterState, type: ResourceType, info: RequestInfo): StoredObject {
  const c = state.collection(type);
  const obj =
    type === namespaceType
      ? c.get('', info.name)
      : c.get(type.namespaced ? info.namespace : '', info.name);
  if (!obj) throw notFound(type.group, type.resource, info.name);
  return obj;
}

/** 405 when the type does not serve the verb. */
export function requireVerb(type: ResourceType, verb: string): void {
  if (!type.verbs.includes(verb)) throw methodNotSupported(type.group, type.resource, verb);
}
