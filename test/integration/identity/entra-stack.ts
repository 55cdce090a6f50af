import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';

import {
  AKS_SERVER_APPLICATION,
  startEntraEmulator,
  type EntraEmulator,
  type EntraEmulatorOptions,
} from '@podbus/entra-emulator';
import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '@podbus/kubernetes-emulator';
import {
  startServiceBusEmulator,
  type EntraAuthOptions,
  type ServiceBusEmulator,
} from '@podbus/servicebus-emulator';
import { PODBUS_FROM_SOURCE } from '../../support/podbus-from-source.js';

/**
 * The three emulators wired for Microsoft Entra ID and nothing else: a tenant (the Entra
 * emulator), a Service Bus namespace over AMQPS that trusts the tenant and holds the role
 * assignments, and clusters whose API servers accept the tenant's tokens for the AKS AAD server
 * application (structured authentication, username = oid). podbus runs in a child process that
 * trusts both CAs through NODE_EXTRA_CA_CERTS, as a user would run it.
 */
const repo = new URL('../../../', import.meta.url).pathname;

export const WORKLOAD_SUBJECT = 'system:serviceaccount:podbus:podbus';

export interface Identity {
  readonly clientId: string;
  readonly objectId: string;
}

/** An application of `tenant` whose federated credential trusts the pod's projected token. */
export function addWorkloadIdentity(
  tenant: EntraEmulator,
  subject = WORKLOAD_SUBJECT,
  roles: readonly string[] = [],
): Identity {
  const app = tenant.addApplication({
    clientId: randomUUID(),
    federatedCredentials: [{ issuer: tenant.federationIssuer, subject }],
    roles,
  });
  return { clientId: app.clientId, objectId: app.objectId };
}

export interface EntraStackOptions {
  readonly entra?: EntraEmulatorOptions;
  /** Service Bus trust beyond the stack's tenant (other issuers, audiences, roles). */
  readonly serviceBus?: (tenant: EntraEmulator) => Partial<EntraAuthOptions>;
  /** Emulated clusters; none by default. */
  readonly clusters?: readonly string[];
  /** Queues beside `challenges` (a results queue). */
  readonly queues?: readonly string[];
}

export class EntraStack {
  private constructor(
    readonly dir: string,
    readonly entra: EntraEmulator,
    readonly sb: ServiceBusEmulator,
    readonly k8s: KubernetesEmulator | undefined,
    /** NODE_EXTRA_CA_CERTS: the tenant's CA and the namespace's AMQPS CA. */
    readonly caBundle: string,
  ) {}

  static async start(options: EntraStackOptions = {}): Promise<EntraStack> {
    const dir = await mkdtemp(join(tmpdir(), 'podbus-entra-'));
    const entra = await startEntraEmulator(options.entra);
    const extra = options.serviceBus?.(entra) ?? {};
    const sb = await startServiceBusEmulator({
      ...(options.queues !== undefined && {
        config: {
          UserConfig: {
            Namespaces: [
              {
                Name: 'sbemulatorns',
                Queues: ['challenges', ...options.queues].map((name) => ({ Name: name })),
              },
            ],
          },
        },
      }),
      tls: { port: 0, caFile: join(dir, 'servicebus-ca.pem') },
      entra: {
        ...extra,
        issuers: [
          { issuer: entra.issuer, discoveryUrl: entra.discoveryUrl, ca: entra.caPem },
          ...(extra.issuers ?? []),
        ],
      },
    });
    const k8s =
      options.clusters === undefined || options.clusters.length === 0
        ? undefined
        : await startKubernetesEmulator({
            clusters: options.clusters.map((name) => ({
              name,
              authenticationConfig: {
                apiVersion: 'apiserver.config.k8s.io/v1beta1',
                kind: 'AuthenticationConfiguration',
                jwt: [
                  {
                    issuer: {
                      url: entra.issuer,
                      discoveryURL: entra.discoveryUrl,
                      certificateAuthority: entra.caPem,
                      audiences: [AKS_SERVER_APPLICATION],
                    },
                    claimValidationRules: [{ claim: 'tid', requiredValue: entra.tenantId }],
                    claimMappings: {
                      username: { claim: 'oid', prefix: '' },
                      groups: { claim: 'groups', prefix: '' },
                    },
                  },
                ],
              },
            })),
          });
    const caBundle = join(dir, 'ca-bundle.pem');
    await writeFile(caBundle, entra.caPem + sb.tls!.caPem);
    return new EntraStack(dir, entra, sb, k8s, caBundle);
  }

  /** `localhost:<AMQPS port>`: the namespace as the SDK reaches it with a credential. */
  get namespace(): string {
    return `localhost:${this.sb.tls!.port}`;
  }

  cluster(name: string): EmulatedCluster {
    return this.k8s!.cluster(name);
  }

  /** A workload identity of the stack's tenant. */
  addWorkloadIdentity(subject = WORKLOAD_SUBJECT): Identity {
    return addWorkloadIdentity(this.entra, subject);
  }

  /**
   * The environment the Azure Workload Identity webhook gives a pod (AZURE_CLIENT_ID,
   * AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE with a projected token), plus what a test
   * tenant needs: its authority host, no instance discovery, and the CAs. `tenant` defaults to
   * the stack's own, `subject` to the service account podbus/podbus.
   */
  async workloadEnv(
    identity: Identity,
    {
      tenant = this.entra,
      subject = WORKLOAD_SUBJECT,
    }: { tenant?: EntraEmulator; subject?: string } = {},
  ): Promise<Record<string, string>> {
    const tokenFile = join(this.dir, `${identity.clientId}.token`);
    await writeFile(tokenFile, tenant.federatedToken(subject));
    let caBundle = this.caBundle;
    if (tenant !== this.entra) {
      caBundle = join(this.dir, `${tenant.tenantId}-ca-bundle.pem`);
      await writeFile(caBundle, tenant.caPem + this.sb.tls!.caPem);
    }
    return {
      AZURE_CLIENT_ID: identity.clientId,
      AZURE_TENANT_ID: tenant.tenantId,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      PODBUS_AZURE_AUTHORITY_HOST: tenant.authorityHost,
      PODBUS_AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
      NODE_EXTRA_CA_CERTS: caBundle,
    };
  }

  /** Binds the cluster's podbus Role (pods: create, get, list, watch, delete) to a User. */
  async bindPodbusRole(cluster: string, user: string): Promise<void> {
    const c = this.cluster(cluster);
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser(
      {
        name: c.name,
        server: c.server,
        caData: Buffer.from(c.caPem).toString('base64'),
        skipTLSVerify: false,
      },
      { name: 'admin', token: c.adminToken },
    );
    await kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: c.namespace,
      body: {
        metadata: { name: `podbus-${user.slice(0, 8)}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'podbus' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    });
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.sb.stop(), this.k8s?.stop(), this.entra.close()]);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * `podbus <args>` from the sources in a child process with exactly `env` (plus PATH and HOME):
 * nothing of the test's own environment, so no stray connection string.
 */
function spawnPodbus(args: readonly string[], env: Record<string, string>) {
  return spawn(process.execPath, [...PODBUS_FROM_SOURCE, ...args], {
    cwd: repo,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
}

export interface PodbusRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `podbus <args>` to its end. */
export function podbus(
  args: readonly string[],
  env: Record<string, string>,
  options: { stdin?: string; timeoutMs?: number } = {},
): Promise<PodbusRun> {
  const child = spawnPodbus(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** A running `podbus run` child: its output so far, and a way to wait for a line or stop it. */
export function startPodbus(args: readonly string[], env: Record<string, string>) {
  const child = spawnPodbus(args, env);
  child.stdin.end();
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    get output() {
      return output;
    },
    async waitFor(text: string | RegExp, timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      const seen = () => (typeof text === 'string' ? output.includes(text) : text.test(output));
      while (!seen()) {
        if (Date.now() > deadline)
          throw new Error(`podbus never printed ${String(text)}:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(): Promise<number | null> {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
