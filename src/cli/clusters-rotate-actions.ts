import { readFile } from 'node:fs/promises';

import { KubeConfig } from '@kubernetes/client-node';

import type { ClusterEntry } from '../clusters/cluster-entry.js';
import {
  defaultKubeconfigPath,
  loadAdminContext,
  OnboardingError,
  parseTokenTtl,
} from '../clusters/onboarding/index.js';
import { DEFAULT_SERVICE_ACCOUNT } from '../clusters/onboarding/objects.js';
import {
  renewToken,
  writeTokenFile,
  writeTokenSecret,
  type RotationAccess,
} from '../clusters/onboarding/rotate.js';
import { loadClusterSettings } from '../config/load-config.js';
import { errorMessage } from '../shared/error-message.js';
import { scrubText } from '../shared/redaction.js';
import { clustersSources, dnsLabel, type ClustersFileFlags } from './clusters-actions.js';
import { configOrUsageError } from './config-sources.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, err, out } from './io.js';

export interface RotateFlags extends ClustersFileFlags {
  all?: boolean;
  tokenTtl?: string;
  context?: string;
  kubeconfig?: string;
  serviceAccount?: string;
  secret?: string;
  secretKey?: string;
  timeout?: string;
}

const DEFAULT_TTL = '24h';

/**
 * `podbus clusters rotate-token NAME... | --all`: a new TokenRequest token for each entry, from
 * an admin context or the entry's own current token, written to the entry's tokenFile or to the
 * Secret it is mounted from. The token is never printed.
 */
export async function runClustersRotateToken(
  names: readonly string[],
  flags: RotateFlags,
): Promise<number> {
  if (names.length === 0 && !flags.all) {
    throw new CliUsageError('name the cluster entries to rotate, or pass --all');
  }
  if (names.length > 0 && flags.all) throw new CliUsageError('--all takes no names');
  const ttlSeconds = usage(() => parseTokenTtl(flags.tokenTtl ?? DEFAULT_TTL));
  const serviceAccount = dnsLabel(
    '--service-account',
    flags.serviceAccount ?? DEFAULT_SERVICE_ACCOUNT,
  );
  const timeoutMs = Number(flags.timeout ?? '10') * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new CliUsageError(`--timeout must be a number of seconds, got "${flags.timeout}"`);
  }
  const secret =
    flags.secret === undefined ? undefined : secretTarget(flags.secret, flags.secretKey);
  const { entries } = configOrUsageError(() => loadClusterSettings(clustersSources(flags)));
  const chosen = flags.all ? entries.filter((e) => e.auth === undefined) : pick(entries, names);
  const admin =
    flags.context === undefined
      ? undefined
      : usage(() =>
          loadAdminContext(
            flags.kubeconfig ?? defaultKubeconfigPath(cliIo().env),
            flags.context as string,
          ),
        );
  let failed = 0;
  for (const entry of chosen) {
    try {
      const access: RotationAccess = admin
        ? { kind: 'admin', admin }
        : { kind: 'self', token: await currentToken(entry) };
      const issued = await renewToken(entry, access, serviceAccount, ttlSeconds, timeoutMs);
      const where = secret
        ? `Secret ${secret.namespace}/${secret.name.replaceAll('{name}', entry.name)} (key ${secret.key})`
        : `${entry.tokenFile}`;
      if (secret) {
        const kc = homeCluster();
        await writeTokenSecret(
          kc,
          { ...secret, name: secret.name.replaceAll('{name}', entry.name) },
          issued.token,
          timeoutMs,
        );
      } else {
        if (entry.tokenFile === undefined) {
          throw new OnboardingError(
            'its token is inline (token:); rotation writes a tokenFile: move the token to a file, or pass --secret',
          );
        }
        await writeTokenFile(entry.tokenFile, issued.token);
      }
      out(
        `${entry.name}: new token for ${entry.namespace}/${serviceAccount}${issued.expiresAt ? `, expires ${issued.expiresAt}` : ''}, written to ${where}`,
      );
    } catch (error) {
      // One entry's failure (a refused request, a read-only directory, a full disk) must not
      // stop the others: in a CronJob every later cluster's token would expire with it.
      failed++;
      err(`podbus: ${entry.name}: ${scrubText(errorMessage(error))}`);
    }
  }
  if (chosen.length === 0)
    err('no cluster entry uses a token (entries with auth need no rotation)');
  return failed === 0 ? EXIT.ok : EXIT.failure;
}

/** The cluster podbus runs in: in a pod, its service account; elsewhere, $KUBECONFIG's current context. */
function homeCluster(): KubeConfig {
  const env = cliIo().env;
  const kc = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromFile(defaultKubeconfigPath(env));
  return kc;
}

function pick(entries: readonly ClusterEntry[], names: readonly string[]): ClusterEntry[] {
  return names.map((name) => {
    const entry = entries.find((e) => e.name === name);
    if (entry === undefined) {
      throw new CliUsageError(
        `no cluster entry named "${name}" (the configuration has: ${entries.map((e) => e.name).join(', ')})`,
      );
    }
    if (entry.auth !== undefined) {
      throw new CliUsageError(
        `cluster entry "${name}" uses auth type ${entry.auth.type}: its tokens are obtained at run time, there is nothing to rotate`,
      );
    }
    return entry;
  });
}

async function currentToken(entry: ClusterEntry): Promise<string> {
  if (entry.token !== undefined) return entry.token;
  try {
    return (await readFile(entry.tokenFile as string, 'utf8')).trim();
  } catch (error) {
    throw new OnboardingError(
      `cannot read the current token from ${entry.tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'}): pass --context <admin-context>`,
    );
  }
}

/** `--secret <namespace>/<name>`, `{name}` standing for the entry's name. */
function secretTarget(
  value: string,
  key: string | undefined,
): { namespace: string; name: string; key: string } {
  const match = /^([a-z0-9-]+)\/([a-z0-9.{}-]+)$/.exec(value.trim());
  if (!match) {
    throw new CliUsageError(
      `--secret must be <namespace>/<name>, e.g. podbus/podbus-cluster-{name}, got "${value}"`,
    );
  }
  return { namespace: match[1]!, name: match[2]!, key: key ?? 'token' };
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof OnboardingError && error.kind === 'usage') {
      throw new CliUsageError(error.message);
    }
    throw error;
  }
}
