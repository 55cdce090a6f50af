import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

/**
 * client-node's CoreV1Api as anyone would make it, without podbus's client around it (its own
 * connections, no retries, no timeout): for tests that play another party against a cluster,
 * or that show what podbus's client adds.
 */
export function plainCoreApi(target: PlainTarget): CoreV1Api {
  return plainKubeConfig(target).makeApiClient(CoreV1Api);
}

export interface PlainTarget {
  readonly server: string;
  /** The cluster CA; without it, only the system's trusted CAs verify the server. */
  readonly caPem?: string;
  readonly token: string;
}

/** The KubeConfig behind plainCoreApi, for the other API groups (RBAC, coordination). */
export function plainKubeConfig(target: PlainTarget): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: 'target',
      server: target.server,
      skipTLSVerify: false,
      ...(target.caPem !== undefined && { caData: Buffer.from(target.caPem).toString('base64') }),
    },
    { name: 'user', token: target.token },
  );
  return kc;
}
