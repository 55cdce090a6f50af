/**
 * Route stage: what a request asks for, parsed from its method and path as k8s.io/apiserver's
 * RequestInfoFactory does for the forms the emulator serves.
 */
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
