import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startEntraEmulator, type EntraEmulator } from '@podbus/entra-emulator';
import { startServiceBusEmulator } from '@podbus/servicebus-emulator';

import { addWorkloadIdentity, EntraStack, podbus, type Identity } from './entra-stack.js';

/**
 * `podbus enqueue` and `podbus dlq` with serviceBus.fullyQualifiedNamespace + credential:
 * workload identity against the Entra emulator, the namespace (Service Bus emulator over AMQPS)
 * checking the tokens and the role assignments. Each refusal shows the service's words and
 * what to fix.
 */
let stack: EntraStack;
let skewed: EntraEmulator;
let sender: Identity;
let receiver: Identity;
let nobody: Identity;

const message = JSON.stringify({ challengeId: 'web-101', containers: [{ image: 'nginx:1.27' }] });

beforeAll(async () => {
  // A second tenant whose clock is two hours behind: every token it issues is already expired.
  skewed = await startEntraEmulator({ clockSkewSeconds: -7200 });
  stack = await EntraStack.start({
    serviceBus: (tenant) => {
      sender = addWorkloadIdentity(tenant);
      receiver = addWorkloadIdentity(tenant);
      return {
        issuers: [{ issuer: skewed.issuer, discoveryUrl: skewed.discoveryUrl, ca: skewed.caPem }],
        roleAssignments: [
          {
            principalId: sender.objectId,
            role: 'Azure Service Bus Data Sender',
            scope: 'challenges',
          },
          { principalId: receiver.objectId, role: 'Azure Service Bus Data Receiver' },
        ],
      };
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await skewed?.close();
});

async function envFor(identity: Identity, extra: Record<string, string> = {}) {
  return {
    ...(await stack.workloadEnv(identity)),
    PODBUS_SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE: stack.namespace,
    PODBUS_SERVICE_BUS_CREDENTIAL: 'workload-identity',
    ...extra,
  };
}

describe('podbus enqueue and dlq with Microsoft Entra ID', () => {
  it('enqueues as a workload identity with Data Sender, with no key anywhere', async () => {
    const run = await podbus(['enqueue', '--file', '-'], await envFor(sender), {
      stdin: `${message}\n`,
    });
    expect(run.stderr).toContain('enqueued 1 message on queue "challenges"');
    expect(run.code).toBe(0);
    expect(stack.sb.inspect('challenges').active).toBe(1);
  });

  it('lists the dead-letter queue as a Data Receiver', async () => {
    const run = await podbus(['dlq', 'list'], await envFor(receiver));
    expect(run.stderr).toContain('the dead-letter queue challenges/$deadletterqueue is empty');
    expect(run.code).toBe(0);
  });

  it('missing role: the service refuses the link, podbus names the role to assign', async () => {
    const run = await podbus(['dlq', 'list'], await envFor(sender));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'podbus: the identity lacks the Listen right on sb://localhost/challenges/$deadletterqueue/$management: assign it the Azure Service Bus Data Receiver role on that queue (or the namespace) to its object ID',
    );
    expect(run.stderr).toContain(
      "Unauthorized access. 'Listen' claim(s) are required to perform this operation.",
    );
  });

  it('no role at all: sending is refused with the Sender role to assign', async () => {
    nobody = stack.addWorkloadIdentity();
    const run = await podbus(['enqueue', '--file', '-'], await envFor(nobody), {
      stdin: `${message}\n`,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('assign it the Azure Service Bus Data Sender role');
    expect(run.stderr).toContain('nothing was sent');
  });

  it('expired token: the service says ExpiredToken, podbus says to check the clock', async () => {
    const late = addWorkloadIdentity(skewed, undefined, ['Azure Service Bus Data Sender']);
    const env = { ...(await envFor(late)), ...(await stack.workloadEnv(late, { tenant: skewed })) };
    const run = await podbus(['enqueue', '--file', '-'], env, { stdin: `${message}\n` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /podbus: Service Bus refused the token as expired: check this machine's clock/,
    );
    expect(run.stderr).toMatch(/ExpiredToken: The token is expired\. Expiration time: '/);
  });

  it('wrong audience: a namespace of another cloud says InvalidAudience, podbus names the authority host', async () => {
    const gov = await startServiceBusEmulator({
      tls: { port: 0, caFile: join(stack.dir, 'gov-ca.pem') },
      entra: {
        issuers: [
          {
            issuer: stack.entra.issuer,
            discoveryUrl: stack.entra.discoveryUrl,
            ca: stack.entra.caPem,
          },
        ],
        audiences: ['https://servicebus.usgovcloudapi.net/'],
        roleAssignments: [{ principalId: sender.objectId, role: 'Azure Service Bus Data Sender' }],
      },
    });
    try {
      const bundle = join(stack.dir, 'gov-bundle.pem');
      await writeFile(bundle, stack.entra.caPem + gov.tls!.caPem);
      const env = {
        ...(await envFor(sender)),
        PODBUS_SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE: `localhost:${gov.tls!.port}`,
        NODE_EXTRA_CA_CERTS: bundle,
      };
      const run = await podbus(['enqueue', '--file', '-'], env, { stdin: `${message}\n` });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        "podbus: Service Bus refused the token as issued for another audience: the identity must get its token from the Entra ID of the namespace's cloud (azure.authorityHost, AZURE_AUTHORITY_HOST)",
      );
      expect(run.stderr).toContain(
        'InvalidAudience: The authorization header contains a token with a wrong audience.',
      );
    } finally {
      await gov.stop();
    }
  });

  it('no credential here: podbus says what workload identity needs', async () => {
    const env = await envFor(sender);
    delete (env as Record<string, string>).AZURE_FEDERATED_TOKEN_FILE;
    const run = await podbus(['enqueue', '--file', '-'], env, { stdin: `${message}\n` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'podbus: credential workload-identity needs AZURE_FEDERATED_TOKEN_FILE in the environment: the Azure Workload Identity webhook sets them in pods labelled azure.workload.identity/use: "true"',
    );
  });
});
