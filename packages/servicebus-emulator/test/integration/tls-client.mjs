// A TLS-only Service Bus client in its own process, so NODE_EXTRA_CA_CERTS (read at start-up)
// takes effect: sends one message and receives it back, then prints the outcome as JSON.
// SB_CONNECTION_STRING, or SB_NAMESPACE with SB_KEY_NAME/SB_KEY (AzureNamedKeyCredential).
import { AzureNamedKeyCredential } from '@azure/core-auth';
import serviceBus from '@azure/service-bus';

const { ServiceBusClient } = serviceBus; // CommonJS: no named ESM exports

const options = { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } };
const env = process.env;
const client = env.SB_CONNECTION_STRING
  ? new ServiceBusClient(env.SB_CONNECTION_STRING, options)
  : new ServiceBusClient(
      env.SB_NAMESPACE,
      new AzureNamedKeyCredential(env.SB_KEY_NAME, env.SB_KEY),
      options,
    );
try {
  const messageId = `tls-${process.pid}`;
  await client.createSender('challenges').sendMessages({ body: 'over tls', messageId });
  const receiver = client.createReceiver('challenges', { receiveMode: 'receiveAndDelete' });
  const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
  console.log(JSON.stringify({ ok: true, messageId: message?.messageId, body: message?.body }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: error.code, message: String(error.message) }));
} finally {
  await client.close();
}
