/**
 * A consumer like the seed's loop: one message at a time, a Kubernetes client made for each
 * message (DESIGN.md "Origin"). argv[2]: JSON `{ connectionString, clusters }`.
 */
import { ServiceBusClient } from '@azure/service-bus';

import { plainCoreApi } from '../../test/support/plain-core-api.ts';
import type { BenchCluster } from '../stack/stack.ts';
import { seedPod, type CHALLENGE } from './challenge-pod.ts';

const { connectionString, clusters } = JSON.parse(process.argv[2]!) as {
  connectionString: string;
  clusters: BenchCluster[];
};
const client = new ServiceBusClient(connectionString);
const receiver = client.createReceiver('challenges');
process.send!('ready');
process.once('SIGTERM', () => void client.close().then(() => process.exit(0)));

for (let n = 0; ; n += 1) {
  const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 60_000 });
  if (message === undefined) continue;
  const cluster = clusters[n % clusters.length]!;
  const api = plainCoreApi({ server: cluster.server, caPem: cluster.caPem, token: cluster.token });
  const pod = seedPod(String(message.messageId), message.body as typeof CHALLENGE);
  await api.createNamespacedPod({ namespace: cluster.namespace, body: pod });
  await receiver.completeMessage(message);
}
