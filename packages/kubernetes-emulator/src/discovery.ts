/**
 * Discovery documents (/api, /apis, /api/v1, /apis/<group>[/<version>], /version) and a minimal
 * OpenAPI v3 that tells kubectl which resources accept `fieldValidation` (so `kubectl apply`
 * validates on the server instead of downloading schemas).
 */
import { createHash } from 'node:crypto';

import { apiVersionOf, type ResourceType } from './resource-type.js';
import { servedGroups } from './resources.js';

export const KUBERNETES_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+podbus-emulator',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function storageVersionHash(t: ResourceType): string {
  return createHash('sha256')
    .update(`${t.group}/${t.version}/${t.kind}`)
    .digest('base64')
    .slice(0, 11);
}

function resourceEntries(types: ResourceType[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const t of types) {
    const entry: Record<string, unknown> = {
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
    };
    if (t.shortNames) entry.shortNames = t.shortNames;
    if (t.categories) entry.categories = t.categories;
    if (!t.virtual) entry.storageVersionHash = storageVersionHash(t);
    out.push(entry);
    for (const [sub, s] of Object.entries(t.subresources ?? {})) {
      const e: Record<string, unknown> = {
        name: `${t.resource}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        kind: s.kind,
        verbs: s.verbs,
      };
      if (s.group) e.group = s.group;
      if (s.version) e.version = s.version;
      out.push(e);
    }
  }
  return out;
}

export class Discovery {
  private readonly groups = servedGroups();
  private readonly cache = new Map<string, string>();

  constructor(private readonly serverAddress: () => string) {}

  private cached(key: string, build: () => unknown): string {
    let v = this.cache.get(key);
    if (v === undefined) {
      v = JSON.stringify(build());
      this.cache.set(key, v);
    }
    return v;
  }

  /** JSON for a discovery path, or undefined when the path is not a discovery document. */
  document(path: string): string | undefined {
    const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (p === '/api')
      return JSON.stringify({
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [
          { clientCIDR: '0.0.0.0/0', serverAddress: this.serverAddress() },
        ],
      });
    if (p === '/apis')
      return this.cached(p, () => ({
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: this.groups
          .filter((g) => g.group !== '')
          .map((g) => this.groupDoc(g.group, g.version)),
      }));
    if (p === '/version') return JSON.stringify(KUBERNETES_VERSION);
    if (p === '/api/v1') return this.resourceList('', 'v1');
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (m) {
      const group = m[1] as string;
      const g = this.groups.find((x) => x.group === group);
      if (!g) return undefined;
      if (m[2] === undefined)
        return JSON.stringify({
          kind: 'APIGroup',
          apiVersion: 'v1',
          ...this.groupDoc(g.group, g.version),
        });
      if (m[2] !== g.version) return undefined;
      return this.resourceList(g.group, g.version);
    }
    return undefined;
  }

  private groupDoc(group: string, version: string): Record<string, unknown> {
    const gv = { groupVersion: `${group}/${version}`, version };
    return { name: group, versions: [gv], preferredVersion: gv };
  }

  private resourceList(group: string, version: string): string | undefined {
    const g = this.groups.find((x) => x.group === group && x.version === version);
    if (!g) return undefined;
    return this.cached(`rl:${group}/${version}`, () => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: apiVersionOf({ group, version }),
      resources: resourceEntries(g.types),
    }));
  }

  /** /openapi/v3: the index of group-version documents. */
  openApiV3Index(): string {
    return this.cached('oa3', () => {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const g of this.groups) {
        const key = g.group === '' ? 'api/v1' : `apis/${g.group}/${g.version}`;
        paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${this.hashOf(key)}` };
      }
      return { paths };
    });
  }

  private hashOf(key: string): string {
    return createHash('sha512')
      .update(`podbus-emulator:${key}`)
      .digest('hex')
      .slice(0, 128)
      .toUpperCase();
  }

  /**
   * /openapi/v3/<api/v1|apis/g/v>: paths with their PATCH operations, GVK extension and the
   * `fieldValidation` query parameter, which is what kubectl's query-parameter verifier reads.
   * Schemas are left open (no properties), so kubectl does no client-side schema validation.
   */
  openApiV3(key: string): string | undefined {
    const g = this.groups.find(
      (x) => (x.group === '' ? 'api/v1' : `apis/${x.group}/${x.version}`) === key,
    );
    if (!g) return undefined;
    return this.cached(`oa3:${key}`, () => {
      const prefix = g.group === '' ? '/api/v1' : `/apis/${g.group}/${g.version}`;
      const paths: Record<string, unknown> = {};
      const schemas: Record<string, unknown> = {};
      for (const t of g.types) {
        const gvk = { group: t.group, version: t.version, kind: t.kind };
        const schemaName = `io.k8s.podbus-emulator.${t.group || 'core'}.${t.version}.${t.kind}`;
        schemas[schemaName] = {
          type: 'object',
          'x-kubernetes-group-version-kind': [gvk],
          'x-kubernetes-preserve-unknown-fields': true,
        };
        const params = [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        ];
        const op = (action: string): Record<string, unknown> => ({
          operationId: `${action}${t.kind}`,
          parameters: params,
          responses: {
            '200': {
              content: {
                'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } },
              },
            },
          },
          'x-kubernetes-action': action,
          'x-kubernetes-group-version-kind': gvk,
        });
        const collection = t.namespaced
          ? `${prefix}/namespaces/{namespace}/${t.resource}`
          : `${prefix}/${t.resource}`;
        if (t.virtual) {
          paths[collection] = { post: op('post') };
          continue;
        }
        paths[collection] = { get: op('list'), post: op('post') };
        paths[`${collection}/{name}`] = {
          get: op('get'),
          put: op('put'),
          patch: op('patch'),
          delete: op('delete'),
        };
      }
      return {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion },
        paths,
        components: { schemas },
      };
    });
  }
}
