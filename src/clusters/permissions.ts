import type { V1PolicyRule } from '@kubernetes/client-node';

/** One permission in a cluster entry's namespace, as a SelfSubjectAccessReview asks for it. */
export interface Permission {
  readonly verb: string;
  /** `pods`, `pods/log`, `leases`, ... (a subresource after the slash). */
  readonly resource: string;
  /** The API group; '' (core) when absent. */
  readonly group?: string;
}

/** How a permission is named in reports: `create pods`, `get pods/log`, `update leases`. */
export function permissionLabel(permission: Permission): string {
  return `${permission.verb} ${permission.resource}`;
}

/** A permission podbus uses in a cluster entry's namespace, and what for. */
export interface NeededPermission extends Permission {
  /** What podbus does with it, for the messages of `podbus clusters verify`. */
  readonly for: string;
  /** Only an opt-in feature needs it: verify warns instead of failing when it is denied. */
  readonly optional?: true;
}

const LEASES = 'coordination.k8s.io';

/**
 * Everything podbus does in a target namespace, and nothing more: the least-privilege Role of
 * `podbus clusters add` and deploy/target-cluster/role.yaml is made of exactly these (a test
 * holds the two together), and `podbus clusters verify` asks for each.
 */
export const PODBUS_PERMISSIONS: readonly NeededPermission[] = [
  { verb: 'create', resource: 'pods', for: 'creating challenge pods' },
  { verb: 'get', resource: 'pods', for: 'finding the pod of a redelivered message' },
  { verb: 'list', resource: 'pods', for: 'counting active pods and following them to their end' },
  { verb: 'watch', resource: 'pods', for: 'counting active pods and following them to their end' },
  { verb: 'delete', resource: 'pods', for: 'cleaning up finished pods' },
  { verb: 'patch', resource: 'pods', for: 'marking a pod whose result was sent' },
  {
    verb: 'get',
    resource: 'pods/log',
    for: 'log tails in results (results.logTailBytes)',
    optional: true,
  },
  { verb: 'get', resource: 'leases', group: LEASES, for: 'electing the results publisher' },
  { verb: 'create', resource: 'leases', group: LEASES, for: 'electing the results publisher' },
  { verb: 'update', resource: 'leases', group: LEASES, for: 'electing the results publisher' },
];

/** The Role's rules: PODBUS_PERMISSIONS grouped by API group and resource, in order. */
export function roleRulesFor(permissions: readonly Permission[]): V1PolicyRule[] {
  const rules: V1PolicyRule[] = [];
  for (const p of permissions) {
    const group = p.group ?? '';
    const rule = rules.find((r) => r.apiGroups?.[0] === group && r.resources?.[0] === p.resource);
    if (rule) rule.verbs.push(p.verb);
    else rules.push({ apiGroups: [group], resources: [p.resource], verbs: [p.verb] });
  }
  return rules;
}

/** What a denied permission label (`patch pods`) is needed for. */
export function purposeOf(label: string): NeededPermission | undefined {
  return PODBUS_PERMISSIONS.find((p) => permissionLabel(p) === label);
}
