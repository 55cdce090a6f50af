import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';

import { classifyError } from '../classify.js';
import type { ClusterError } from '../errors.js';
import { OnboardingError } from './errors.js';

/**
 * The operator's admin access to a target cluster: a kubeconfig context (as kubectl uses it),
 * loaded with client-node. Only `podbus clusters add` uses it, once, to create the
 * least-privilege identity the worker then uses; the worker never sees this kubeconfig.
 */
export interface AdminContext {
  readonly kubeconfigPath: string;
  readonly context: string;
  /** API server URL of the context's cluster. */
  readonly server: string;
  /** PEM CA of the context's cluster (certificate-authority-data or -file), if it has one. */
  readonly caPem?: string;
  /** The kubeconfig turns TLS verification off for this cluster. */
  readonly insecureSkipTlsVerify: boolean;
  readonly core: CoreV1Api;
  readonly rbac: RbacAuthorizationV1Api;
}

/** The kubeconfig kubectl would read: $KUBECONFIG's first file, else ~/.kube/config. */
export function defaultKubeconfigPath(env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p.trim() !== '');
  return fromEnv ? resolve(fromEnv) : join(homedir(), '.kube', 'config');
}

export function loadAdminContext(kubeconfigPath: string, context: string): AdminContext {
  const kc = new KubeConfig();
  try {
    readFileSync(kubeconfigPath);
    kc.loadFromFile(kubeconfigPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : // client-node's parse errors quote no secrets, but keep only the first line.
            (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new OnboardingError(
      `cannot load the kubeconfig ${kubeconfigPath} (${why}): pass --kubeconfig PATH`,
      'usage',
    );
  }
  const ctx = kc.getContextObject(context);
  if (!ctx) {
    const names = kc.getContexts().map((c) => c.name);
    throw new OnboardingError(
      `--context ${context}: no such context in ${kubeconfigPath} (it has: ${names.join(', ') || 'none'})`,
      'usage',
    );
  }
  kc.setCurrentContext(context);
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) {
    throw new OnboardingError(
      `context ${context} names cluster "${ctx.cluster}", which ${kubeconfigPath} does not define`,
      'usage',
    );
  }
  let caPem: string | undefined;
  if (cluster.caData) caPem = Buffer.from(cluster.caData, 'base64').toString('utf8');
  else if (cluster.caFile) {
    try {
      caPem = readFileSync(resolve(cluster.caFile), 'utf8');
    } catch {
      throw new OnboardingError(
        `the certificate-authority file ${cluster.caFile} of context ${context} cannot be read`,
        'usage',
      );
    }
  }
  return {
    kubeconfigPath,
    context,
    server: cluster.server,
    ...(caPem !== undefined && { caPem }),
    insecureSkipTlsVerify: cluster.skipTLSVerify === true,
    core: kc.makeApiClient(CoreV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
  };
}

/** A failed admin call as an error an operator can act on (never quotes credentials). */
export function adminCallError(
  error: unknown,
  admin: Pick<AdminContext, 'context' | 'server'>,
  what: string,
): OnboardingError | ClusterError {
  const e = classifyError(error, { cluster: admin.context });
  const where = `${what} (context ${admin.context}, ${admin.server})`;
  switch (e.kind) {
    case 'unauthorized':
      return new OnboardingError(
        `${where}: the API server rejected the context's credentials (401): refresh them (e.g. az aks get-credentials, or log in again) and retry`,
      );
    case 'forbidden':
      return new OnboardingError(
        `${where}: forbidden (403): ${e.detail}. podbus clusters add needs an admin context that may create ServiceAccounts, Roles, RoleBindings and Secrets in the namespace`,
      );
    case 'tls':
      return new OnboardingError(
        `${where}: TLS verification failed (${e.detail}): the kubeconfig's certificate-authority does not match the server`,
      );
    case 'connection':
    case 'timeout':
      return new OnboardingError(`${where}: cannot reach the API server: ${e.detail}`);
    case 'namespace-missing':
      return new OnboardingError(`${where}: ${e.detail}: pass --create-namespace to create it`);
    default:
      return new OnboardingError(`${where}: ${e.detail}`);
  }
}
