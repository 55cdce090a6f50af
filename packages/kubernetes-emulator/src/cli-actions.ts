import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { ISSUER } from './auth.js';
import { authenticationConfigErrors } from './authentication-config.js';
import {
  PODBUS_SERVICE_ACCOUNT,
  startKubernetesEmulator,
  type AuthenticationConfiguration,
  type ClusterSpec,
  type KubernetesEmulator,
} from './index.js';
import { CliUsageError, onStopSignals } from './cli-support.js';

/** Where the kubeconfig goes unless --write-kubeconfig says otherwise. */
export const DEFAULT_KUBECONFIG = join(tmpdir(), 'podbus-kubernetes-emulator', 'kubeconfig');

/** Raw flag values as commander hands them over (strings until validated). */
export interface KubernetesEmulatorFlags {
  clusters?: string;
  basePort?: string;
  host?: string;
  writeKubeconfig?: string;
  seed?: string;
  namespace?: string;
  nodeCapacity?: string;
  scheduleMs?: string;
  startMs?: string;
  runMs?: string;
  plainHttp?: boolean;
  authenticationConfig?: string;
  oidcSigningAlgs?: string;
}

export interface ResolvedKubernetesEmulatorFlags {
  clusters: ClusterSpec[];
  basePort: number;
  host: string;
  kubeconfig: string;
  seed: number;
  plainHttp: boolean;
}

function integer(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max)
    throw new CliUsageError(`${flag} must be an integer between ${min} and ${max}, got "${value}"`);
  return Number(value);
}

/**
 * --authentication-config (a YAML or JSON AuthenticationConfiguration file, as kube-apiserver's
 * flag) and --oidc-signing-algs (comma-separated), checked as the clusters will check them.
 */
function authenticationFlags(flags: KubernetesEmulatorFlags): {
  config?: AuthenticationConfiguration;
  algs?: string[];
} {
  const algs = flags.oidcSigningAlgs
    ?.split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (flags.authenticationConfig === undefined) {
    const errs = authenticationConfigErrors({ jwt: [] }, [ISSUER], algs ?? []);
    if (errs.length > 0) throw new CliUsageError(`--oidc-signing-algs: ${errs.join('; ')}`);
    return { algs };
  }
  const file = flags.authenticationConfig;
  let config: unknown;
  try {
    config = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    // Not `instanceof Error`: fs errors may come from another realm (test runners).
    const why =
      typeof (e as { message?: unknown }).message === 'string' ? (e as Error).message : String(e);
    throw new CliUsageError(`--authentication-config ${file}: ${why}`);
  }
  const errs = authenticationConfigErrors(
    config as AuthenticationConfiguration,
    [ISSUER],
    algs ?? ['RS256'],
  );
  if (errs.length > 0)
    throw new CliUsageError(`--authentication-config ${file} is invalid: ${errs.join('; ')}`);
  return { config: config as AuthenticationConfiguration, algs };
}

/** Validates the flags; every problem names its flag (exit code 2). */
export function resolveKubernetesEmulatorFlags(
  flags: KubernetesEmulatorFlags,
): ResolvedKubernetesEmulatorFlags {
  const count = integer('--clusters', flags.clusters, 2, 1, 32);
  const basePort = integer('--base-port', flags.basePort, 6443, 0, 65535);
  if (basePort !== 0 && basePort + count - 1 > 65535)
    throw new CliUsageError(
      `--base-port ${basePort} leaves no room for ${count} clusters (ports up to 65535)`,
    );
  const host = flags.host ?? '127.0.0.1';
  if (host.trim() === '' || /\s/.test(host))
    throw new CliUsageError(`--host must be a host name or IP address, got "${host}"`);
  const seed = integer('--seed', flags.seed, 1, 0, 2 ** 32 - 1);
  const namespace = flags.namespace ?? 'challenges';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63)
    throw new CliUsageError(`--namespace must be a DNS-1123 label, got "${namespace}"`);
  const nodeCapacityPods = integer('--node-capacity', flags.nodeCapacity, 110, 0, 1_000_000);
  const lifecycle = {
    scheduleMs: integer('--schedule-ms', flags.scheduleMs, 100, 0, 3_600_000),
    startMs: integer('--start-ms', flags.startMs, 500, 0, 3_600_000),
    runMs: integer('--run-ms', flags.runMs, 2000, 0, 86_400_000),
  };
  if (flags.writeKubeconfig !== undefined && flags.writeKubeconfig.trim() === '')
    throw new CliUsageError('--write-kubeconfig needs a file path');
  const authentication = authenticationFlags(flags);
  const clusters = Array.from({ length: count }, (_, i) => ({
    name: `cluster-${i + 1}`,
    namespace,
    nodeCapacityPods,
    lifecycle,
    ...(authentication.config ? { authenticationConfig: authentication.config } : {}),
    ...(authentication.algs ? { oidcSigningAlgs: authentication.algs } : {}),
  }));
  return {
    clusters,
    basePort,
    host,
    kubeconfig: resolve(flags.writeKubeconfig ?? DEFAULT_KUBECONFIG),
    seed,
    plainHttp: flags.plainHttp === true,
  };
}

/** What the command prints once the clusters listen (tokens are the emulator's dev credentials). */
export function describeEmulator(
  emulator: KubernetesEmulator,
  kubeconfig: string,
  seed: number,
): string {
  const lines: string[] = [];
  lines.push(
    `podbus Kubernetes API emulator: ${emulator.clusters.length} cluster(s), seed ${seed}`,
  );
  lines.push(`kubeconfig: ${kubeconfig}`);
  lines.push('');
  for (const c of emulator.clusters) {
    lines.push(`${c.name}`);
    lines.push(`  server:                ${c.server}`);
    lines.push(`  CA file:               ${c.caFile || '(plain HTTP, no CA)'}`);
    lines.push(`  admin token:           ${c.adminToken}`);
    lines.push(
      `  service account:       system:serviceaccount:${c.namespace}:${PODBUS_SERVICE_ACCOUNT}`,
    );
    lines.push(`  service account token: ${c.serviceAccountToken}`);
    lines.push(`  contexts:              ${c.name} (admin), ${c.name}-podbus (service account)`);
    lines.push(`  faults:                ${c.server}/_emulator/faults (admin token)`);
    lines.push('');
  }
  const first = emulator.clusters[0]?.name ?? 'cluster-1';
  lines.push(`Try: kubectl --kubeconfig ${kubeconfig} --context ${first} get pods -A`);
  lines.push('Stop with Ctrl-C (SIGINT) or SIGTERM.');
  return lines.join('\n') + '\n';
}

export interface RunOptions {
  /** Where the summary goes. @defaultValue process.stdout */
  out?: (text: string) => void;
  /** Resolves when the emulator should stop. @defaultValue the first SIGINT/SIGTERM */
  until?: Promise<unknown>;
}

/** Starts the emulator, writes the kubeconfig, prints the summary, runs until stopped. */
export async function runKubernetesEmulator(
  flags: KubernetesEmulatorFlags,
  options: RunOptions = {},
): Promise<void> {
  const resolved = resolveKubernetesEmulatorFlags(flags);
  const out = options.out ?? ((t: string) => void process.stdout.write(t));
  const signals = options.until ? undefined : onStopSignals();
  try {
    let emulator: KubernetesEmulator;
    try {
      emulator = await startKubernetesEmulator({
        clusters: resolved.clusters,
        basePort: resolved.basePort,
        host: resolved.host,
        seed: resolved.seed,
        plainHttp: resolved.plainHttp,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL')
        throw new CliUsageError(
          `cannot listen on ${resolved.host} (--host/--base-port): ${err.message}`,
        );
      throw e;
    }
    try {
      await emulator.writeKubeconfig(resolved.kubeconfig);
      out(describeEmulator(emulator, resolved.kubeconfig, resolved.seed));
      await (options.until ?? signals?.stopped);
    } finally {
      await emulator.stop();
    }
  } finally {
    signals?.dispose();
  }
}
