/**
 * A subset of the RBAC authorizer (plugin/pkg/auth/authorizer/rbac): Roles and ClusterRoles
 * with resource and non-resource rules, bound by RoleBindings and ClusterRoleBindings to users,
 * groups and service accounts. `system:masters` is always allowed, as upstream's privileged
 * group authorizer does. The compiled view is rebuilt lazily after any RBAC object changes.
 */
import type { UserInfo } from './resource-type.js';
import type { JsonObject } from './store.js';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface Binding {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  namespace: string;
  name: string;
  roleRef: { kind: string; name: string };
  subjects: Subject[];
}

export interface AuthorizationAttributes {
  user: UserInfo;
  verb: string;
  /** True for API resource requests, false for paths such as /api or /version. */
  resourceRequest: boolean;
  namespace: string;
  group: string;
  resource: string;
  subresource: string;
  name: string;
  path: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Where the authorizer reads roles and bindings from (the cluster's collections). */
export interface RbacSource {
  roles(): Iterable<{ namespace: string; name: string; obj: JsonObject }>;
  clusterRoles(): Iterable<{ name: string; obj: JsonObject }>;
  roleBindings(): Iterable<{ namespace: string; name: string; obj: JsonObject }>;
  clusterRoleBindings(): Iterable<{ name: string; obj: JsonObject }>;
}

function asRules(obj: JsonObject): PolicyRule[] {
  const rules = obj.rules;
  return Array.isArray(rules)
    ? (rules as PolicyRule[]).filter((r) => r && Array.isArray(r.verbs))
    : [];
}

function asBinding(
  kind: Binding['kind'],
  namespace: string,
  name: string,
  obj: JsonObject,
): Binding {
  const ref = (obj.roleRef ?? {}) as { kind?: string; name?: string };
  const subjects = Array.isArray(obj.subjects) ? (obj.subjects as Subject[]) : [];
  return {
    kind,
    namespace,
    name,
    roleRef: { kind: ref.kind ?? '', name: ref.name ?? '' },
    subjects,
  };
}

function has(list: readonly string[] | undefined, value: string): boolean {
  return list !== undefined && (list.includes(value) || list.includes('*'));
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const rs = rule.resources ?? [];
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  for (const r of rs) {
    if (r === '*' || r === combined) return true;
    if (subresource !== '' && r === `*/${subresource}`) return true;
    if (r === `${resource}/*` && subresource !== '') return true;
  }
  return false;
}

export function ruleAllows(rule: PolicyRule, a: AuthorizationAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) {
    for (const u of rule.nonResourceURLs ?? []) {
      if (u === '*' || u === a.path) return true;
      if (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))) return true;
    }
    return false;
  }
  if (!has(rule.apiGroups, a.group)) return false;
  if (!resourceMatches(rule, a.resource, a.subresource)) return false;
  const names = rule.resourceNames;
  return names === undefined || names.length === 0 || (a.name !== '' && names.includes(a.name));
}

function subjectLabel(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount')
    return `ServiceAccount "${s.name}/${s.namespace || bindingNamespace}"`;
  return `${s.kind} "${s.name}"`;
}

export class RbacAuthorizer {
  private compiled:
    | {
        roles: Map<string, PolicyRule[]>;
        clusterRoles: Map<string, PolicyRule[]>;
        clusterBindings: Binding[];
        bindingsByNamespace: Map<string, Binding[]>;
      }
    | undefined;

  constructor(private readonly source: RbacSource) {}

  /** Call after any change to roles or bindings. */
  invalidate(): void {
    this.compiled = undefined;
  }

  private compile(): NonNullable<RbacAuthorizer['compiled']> {
    if (this.compiled) return this.compiled;
    const roles = new Map<string, PolicyRule[]>();
    for (const r of this.source.roles()) roles.set(`${r.namespace}/${r.name}`, asRules(r.obj));
    const clusterRoles = new Map<string, PolicyRule[]>();
    for (const r of this.source.clusterRoles()) clusterRoles.set(r.name, asRules(r.obj));
    const clusterBindings: Binding[] = [];
    for (const b of this.source.clusterRoleBindings())
      clusterBindings.push(asBinding('ClusterRoleBinding', '', b.name, b.obj));
    const bindingsByNamespace = new Map<string, Binding[]>();
    for (const b of this.source.roleBindings()) {
      const list = bindingsByNamespace.get(b.namespace) ?? [];
      list.push(asBinding('RoleBinding', b.namespace, b.name, b.obj));
      bindingsByNamespace.set(b.namespace, list);
    }
    this.compiled = { roles, clusterRoles, clusterBindings, bindingsByNamespace };
    return this.compiled;
  }

  private appliesTo(user: UserInfo, binding: Binding): Subject | undefined {
    for (const s of binding.subjects) {
      if (!s) continue;
      if (s.kind === 'User' && s.name === user.name) return s;
      if (s.kind === 'Group' && user.groups.includes(s.name)) return s;
      if (s.kind === 'ServiceAccount' && user.serviceAccount) {
        const ns = s.namespace || binding.namespace;
        if (user.serviceAccount.namespace === ns && user.serviceAccount.name === s.name) return s;
      }
    }
    return undefined;
  }

  private rulesOf(binding: Binding): PolicyRule[] {
    const c = this.compile();
    if (binding.roleRef.kind === 'ClusterRole')
      return c.clusterRoles.get(binding.roleRef.name) ?? [];
    if (binding.roleRef.kind === 'Role')
      return c.roles.get(`${binding.namespace}/${binding.roleRef.name}`) ?? [];
    return [];
  }

  authorize(a: AuthorizationAttributes): Decision {
    if (a.user.groups.includes('system:masters')) return { allowed: true, reason: '' };
    const c = this.compile();
    const check = (binding: Binding): Decision | undefined => {
      const subject = this.appliesTo(a.user, binding);
      if (!subject) return undefined;
      for (const rule of this.rulesOf(binding))
        if (ruleAllows(rule, a)) {
          const where =
            binding.kind === 'RoleBinding' ? `${binding.name}/${binding.namespace}` : binding.name;
          return {
            allowed: true,
            reason: `RBAC: allowed by ${binding.kind} "${where}" of ${binding.roleRef.kind} "${binding.roleRef.name}" to ${subjectLabel(subject, binding.namespace)}`,
          };
        }
      return undefined;
    };
    for (const b of c.clusterBindings) {
      const d = check(b);
      if (d) return d;
    }
    if (a.resourceRequest && a.namespace !== '') {
      for (const b of c.bindingsByNamespace.get(a.namespace) ?? []) {
        const d = check(b);
        if (d) return d;
      }
    }
    return { allowed: false, reason: '' };
  }

  /** The rules that apply to `user` in `namespace` (SelfSubjectRulesReview). */
  rulesFor(
    user: UserInfo,
    namespace: string,
  ): { resourceRules: PolicyRule[]; nonResourceRules: PolicyRule[] } {
    const c = this.compile();
    const all: PolicyRule[] = [];
    if (user.groups.includes('system:masters'))
      all.push(
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      );
    const bindings = [...c.clusterBindings, ...(c.bindingsByNamespace.get(namespace) ?? [])];
    for (const b of bindings) if (this.appliesTo(user, b)) all.push(...this.rulesOf(b));
    const resourceRules: PolicyRule[] = [];
    const nonResourceRules: PolicyRule[] = [];
    for (const r of all) {
      if (r.nonResourceURLs && r.nonResourceURLs.length > 0)
        nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
      if (r.resources && r.resources.length > 0) {
        const rr: PolicyRule = {
          verbs: r.verbs,
          apiGroups: r.apiGroups ?? [],
          resources: r.resources,
        };
        if (r.resourceNames && r.resourceNames.length > 0) rr.resourceNames = r.resourceNames;
        resourceRules.push(rr);
      }
    }
    return { resourceRules, nonResourceRules };
  }
}

/** The default ClusterRoles and ClusterRoleBindings every cluster starts with (a subset). */
export function bootstrapPolicy(): {
  clusterRoles: { name: string; rules: PolicyRule[] }[];
  clusterRoleBindings: { name: string; roleRef: string; subjects: Subject[] }[];
} {
  const group = (name: string): Subject => ({
    kind: 'Group',
    name,
    apiGroup: 'rbac.authorization.k8s.io',
  });
  const readVerbs = ['get', 'list', 'watch'];
  const writeVerbs = ['create', 'delete', 'deletecollection', 'patch', 'update'];
  const namespacedCore = [
    'pods',
    'pods/log',
    'pods/status',
    'configmaps',
    'secrets',
    'serviceaccounts',
    'events',
    'resourcequotas',
    'limitranges',
  ];
  return {
    clusterRoles: [
      {
        name: 'cluster-admin',
        rules: [
          { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
          { verbs: ['*'], nonResourceURLs: ['*'] },
        ],
      },
      {
        name: 'admin',
        rules: [
          { verbs: [...readVerbs, ...writeVerbs], apiGroups: [''], resources: namespacedCore },
          { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] },
          {
            verbs: [...readVerbs, ...writeVerbs],
            apiGroups: ['rbac.authorization.k8s.io'],
            resources: ['roles', 'rolebindings'],
          },
          {
            verbs: [...readVerbs, ...writeVerbs],
            apiGroups: ['networking.k8s.io'],
            resources: ['networkpolicies'],
          },
        ],
      },
      {
        name: 'edit',
        rules: [
          { verbs: [...readVerbs, ...writeVerbs], apiGroups: [''], resources: namespacedCore },
          { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] },
        ],
      },
      {
        name: 'view',
        rules: [
          {
            verbs: readVerbs,
            apiGroups: [''],
            resources: namespacedCore.filter((r) => r !== 'secrets'),
          },
        ],
      },
      {
        name: 'system:discovery',
        rules: [
          {
            verbs: ['get'],
            nonResourceURLs: [
              '/api',
              '/api/*',
              '/apis',
              '/apis/*',
              '/healthz',
              '/livez',
              '/openapi',
              '/openapi/*',
              '/readyz',
              '/version',
              '/version/',
            ],
          },
        ],
      },
      {
        name: 'system:basic-user',
        rules: [
          {
            verbs: ['create'],
            apiGroups: ['authorization.k8s.io'],
            resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
          },
          {
            verbs: ['create'],
            apiGroups: ['authentication.k8s.io'],
            resources: ['selfsubjectreviews'],
          },
        ],
      },
      {
        name: 'system:public-info-viewer',
        rules: [
          {
            verbs: ['get'],
            nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'],
          },
        ],
      },
    ],
    clusterRoleBindings: [
      { name: 'cluster-admin', roleRef: 'cluster-admin', subjects: [group('system:masters')] },
      {
        name: 'system:discovery',
        roleRef: 'system:discovery',
        subjects: [group('system:authenticated')],
      },
      {
        name: 'system:basic-user',
        roleRef: 'system:basic-user',
        subjects: [group('system:authenticated')],
      },
      {
        name: 'system:public-info-viewer',
        roleRef: 'system:public-info-viewer',
        subjects: [group('system:authenticated'), group('system:unauthenticated')],
      },
    ],
  };
}
