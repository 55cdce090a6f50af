import type { V1Pod } from '@kubernetes/client-node';

import type { ClusterEntry } from '../../../../src/clusters/cluster-entry.js';
import type { EmulatedCluster } from '@podbus/kubernetes-emulator';

/** A ClusterEntry for an emulated cluster, as the config loader would produce it. */
export function entryFor(cluster: EmulatedCluster, over: Partial<ClusterEntry> = {}): ClusterEntry {
  return {
    name: cluster.name,
    server: cluster.server,
    token: cluster.serviceAccountToken,
    ca: cluster.caPem,
    insecureSkipTlsVerify: false,
    namespace: cluster.namespace,
    weight: 1,
    maxActivePods: 0,
    labels: {},
    ...over,
  };
}

let counter = 0;

/** A minimal valid podbus-labelled pod with a unique name. */
export function testPod(prefix = 'int'): V1Pod {
  counter += 1;
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/managed-by': 'podbus' },
      annotations: { 'podbus.io/request-hash': 'abc' },
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c-01', image: 'busybox:1.36', imagePullPolicy: 'Always' }],
    },
  };
}

/** Polls (real time) until the predicate holds. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
