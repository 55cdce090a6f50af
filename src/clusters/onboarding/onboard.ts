import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

import { stringify } from 'yaml';

import { loadAdminContext, type AdminContext } from './admin-context.js';
import { applyObjects, type AppliedObject } from './apply.js';
import { upsertClusterEntry, type ClusterFileEntry, type EntryChange } from './clusters-file.js';
import { OnboardingError } from './errors.js';
import {
  objectList,
  onboardingObjects,
  tokenSecretName,
  type OnboardingTarget,
} from './objects.js';
import { requestToken, waitForSecretToken, type IssuedToken } from './token.js';

/**
 * `podbus clusters add`, without the command line: from an admin kubeconfig context to a
 * working, least-privilege cluster entry.
 *   1. create (idempotently) the namespace (if asked), ServiceAccount, Role, RoleBinding and,
 *      for a long-lived token, the token Secret;
 *   2. wait for the token controller to fill in the Secret (or issue a TokenRequest);
 *   3. write the token (0600) and the CA next to the clusters file, under tokens/;
 *   4. add or update the entry in the clusters file.
 * Files are only rewritten when their content changes, so a second run reports no change.
 */
export interface OnboardOptions {
  /** Entry name in the clusters file (DNS-1123 label). */
  readonly name: string;
  readonly kubeconfig: string;
  readonly context: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly createNamespace: boolean;
  /** A TokenRequest with this lifetime instead of a long-lived Secret token. */
  readonly tokenTtlSeconds?: number;
  /** Absolute path of the clusters file to update (created if missing). */
  readonly clustersFile: string;
  /** API server URL for the entry; default the context's server. */
  readonly server?: string;
  readonly weight?: number;
  readonly maxActivePods?: number;
  /** @defaultValue 60_000 */
  readonly tokenWaitMs?: number;
  /** @defaultValue 15_000 */
  readonly requestTimeoutMs?: number;
  /** Seam for tests: an already loaded admin context. */
  readonly admin?: AdminContext;
}

export type FileChange = 'written' | 'unchanged';

export interface OnboardReport {
  readonly name: string;
  readonly context: string;
  readonly server: string;
  readonly namespace: string;
  readonly objects: readonly AppliedObject[];
  readonly tokenFile: { readonly path: string; readonly change: FileChange };
  readonly caFile?: { readonly path: string; readonly change: FileChange; readonly source: string };
  readonly entry: { readonly file: string; readonly change: EntryChange };
  readonly tokenExpiresAt?: string;
  readonly tokenWaitedMs?: number;
  readonly warnings: readonly string[];
  /** Nothing was created, updated or rewritten. */
  readonly unchanged: boolean;
}

export interface DryRunReport {
  readonly server: string;
  /** Multi-document YAML of the objects. */
  readonly objectsYaml: string;
  /** The entry as it would be written (YAML list item). */
  readonly entryYaml: string;
  /** What writing the entry would do to the clusters file as it is now. */
  readonly entryChange: EntryChange;
  readonly clustersFile: string;
  readonly tokenFile: string;
  readonly caFile?: string;
  readonly warnings: readonly string[];
}

export function tokenPaths(clustersFile: string, name: string): { token: string; ca: string } {
  const dir = join(dirname(clustersFile), 'tokens');
  return { token: join(dir, `${name}.token`), ca: join(dir, `${name}.ca.crt`) };
}

function target(options: OnboardOptions): OnboardingTarget {
  return {
    namespace: options.namespace,
    serviceAccount: options.serviceAccount,
    createNamespace: options.createNamespace,
    tokenMode: options.tokenTtlSeconds === undefined ? 'secret' : 'token-request',
  };
}

/** Paths in the entry are relative to the clusters file (the loader resolves them so). */
function relativeToFile(clustersFile: string, path: string): string {
  return relative(dirname(clustersFile), path).split('\\').join('/');
}

function entryFor(options: OnboardOptions, server: string, hasCa: boolean): ClusterFileEntry {
  const paths = tokenPaths(options.clustersFile, options.name);
  return {
    name: options.name,
    server,
    tokenFile: relativeToFile(options.clustersFile, paths.token),
    ...(hasCa && { caFile: relativeToFile(options.clustersFile, paths.ca) }),
    namespace: options.namespace,
    ...(options.weight !== undefined && { weight: options.weight }),
    ...(options.maxActivePods !== undefined && { maxActivePods: options.maxActivePods }),
  };
}

/** What `--dry-run` prints: reads the kubeconfig, contacts nothing, writes nothing. */
export async function planOnboarding(options: OnboardOptions): Promise<DryRunReport> {
  const current = await readOptional(options.clustersFile);
  const admin = options.admin ?? loadAdminContext(options.kubeconfig, options.context);
  const server = options.server ?? admin.server;
  const warnings: string[] = [];
  const objects = objectList(onboardingObjects(target(options)));
  const objectsYaml = objects.map((o) => `---\n${stringify(o.object)}`).join('');
  // Secret mode can fall back to the Secret's ca.crt; the plan assumes a CA file either way
  // unless neither source can exist.
  const hasCa = admin.caPem !== undefined || options.tokenTtlSeconds === undefined;
  if (admin.insecureSkipTlsVerify) warnings.push(insecureWarning(admin, options));
  const entry = entryFor(options, server, hasCa);
  const entryYaml = stringify([
    { ...entry, weight: entry.weight ?? 1, maxActivePods: entry.maxActivePods ?? 0 },
  ]);
  const paths = tokenPaths(options.clustersFile, options.name);
  return {
    server,
    objectsYaml,
    entryYaml,
    entryChange: upsertClusterEntry(current, entry, options.clustersFile).change,
    clustersFile: options.clustersFile,
    tokenFile: paths.token,
    ...(hasCa && { caFile: paths.ca }),
    warnings,
  };
}

function insecureWarning(admin: AdminContext, options: OnboardOptions): string {
  return options.tokenTtlSeconds === undefined
    ? `context ${admin.context} skips TLS verification; the entry will use the cluster CA from the token Secret, so podbus verifies TLS`
    : `context ${admin.context} skips TLS verification and has no certificate-authority; add it to the kubeconfig so podbus can verify TLS`;
}

export async function onboardCluster(options: OnboardOptions): Promise<OnboardReport> {
  const admin = options.admin ?? loadAdminContext(options.kubeconfig, options.context);
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const server = options.server ?? admin.server;
  const warnings: string[] = [];
  if (admin.insecureSkipTlsVerify && options.tokenTtlSeconds !== undefined && !admin.caPem) {
    throw new OnboardingError(
      `${insecureWarning(admin, options)} (or drop --token-ttl to take the CA from the token Secret)`,
      'usage',
    );
  }
  const t = target(options);
  const objects = onboardingObjects(t);
  const applied = await applyObjects(admin, objects, { timeoutMs: requestTimeoutMs });

  let issued: IssuedToken;
  if (options.tokenTtlSeconds === undefined) {
    issued = await waitForSecretToken(
      admin,
      options.namespace,
      tokenSecretName(options.serviceAccount),
      {
        timeoutMs: options.tokenWaitMs ?? 60_000,
        requestTimeoutMs,
      },
    );
  } else {
    issued = await requestToken(
      admin,
      options.namespace,
      options.serviceAccount,
      options.tokenTtlSeconds,
      requestTimeoutMs,
    );
    warnings.push(
      `the token expires at ${issued.expiresAt ?? `in ${options.tokenTtlSeconds} s`}: renew it before then by running this command again (podbus re-reads the token file), or drop --token-ttl for a long-lived token`,
    );
  }

  // The kubeconfig's CA is what the operator already trusts for this endpoint; the Secret's
  // ca.crt (the cluster's root CA) is the fallback, e.g. for a kubeconfig that skips TLS.
  let ca: { pem: string; source: string } | undefined;
  if (admin.caPem && !admin.insecureSkipTlsVerify)
    ca = { pem: admin.caPem, source: `kubeconfig context ${admin.context}` };
  else if (issued.caPem)
    ca = {
      pem: issued.caPem,
      source: `Secret ${tokenSecretName(options.serviceAccount)} (ca.crt)`,
    };
  if (admin.insecureSkipTlsVerify) warnings.push(insecureWarning(admin, options));

  const paths = tokenPaths(options.clustersFile, options.name);
  await mkdir(dirname(paths.token), { recursive: true, mode: 0o700 });
  const tokenChange = await writeIfChanged(paths.token, `${issued.token}\n`, 0o600);
  const caChange = ca ? await writeIfChanged(paths.ca, ensureNewline(ca.pem), 0o644) : undefined;

  const entry = entryFor(options, server, ca !== undefined);
  const current = await readOptional(options.clustersFile);
  const updated = upsertClusterEntry(current, entry, options.clustersFile);
  if (updated.change !== 'unchanged') {
    await mkdir(dirname(options.clustersFile), { recursive: true });
    await atomicWrite(options.clustersFile, updated.text, 0o644);
  }
  const unchanged =
    applied.every((o) => o.outcome === 'unchanged') &&
    tokenChange === 'unchanged' &&
    (caChange ?? 'unchanged') === 'unchanged' &&
    updated.change === 'unchanged';
  return {
    name: options.name,
    context: admin.context,
    server,
    namespace: options.namespace,
    objects: applied,
    tokenFile: { path: paths.token, change: tokenChange },
    ...(ca && caChange && { caFile: { path: paths.ca, change: caChange, source: ca.source } }),
    entry: { file: options.clustersFile, change: updated.change },
    ...(issued.expiresAt !== undefined && { tokenExpiresAt: issued.expiresAt }),
    ...(issued.waitedMs !== undefined && { tokenWaitedMs: issued.waitedMs }),
    warnings,
    unchanged,
  };
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OnboardingError(
      `cannot read the clusters file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'usage',
    );
  }
}

async function writeIfChanged(path: string, content: string, mode: number): Promise<FileChange> {
  const current = await readOptional(path);
  if (current === content) {
    await chmod(path, mode);
    return 'unchanged';
  }
  await atomicWrite(path, content, mode);
  return 'written';
}

/** Write to a temporary file in the same directory, then rename: never a half-written token. */
async function atomicWrite(path: string, content: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
