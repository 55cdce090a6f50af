/**
 * The floor: the least a consumer with the same two SDKs does. Receive (the SDK's own
 * concurrency), create the pod on the next cluster round-robin, complete. No lookup, no
 * retries, no metrics, client-node as it comes (a new TLS connection per call). podbus should
 * not be slower than this. argv[2]: JSON `{ connectionString, clusters, concurrency }`.
 */
import { ServiceBusClient } from '@azure/service-bus';

import { plainCoreApi } from '../../test/support/plain-core-api.ts';
import type { BenchCluster } from '../stack/stack.ts';
import { seedPod, type CHALLENGE } from './challenge-pod.ts';

const { connectionString, clusters, concurrency } = JSON.parse(process.argv[2]!) as {
  connectionString: string;
  clusters: BenchCluster[];
  concurrency: number;
};
const targets = clusters.map((c) => ({
  api: plainCoreApi({ server: c.server, caPem: c.caPem, token: c.token }),
  namespace: c.namespace,
}));
let next = 0;

const client = new ServiceBusClient(connectionString);
const receiver = client.createReceiver('challenges');
receiver.subscribe(
  {
    async processMessage(message) {
      const { api, namespace } = targets[next++ % targets.length]!;
      const pod = seedPod(String(message.messageId), message.body as typeof CHALLENGE);
      await api.createNamespacedPod({ namespace, body: pod });
      await receiver.completeMessage(message);
    },
    async processError({ error }) {
      console.error(`floor: ${String(error)}`);
    },
  },
  { autoCompleteMessages: false, maxConcurrentCalls: concurrency },
);
process.send!('ready');
process.once('SIGTERM', () => void client.close().then(() => process.exit(0)));
