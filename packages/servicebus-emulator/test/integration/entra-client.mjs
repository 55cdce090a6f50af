// A Service Bus client authenticated with an Entra ID access token, in its own process so that
// NODE_EXTRA_CA_CERTS (read at start-up) trusts the emulator's AMQPS CA. The token comes from
// SB_JWT through a TokenCredential (what @azure/identity's credentials implement), so the SDK
// sends put-token of type "jwt". SB_ACTION: send | receive | schedule | hold. Prints the outcome as JSON.
import { clearTimeout, setTimeout } from 'node:timers';

import serviceBus from '@azure/service-bus';

const { ServiceBusClient } = serviceBus; // CommonJS: no named ESM exports

const env = process.env;
const credential = {
  getToken: async () => ({ token: env.SB_JWT, expiresOnTimestamp: Date.now() + 3_600_000 }),
};
const client = new ServiceBusClient(env.SB_NAMESPACE, credential, {
  retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
});
const queue = env.SB_QUEUE ?? 'challenges';
try {
  if (env.SB_ACTION === 'send') {
    await client
      .createSender(queue)
      .sendMessages({ body: 'with entra', messageId: `jwt-${process.pid}` });
    console.log(JSON.stringify({ ok: true }));
  } else if (env.SB_ACTION === 'schedule') {
    const sender = client.createSender(queue);
    await sender.scheduleMessages({ body: 'later' }, new Date(Date.now() + 3_600_000));
    console.log(JSON.stringify({ ok: true }));
  } else if (env.SB_ACTION === 'hold') {
    // Keeps a receiver subscribed for SB_HOLD_MS (the credential claims an hour, so the SDK
    // does not renew a shorter-lived token) and reports the first error the link meets.
    const receiver = client.createReceiver(queue);
    const firstError = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), Number(env.SB_HOLD_MS));
      receiver.subscribe({
        processMessage: async () => {},
        processError: async ({ error }) => {
          clearTimeout(timer);
          resolve(error);
        },
      });
    });
    console.log(
      JSON.stringify(
        firstError === undefined
          ? { ok: true }
          : { ok: false, code: firstError.code, message: String(firstError.message) },
      ),
    );
  } else {
    const receiver = client.createReceiver(queue, { receiveMode: 'receiveAndDelete' });
    const messages = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3_000 });
    console.log(JSON.stringify({ ok: true, received: messages.length }));
  }
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: error.code, message: String(error.message) }));
} finally {
  await client.close();
}
