import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import {
  addWorkloadIdentity,
  EntraStack,
  podbus,
  startPodbus,
  type Identity,
} from './entra-stack.js';

/**
 * podbus end to end with no shared key anywhere: the worker receives from a namespace it reaches
 * with a workload identity (Entra ID token on $cbs, Data Receiver by role assignment) and creates
 * pods on two clusters that accept only Entra ID tokens from it (RoleBinding to its object ID);
 * the challenges are sent by another workload identity with Data Sender. The results go back
 * with the worker's identity too (Data Sender on the results queue). Neither the config nor the
 * environment holds a connection string, a SAS key or a cluster token.
 */
let stack: EntraStack;
let worker: Identity;
let sender: Identity;
let configFile: string;

const CHALLENGES = ['e2e-1', 'e2e-2', 'e2e-3', 'e2e-4'];
const SENDER_SUBJECT = 'system:serviceaccount:senders:enqueue';

beforeAll(async () => {
  stack = await EntraStack.start({
    clusters: ['alpha', 'beta'],
    queues: ['results'],
    serviceBus: (tenant) => {
      worker = addWorkloadIdentity(tenant);
      sender = addWorkloadIdentity(tenant, SENDER_SUBJECT);
      return {
        roleAssignments: [
          {
            principalId: worker.objectId,
            role: 'Azure Service Bus Data Receiver',
            scope: 'challenges',
          },
          {
            principalId: worker.objectId,
            role: 'Azure Service Bus Data Sender',
            scope: 'results',
          },
          {
            principalId: sender.objectId,
            role: 'Azure Service Bus Data Sender',
            scope: 'challenges',
          },
        ],
      };
    },
  });
  for (const cluster of ['alpha', 'beta']) await stack.bindPodbusRole(cluster, worker.objectId);
  configFile = join(stack.dir, 'podbus.yaml');
  await writeFile(
    configFile,
    stringify({
      serviceBus: { fullyQualifiedNamespace: stack.namespace, credential: 'workload-identity' },
      azure: { authorityHost: stack.entra.authorityHost, disableInstanceDiscovery: true },
      clusters: ['alpha', 'beta'].map((name) => {
        const c = stack.cluster(name);
        return {
          name,
          server: c.server,
          caFile: c.caFile,
          namespace: c.namespace,
          auth: { type: 'azure', credential: 'workload-identity' },
        };
      }),
      selection: { strategy: 'round-robin' },
      policy: { allowedImages: ['*'] },
      results: { queueName: 'results' },
      http: { enabled: false },
    }),
  );
});

afterAll(() => stack?.stop());

async function workerEnv(identity: Identity): Promise<Record<string, string>> {
  const env = await stack.workloadEnv(identity);
  // The authority host and instance discovery come from the config file here.
  delete env.PODBUS_AZURE_AUTHORITY_HOST;
  delete env.PODBUS_AZURE_DISABLE_INSTANCE_DISCOVERY;
  return env;
}

function podsFor(ids: readonly string[]) {
  return ['alpha', 'beta'].flatMap((cluster) =>
    stack
      .cluster(cluster)
      .listPods()
      .map((p) => (p.metadata.labels as Record<string, string> | undefined)?.messageId ?? '')
      .filter((id) => ids.includes(id))
      .map((id) => ({ cluster, id })),
  );
}

async function until(what: string, done: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} never happened:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('secretless: Entra ID for Service Bus and for both clusters', () => {
  it('turns challenges into pods on both clusters with Entra ID tokens only', async () => {
    const env = await workerEnv(worker);
    const config = await readFile(configFile, 'utf8');
    for (const text of [config, ...Object.values(env)]) {
      expect(text).not.toMatch(/SharedAccessKey|SharedAccessSignature/);
      for (const name of ['alpha', 'beta']) {
        expect(text).not.toContain(stack.cluster(name).serviceAccountToken);
        expect(text).not.toContain(stack.cluster(name).adminToken);
      }
    }
    const run = startPodbus(['run', '--config', configFile], env);
    try {
      await run.waitFor('"msg":"receiving messages"', 90_000);
      const lines = CHALLENGES.map((id) =>
        JSON.stringify({
          messageId: id,
          body: { challengeId: id, containers: [{ image: 'nginx:1.27' }] },
        }),
      );
      const senderEnv = {
        ...(await stack.workloadEnv(sender, { subject: SENDER_SUBJECT })),
        PODBUS_SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE: stack.namespace,
        PODBUS_SERVICE_BUS_CREDENTIAL: 'workload-identity',
      };
      const sent = await podbus(['enqueue', '--file', '-'], senderEnv, {
        stdin: `${lines.join('\n')}\n`,
      });
      expect(sent.stderr).toContain('enqueued 4 messages on queue "challenges"');
      await until(
        'four pods',
        () => podsFor(CHALLENGES).length === 4,
        () => run.output,
      );
      await until(
        'the queue draining',
        () =>
          stack.sb.inspect('challenges').active === 0 &&
          stack.sb.inspect('challenges').locked === 0,
        () => run.output,
      );
      const pods = podsFor(CHALLENGES);
      expect(new Set(pods.map((p) => p.cluster))).toEqual(new Set(['alpha', 'beta']));
      expect(stack.sb.inspect('challenges').deadLettered).toBe(0);
      // Each pod runs to its end (the emulator's default run) and its result is sent.
      await until(
        'four results',
        () => stack.sb.inspect('results').active === 4,
        () => run.output,
      );
      // Every token podbus used came from the tenant, for Service Bus and for AKS.
      const audiences = new Set(stack.entra.issued.map((t) => t.claims.aud));
      expect(audiences).toEqual(
        new Set(['https://servicebus.azure.net/', '6dae42f8-4368-4678-94ff-3960e28e3630']),
      );
      for (const token of stack.entra.issued) expect(run.output).not.toContain(token.accessToken);
    } finally {
      expect(await run.stop()).toBe(0);
    }
  }, 240_000);

  it('podbus status finds a pod and searches the queues with the same Entra ID credential', async () => {
    const run = await podbus(['status', 'e2e-1', '--json', '--config', configFile], {
      ...(await workerEnv(worker)),
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [status] = JSON.parse(run.stdout) as {
      state: string;
      queue: { searched: boolean };
      deadLetterQueue: { searched: boolean };
      pods: { cluster: string; name: string }[];
      clusters: { name: string; result: string }[];
    }[];
    expect(status!.queue.searched).toBe(true);
    expect(status!.deadLetterQueue.searched).toBe(true);
    expect(status!.pods.map((p) => p.name)).toEqual(['e2e-1']);
    expect(podsFor(['e2e-1'])).toEqual([{ cluster: status!.pods[0]!.cluster, id: 'e2e-1' }]);
    expect(status!.clusters.map((c) => c.result).sort()).toEqual(['found', 'not-found']);
    for (const token of stack.entra.issued) expect(run.stdout).not.toContain(token.accessToken);
  }, 120_000);

  it('a worker identity without Data Receiver: the log says which role to assign', async () => {
    const stranger = stack.addWorkloadIdentity();
    const env = await workerEnv(stranger);
    const run = startPodbus(['run', '--config', configFile], env);
    try {
      await run.waitFor(
        /Service Bus refused podbus: the identity lacks the Listen right on sb:\/\/localhost\/challenges[^"]*: assign it the Azure Service Bus Data Receiver role/,
        // The SDK retries UnauthorizedAccess three times, 30 s apart, before the probe fails.
        150_000,
      );
      expect(run.output).toContain(
        "Unauthorized access. 'Listen' claim(s) are required to perform this operation.",
      );
    } finally {
      await run.stop();
    }
  }, 240_000);
});
