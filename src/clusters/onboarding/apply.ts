import type {
  ConfigurationOptions,
  V1Role,
  V1RoleBinding,
  V1Secret,
} from '@kubernetes/client-node';

import { abortableCall } from '../call-options.js';
import { classifyError } from '../classify.js';
import { adminCallError, type AdminContext } from './admin-context.js';
import { OnboardingError } from './errors.js';
import {
  describeRules,
  sameRules,
  SA_NAME_ANNOTATION,
  SA_TOKEN_SECRET_TYPE,
  type OnboardingObjects,
} from './objects.js';

/**
 * Creates the onboarding objects idempotently: create, and on 409 AlreadyExists read what is
 * there and bring it in line only where podbus's least privilege depends on it (the Role's
 * rules, the RoleBinding's roleRef and subjects). Objects podbus does not own the content of
 * (an existing Namespace, the ServiceAccount) are left as they are.
 */
export type ApplyOutcome = 'created' | 'unchanged' | 'updated';

export interface AppliedObject {
  readonly kind: string;
  readonly name: string;
  readonly outcome: ApplyOutcome;
  /** What changed, or why nothing did. */
  readonly note?: string;
}

export interface ApplyOptions {
  readonly timeoutMs: number;
}

export async function applyObjects(
  admin: AdminContext,
  objects: OnboardingObjects,
  options: ApplyOptions,
): Promise<AppliedObject[]> {
  const applied: AppliedObject[] = [];
  const ns = objects.serviceAccount.metadata?.namespace ?? '';
  const t: Timeout = () => abortableCall(AbortSignal.timeout(options.timeoutMs));
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw adminCallError(error, admin, what);
    }
  };
  /** Create; undefined when it already existed (409), any other failure thrown. */
  const create = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      if (classifyError(error, { cluster: admin.context }).kind === 'already-exists')
        return undefined;
      throw adminCallError(error, admin, what);
    }
  };

  if (objects.namespace) {
    const created = await create(`creating Namespace ${ns}`, () =>
      admin.core.createNamespace({ body: objects.namespace! }, t()),
    );
    applied.push({ kind: 'Namespace', name: ns, outcome: created ? 'created' : 'unchanged' });
  } else {
    try {
      await admin.core.readNamespace({ name: ns }, t());
    } catch (error) {
      const e = classifyError(error, { cluster: admin.context });
      if (e.kind === 'not-found' || e.kind === 'namespace-missing') {
        throw new OnboardingError(
          `namespace "${ns}" does not exist on context ${admin.context}: pass --create-namespace to create it, or choose another with --namespace`,
        );
      }
      throw adminCallError(error, admin, `reading Namespace ${ns}`);
    }
    applied.push({ kind: 'Namespace', name: ns, outcome: 'unchanged', note: 'exists' });
  }

  const sa = objects.serviceAccount;
  const saName = sa.metadata?.name ?? '';
  const createdSa = await create(`creating ServiceAccount ${saName}`, () =>
    admin.core.createNamespacedServiceAccount({ namespace: ns, body: sa }, t()),
  );
  applied.push({
    kind: 'ServiceAccount',
    name: saName,
    outcome: createdSa ? 'created' : 'unchanged',
  });

  applied.push(await applyRole(admin, objects.role, ns, call, create, t));
  applied.push(await applyRoleBinding(admin, objects.roleBinding, ns, call, create, t));

  if (objects.tokenSecret) {
    const secret = objects.tokenSecret;
    const name = secret.metadata?.name ?? '';
    const createdSecret = await create(`creating Secret ${name}`, () =>
      admin.core.createNamespacedSecret({ namespace: ns, body: secret }, t()),
    );
    if (!createdSecret) {
      const existing: V1Secret = await call(`reading Secret ${name}`, () =>
        admin.core.readNamespacedSecret({ name, namespace: ns }, t()),
      );
      const owner = existing.metadata?.annotations?.[SA_NAME_ANNOTATION];
      if (existing.type !== SA_TOKEN_SECRET_TYPE || owner !== saName) {
        throw new OnboardingError(
          `Secret ${ns}/${name} exists but is not a ${SA_TOKEN_SECRET_TYPE} of ServiceAccount ${saName} (type ${existing.type ?? 'none'}, for ${owner ?? 'no account'}): delete it, or choose another --service-account`,
        );
      }
    }
    applied.push({ kind: 'Secret', name, outcome: createdSecret ? 'created' : 'unchanged' });
  }
  return applied;
}

type Call = <T>(what: string, fn: () => Promise<T>) => Promise<T>;
type Create = <T>(what: string, fn: () => Promise<T>) => Promise<T | undefined>;
/** Fresh per-call options for each admin call: each one gets the whole timeout. */
type Timeout = () => ConfigurationOptions;

async function applyRole(
  admin: AdminContext,
  role: V1Role,
  ns: string,
  call: Call,
  create: Create,
  t: Timeout,
): Promise<AppliedObject> {
  const name = role.metadata?.name ?? '';
  const created = await create(`creating Role ${name}`, () =>
    admin.rbac.createNamespacedRole({ namespace: ns, body: role }, t()),
  );
  if (created) return { kind: 'Role', name, outcome: 'created' };
  const existing: V1Role = await call(`reading Role ${name}`, () =>
    admin.rbac.readNamespacedRole({ name, namespace: ns }, t()),
  );
  if (sameRules(existing.rules, role.rules ?? []))
    return { kind: 'Role', name, outcome: 'unchanged' };
  const before = describeRules(existing.rules);
  await call(`updating Role ${name}`, () =>
    admin.rbac.replaceNamespacedRole(
      {
        name,
        namespace: ns,
        body: { ...existing, rules: role.rules ?? [] },
      },
      t(),
    ),
  );
  return {
    kind: 'Role',
    name,
    outcome: 'updated',
    note: `rules were "${before}", now "${describeRules(role.rules)}"`,
  };
}

async function applyRoleBinding(
  admin: AdminContext,
  binding: V1RoleBinding,
  ns: string,
  call: Call,
  create: Create,
  t: Timeout,
): Promise<AppliedObject> {
  const name = binding.metadata?.name ?? '';
  const created = await create(`creating RoleBinding ${name}`, () =>
    admin.rbac.createNamespacedRoleBinding({ namespace: ns, body: binding }, t()),
  );
  if (created) return { kind: 'RoleBinding', name, outcome: 'created' };
  const existing: V1RoleBinding = await call(`reading RoleBinding ${name}`, () =>
    admin.rbac.readNamespacedRoleBinding({ name, namespace: ns }, t()),
  );
  const sameRef =
    existing.roleRef?.kind === binding.roleRef.kind &&
    existing.roleRef?.name === binding.roleRef.name &&
    existing.roleRef?.apiGroup === binding.roleRef.apiGroup;
  const key = (s: { kind?: string; name?: string; namespace?: string }): string =>
    `${s.kind}/${s.namespace ?? ''}/${s.name}`;
  const sameSubjects =
    JSON.stringify((existing.subjects ?? []).map(key).sort()) ===
    JSON.stringify((binding.subjects ?? []).map(key).sort());
  if (sameRef && sameSubjects) return { kind: 'RoleBinding', name, outcome: 'unchanged' };
  if (!sameRef) {
    // roleRef is immutable: replace the binding.
    await call(`deleting RoleBinding ${name} (its roleRef cannot be changed)`, () =>
      admin.rbac.deleteNamespacedRoleBinding({ name, namespace: ns }, t()),
    );
    await call(`creating RoleBinding ${name}`, () =>
      admin.rbac.createNamespacedRoleBinding({ namespace: ns, body: binding }, t()),
    );
    return {
      kind: 'RoleBinding',
      name,
      outcome: 'updated',
      note: `it referred to ${existing.roleRef?.kind} ${existing.roleRef?.name}; recreated`,
    };
  }
  await call(`updating RoleBinding ${name}`, () =>
    admin.rbac.replaceNamespacedRoleBinding(
      { name, namespace: ns, body: { ...existing, subjects: binding.subjects ?? [] } },
      t(),
    ),
  );
  return {
    kind: 'RoleBinding',
    name,
    outcome: 'updated',
    note: 'subjects set to the ServiceAccount',
  };
}
