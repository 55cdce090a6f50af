import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { stringify } from 'yaml';

import type { EmulatedCluster } from './types.js';

/**
 * A kubeconfig with, per cluster, the context `<name>` (admin user, for kubectl) and the
 * context `<name>-podbus` (the least-privilege service account, namespace preset). Written
 * with mode 0600 because it holds tokens.
 */
export function kubeconfigYaml(
  clusters: readonly EmulatedCluster[],
  currentContext?: string,
): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': currentContext ?? clusters[0]?.name ?? '',
    clusters: clusters.map((c) => ({
      name: c.name,
      cluster: c.caPem
        ? {
            server: c.server,
            'certificate-authority-data': Buffer.from(c.caPem).toString('base64'),
          }
        : // Plain HTTP (only when asked): client-node refuses http:// without this flag.
          { server: c.server, 'insecure-skip-tls-verify': true },
    })),
    users: clusters.flatMap((c) => [
      { name: `${c.name}-admin`, user: { token: c.adminToken } },
      { name: `${c.name}-podbus`, user: { token: c.serviceAccountToken } },
    ]),
    contexts: clusters.flatMap((c) => [
      { name: c.name, context: { cluster: c.name, user: `${c.name}-admin`, namespace: 'default' } },
      {
        name: `${c.name}-podbus`,
        context: { cluster: c.name, user: `${c.name}-podbus`, namespace: c.namespace },
      },
    ]),
  };
  return stringify(doc);
}

export async function writeKubeconfigFile(
  path: string,
  clusters: readonly EmulatedCluster[],
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, kubeconfigYaml(clusters), { mode: 0o600 });
  await chmod(path, 0o600);
}
