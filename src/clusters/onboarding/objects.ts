import type {
  V1Namespace,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1ServiceAccount,
} from '@kubernetes/client-node';

import { PODBUS_PERMISSIONS, roleRulesFor } from '../permissions.js';

/**
 * The objects `podbus clusters add` creates on a target cluster: the same identity and
 * least-privilege permissions as deploy/target-cluster (namespace.yaml, serviceaccount.yaml,
 * role.yaml, rolebinding.yaml, token-secret.yaml), named after the service account so several
 * podbus installations can share a cluster. The seed bound its service account to
 * cluster-admin; this Role allows only what the worker does in one namespace: its pods (and
 * their logs, for result log tails) and the Lease that elects one results publisher.
 */

/** Exactly what the worker uses (clusters/permissions.ts), as Role rules. */
export const ROLE_RULES: readonly V1PolicyRule[] = roleRulesFor(PODBUS_PERMISSIONS);

export const SA_TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const DEFAULT_NAMESPACE = 'challenges';
export const DEFAULT_SERVICE_ACCOUNT = 'podbus';

const LABELS = {
  'app.kubernetes.io/name': 'podbus',
  'app.kubernetes.io/part-of': 'podbus',
};

export interface OnboardingTarget {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Include the Namespace (only with --create-namespace). */
  readonly createNamespace: boolean;
  /** 'secret': a long-lived token Secret; 'token-request': a TokenRequest (no Secret). */
  readonly tokenMode: 'secret' | 'token-request';
}

export interface OnboardingObjects {
  readonly namespace?: V1Namespace;
  readonly serviceAccount: V1ServiceAccount;
  readonly role: V1Role;
  readonly roleBinding: V1RoleBinding;
  readonly tokenSecret?: V1Secret;
}

export function roleName(target: Pick<OnboardingTarget, 'serviceAccount'>): string {
  return target.serviceAccount;
}

export function tokenSecretName(serviceAccount: string): string {
  return `${serviceAccount}-token`;
}

export function onboardingObjects(target: OnboardingTarget): OnboardingObjects {
  const ns = target.namespace;
  const sa = target.serviceAccount;
  return {
    ...(target.createNamespace && {
      namespace: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: ns,
          labels: {
            ...LABELS,
            // As deploy/target-cluster/namespace.yaml: podbus's hardened pods meet "baseline".
            'pod-security.kubernetes.io/enforce': 'baseline',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      },
    }),
    serviceAccount: {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: sa, namespace: ns, labels: { ...LABELS } },
      // podbus uses the token from outside the cluster; nothing runs as this account inside.
      automountServiceAccountToken: false,
    },
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: roleName(target), namespace: ns, labels: { ...LABELS } },
      rules: ROLE_RULES.map((r) => ({
        ...r,
        apiGroups: [...(r.apiGroups ?? [])],
        resources: [...(r.resources ?? [])],
        verbs: [...r.verbs],
      })),
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: roleName(target), namespace: ns, labels: { ...LABELS } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName(target) },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
    ...(target.tokenMode === 'secret' && {
      tokenSecret: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: tokenSecretName(sa),
          namespace: ns,
          labels: { ...LABELS },
          annotations: { [SA_NAME_ANNOTATION]: sa },
        },
        type: SA_TOKEN_SECRET_TYPE,
      },
    }),
  };
}

/** The objects in apply order (namespace first, token Secret last). */
export function objectList(
  objects: OnboardingObjects,
): { kind: string; name: string; object: object }[] {
  const list: { kind: string; name: string; object: object }[] = [];
  const add = (o: { kind?: string; metadata?: { name?: string } } | undefined): void => {
    if (o) list.push({ kind: o.kind ?? '', name: o.metadata?.name ?? '', object: o });
  };
  add(objects.namespace);
  add(objects.serviceAccount);
  add(objects.role);
  add(objects.roleBinding);
  add(objects.tokenSecret);
  return list;
}

/** Same rules regardless of order and duplicates (what RBAC evaluates). */
export function sameRules(
  a: readonly V1PolicyRule[] | undefined,
  b: readonly V1PolicyRule[],
): boolean {
  const norm = (rules: readonly V1PolicyRule[] | undefined): string =>
    JSON.stringify(
      (rules ?? [])
        .map((r) => ({
          apiGroups: [...new Set(r.apiGroups ?? [])].sort(),
          resources: [...new Set(r.resources ?? [])].sort(),
          resourceNames: [...new Set(r.resourceNames ?? [])].sort(),
          nonResourceURLs: [...new Set(r.nonResourceURLs ?? [])].sort(),
          verbs: [...new Set(r.verbs ?? [])].sort(),
        }))
        .map((r) => JSON.stringify(r))
        .sort(),
    );
  return norm(a) === norm(b);
}

/** "pods: create, get; pods/log: get" for messages. */
export function describeRules(rules: readonly V1PolicyRule[] | undefined): string {
  if (!rules || rules.length === 0) return '(no rules)';
  return rules
    .map((r) => {
      const group = (r.apiGroups ?? []).filter((g) => g !== '');
      const res = (r.resources ?? r.nonResourceURLs ?? []).join(',');
      return `${group.length > 0 ? `${group.join(',')}/` : ''}${res}: ${(r.verbs ?? []).join(',')}`;
    })
    .join('; ');
}
