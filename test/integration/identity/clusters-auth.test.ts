import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import { AKS_SERVER_APPLICATION } from '@podbus/entra-emulator';

import { EntraStack, podbus, type Identity } from './entra-stack.js';

/**
 * Cluster entries with `auth: { type: azure }` and `auth: { type: exec }` (a kubelogin-like
 * plugin), checked by `podbus clusters verify` in a child process against emulated API servers
 * that accept the Entra emulator's tokens (structured authentication, username = oid).
 */
const here = new URL('.', import.meta.url).pathname;

let stack: EntraStack;
let identity: Identity;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await EntraStack.start({ clusters: ['alpha', 'beta', 'gamma'] });
  identity = stack.addWorkloadIdentity();
  await stack.bindPodbusRole('alpha', identity.objectId);
  await stack.bindPodbusRole('beta', identity.objectId);
  // gamma: no RoleBinding for the identity.
  env = await stack.workloadEnv(identity);
});

afterAll(() => stack?.stop());

function entry(name: string, auth: Record<string, unknown>) {
  const c = stack.cluster(name);
  return { name, server: c.server, caFile: c.caFile, namespace: c.namespace, auth };
}

const exec = () => ({
  type: 'exec',
  command: process.execPath,
  args: [
    join(here, 'get-token.mjs'),
    '--server-id',
    AKS_SERVER_APPLICATION,
    '--disable-instance-discovery',
  ],
  env: [{ name: 'AZURE_AUTHORITY_HOST', value: stack.entra.authorityHost }],
  provideClusterInfo: true,
});

async function verify(entries: unknown[]) {
  const file = join(stack.dir, `clusters-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(entries));
  return podbus(['clusters', 'verify', '--clusters-file', file, '--json'], env);
}

describe('podbus clusters verify with Entra ID tokens', () => {
  it('passes with auth type azure (workload identity) and an exec plugin', async () => {
    const run = await verify([
      entry('alpha', { type: 'azure', credential: 'workload-identity' }),
      entry('beta', exec()),
    ]);
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as { name: string; ok: boolean; token: string }[];
    expect(results.map((r) => [r.name, r.ok, r.token])).toEqual([
      ['alpha', true, 'valid'],
      ['beta', true, 'valid'],
    ]);
    expect(run.stdout + run.stderr).not.toContain(stack.entra.issued.at(-1)!.accessToken);
  });

  it('missing role: names the RoleBinding or Azure RBAC role to grant', async () => {
    const run = await verify([entry('gamma', { type: 'azure', credential: 'workload-identity' })]);
    expect(run.code).toBe(1);
    const [result] = JSON.parse(run.stdout) as { problem: string }[];
    expect(result!.problem).toBe(
      'the identity may not create pods, get pods, list pods, watch pods, delete pods, patch pods, get leases, create leases, update leases in namespace challenges (creating challenge pods; finding the pod of a redelivered message; counting active pods and following them to their end; cleaning up finished pods; marking a pod whose result was sent; electing the results publisher): bind the Role (pods: create,get,list,watch,delete,patch; pods/log: get; coordination.k8s.io/leases: get,create,update) to the identity (kubectl -n challenges create rolebinding podbus-entra --role podbus --user <object id>, with Kubernetes RBAC), or assign it the Azure Kubernetes Service RBAC Writer role on the namespace (with Azure RBAC for Kubernetes)',
    );
  });

  it('wrong audience: the API server answers 401, podbus names auth.scope', async () => {
    const run = await verify([
      entry('alpha', {
        type: 'azure',
        credential: 'workload-identity',
        scope: 'https://management.azure.com/.default',
      }),
    ]);
    expect(run.code).toBe(1);
    const [result] = JSON.parse(run.stdout) as { problem: string; token: string }[];
    expect(result!.token).toBe('invalid');
    expect(result!.problem).toBe(
      'the API server refused the Entra ID token (401): the cluster must accept Entra ID tokens of this tenant (AKS with Microsoft Entra ID integration) for the audience of auth.scope (https://management.azure.com/.default)',
    );
  });

  it('a failing plugin: its stderr and exit code, as the problem', async () => {
    const run = await verify([entry('beta', { ...exec(), args: [join(here, 'get-token.mjs')] })]);
    expect(run.code).toBe(1);
    const [result] = JSON.parse(run.stdout) as { problem: string }[];
    expect(result!.problem).toMatch(/^exec plugin .*node: exited with 1: get-token: /);
  });
});
