import type { ClusterEntry } from '../clusters/cluster-entry.js';
import { ClusterPool, type ClusterCheck, type ClusterStatus } from '../clusters/cluster-pool.js';
import type { ClusterError } from '../clusters/errors.js';
import { PODBUS_PERMISSIONS, permissionLabel, purposeOf } from '../clusters/permissions.js';
import {
  DEFAULT_NAMESPACE,
  DEFAULT_SERVICE_ACCOUNT,
  OnboardingError,
  ROLE_RULES,
  defaultKubeconfigPath,
  describeRules,
  onboardCluster,
  parseTokenTtl,
  planOnboarding,
  type OnboardOptions,
  type OnboardReport,
} from '../clusters/onboarding/index.js';
import { CLUSTERS_FILE_ENV } from '../config/clusters-part.js';
import { loadClusterSettings, resolveClustersSource } from '../config/load-config.js';
import type { ConfigSources } from '../config/sources.js';
import { isDns1123Label } from '../message/names.js';
import { scrubText } from '../shared/redaction.js';
import { commandSources, configOrUsageError } from './config-sources.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, err, out } from './io.js';
import { renderTable } from './output/table.js';

export interface ClustersFileFlags {
  config?: string;
  clustersFile?: string;
}

export interface AddFlags extends ClustersFileFlags {
  context?: string;
  kubeconfig?: string;
  namespace?: string;
  createNamespace?: boolean;
  serviceAccount?: string;
  tokenTtl?: string;
  server?: string;
  weight?: string;
  maxActivePods?: string;
  dryRun?: boolean;
}

export interface VerifyFlags extends ClustersFileFlags {
  json?: boolean;
  timeout?: string;
}

// ---------------------------------------------------------------------------------------------
// add

function positiveInt(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < min) {
    throw new CliUsageError(`${flag} must be a whole number of at least ${min}, got "${value}"`);
  }
  return Number(value);
}

export function dnsLabel(what: string, value: string): string {
  if (!isDns1123Label(value)) {
    throw new CliUsageError(
      `${what} must be a DNS-1123 label (lowercase letters, digits and '-', at most 63), got "${value}"`,
    );
  }
  return value;
}

/** --config / PODBUS_CONFIG, the environment and --clusters-file. */
export function clustersSources(flags: ClustersFileFlags): ConfigSources {
  if (flags.clustersFile?.trim() === '')
    throw new CliUsageError('--clusters-file needs a file path');
  return commandSources(flags.config, cliIo().env, [
    { path: 'clustersFile', flag: '--clusters-file', value: flags.clustersFile },
  ]);
}

/** The clusters file `clusters add` writes: the one the configuration names (flag, env, file). */
function clustersFileForAdd(flags: ClustersFileFlags): string {
  const sources = clustersSources(flags);
  const source = configOrUsageError(() => resolveClustersSource(sources));
  if (source.kind === 'file') return source.file;
  if (source.kind === 'inline') {
    throw new CliUsageError(
      'the configuration lists its clusters inline; podbus clusters add writes a clusters file: pass --clusters-file PATH',
    );
  }
  throw new CliUsageError(
    `say which clusters file to write: --clusters-file PATH (or --config with clustersFile, or ${CLUSTERS_FILE_ENV})`,
  );
}

export async function runClustersAdd(name: string, flags: AddFlags): Promise<number> {
  dnsLabel('the cluster name', name);
  if (flags.context === undefined || flags.context.trim() === '') {
    throw new CliUsageError('--context needs the admin kubeconfig context of the cluster');
  }
  let tokenTtlSeconds: number | undefined;
  try {
    tokenTtlSeconds = flags.tokenTtl === undefined ? undefined : parseTokenTtl(flags.tokenTtl);
  } catch (error) {
    if (error instanceof OnboardingError) throw new CliUsageError(error.message);
    throw error;
  }
  if (flags.server !== undefined && !/^https?:\/\/[^\s/]+/.test(flags.server)) {
    throw new CliUsageError(`--server must be an https:// URL, got "${flags.server}"`);
  }
  const weight = positiveInt('--weight', flags.weight, 1);
  const maxActivePods = positiveInt('--max-active-pods', flags.maxActivePods, 0);
  const options: OnboardOptions = {
    name,
    kubeconfig: flags.kubeconfig ?? defaultKubeconfigPath(cliIo().env),
    context: flags.context,
    namespace: dnsLabel('--namespace', flags.namespace ?? DEFAULT_NAMESPACE),
    serviceAccount: dnsLabel('--service-account', flags.serviceAccount ?? DEFAULT_SERVICE_ACCOUNT),
    createNamespace: flags.createNamespace === true,
    clustersFile: clustersFileForAdd(flags),
    ...(tokenTtlSeconds !== undefined && { tokenTtlSeconds }),
    ...(flags.server !== undefined && { server: flags.server }),
    ...(weight !== undefined && { weight }),
    ...(maxActivePods !== undefined && { maxActivePods }),
  };
  try {
    if (flags.dryRun) {
      const plan = await planOnboarding(options);
      for (const w of plan.warnings) err(`warning: ${w}`);
      out(`# podbus clusters add ${name} --dry-run: nothing is created or written.`);
      out(
        `# Objects to apply with context ${options.context} (${plan.server}), namespace ${options.namespace}:`,
      );
      cliIo().stdout.write(plan.objectsYaml);
      out('---');
      out(
        `# Entry to ${plan.entryChange === 'added' ? 'add to' : plan.entryChange === 'updated' ? 'update in' : 'keep in'} ${plan.clustersFile}:`,
      );
      cliIo().stdout.write(plan.entryYaml.replace(/^/gm, '# ').replace(/# $/, ''));
      out(`# Token file: ${plan.tokenFile} (mode 0600)`);
      if (plan.caFile) out(`# CA file:    ${plan.caFile}`);
      return EXIT.ok;
    }
    const report = await onboardCluster(options);
    printAddReport(report, options);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof OnboardingError) {
      if (error.kind === 'usage') throw new CliUsageError(scrubText(error.message));
      err(`podbus: ${scrubText(error.message)}`);
      return EXIT.failure;
    }
    throw error;
  }
}

function printAddReport(report: OnboardReport, options: OnboardOptions): void {
  out(
    `cluster ${report.name}: context ${report.context}, ${report.server}, namespace ${report.namespace}`,
  );
  const rows: string[][] = report.objects.map((o) => [
    `${o.kind} ${o.name}`,
    o.outcome,
    o.note ?? '',
  ]);
  const tokenNote =
    report.tokenExpiresAt !== undefined
      ? `TokenRequest, expires ${report.tokenExpiresAt}`
      : `from Secret ${options.serviceAccount}-token${report.tokenWaitedMs !== undefined && report.tokenFile.change === 'written' ? ` (ready after ${(report.tokenWaitedMs / 1000).toFixed(1)} s)` : ''}`;
  rows.push([
    `token file ${report.tokenFile.path}`,
    report.tokenFile.change,
    `mode 0600, ${tokenNote}`,
  ]);
  if (report.caFile)
    rows.push([
      `CA file ${report.caFile.path}`,
      report.caFile.change,
      `from ${report.caFile.source}`,
    ]);
  else rows.push(['CA file', 'none', "the system's CAs verify the server"]);
  rows.push([
    `clusters file ${report.entry.file}`,
    report.entry.change === 'unchanged' ? 'unchanged' : `entry ${report.entry.change}`,
    `entry ${report.name}`,
  ]);
  const table = renderTable([{ header: 'OBJECT' }, { header: 'RESULT' }, { header: 'NOTE' }], rows);
  cliIo().stdout.write(
    table
      .split('\n')
      .map((l) => (l ? `  ${l}` : l))
      .join('\n'),
  );
  for (const w of report.warnings) err(`warning: ${w}`);
  if (report.unchanged) {
    out(`nothing changed: cluster ${report.name} was already onboarded`);
  }
  out(`next: podbus clusters verify --clusters-file ${report.entry.file}`);
}

// ---------------------------------------------------------------------------------------------
// verify

export interface VerifyResult {
  readonly name: string;
  readonly server: string;
  readonly namespace: string;
  readonly ok: boolean;
  readonly version?: string;
  readonly tls: 'verified' | 'not-verified' | 'failed' | 'unknown';
  readonly token: 'valid' | 'invalid' | 'unknown';
  /** Permissions podbus uses in the namespace (`create pods`, `update leases`, ...) it has. */
  readonly allowedPermissions?: readonly string[];
  /** Permissions podbus needs and RBAC denies: the cluster fails. */
  readonly deniedPermissions?: readonly string[];
  /** Permissions of opt-in features RBAC denies: a warning. */
  readonly deniedOptional?: readonly string[];
  readonly activePods?: number;
  readonly maxActivePods: number;
  /** What is wrong and what to do; set when not ok. */
  readonly problem?: string;
  readonly warning?: string;
}

export async function runClustersVerify(flags: VerifyFlags): Promise<number> {
  const timeoutSeconds = positiveInt('--timeout', flags.timeout, 1) ?? 5;
  const sources = clustersSources(flags);
  const { entries } = configOrUsageError(() => loadClusterSettings(sources));
  const results = await verifyClusters(entries, { timeoutMs: timeoutSeconds * 1000 });
  if (flags.json) out(JSON.stringify(results, null, 2));
  else cliIo().stdout.write(verifyTable(results));
  for (const r of results) {
    if (r.warning) err(`warning: ${r.name}: ${r.warning}`);
    if (r.problem) err(`${r.name}: ${r.problem}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  err(
    failed === 0
      ? `all ${results.length} cluster(s) passed`
      : `${failed} of ${results.length} cluster(s) failed`,
  );
  return failed === 0 ? EXIT.ok : EXIT.failure;
}

export async function verifyClusters(
  entries: readonly ClusterEntry[],
  options: { timeoutMs: number },
): Promise<VerifyResult[]> {
  const pool = new ClusterPool({
    entries,
    strategy: 'round-robin',
    client: {
      requestTimeoutMs: options.timeoutMs,
      retry: { maxAttempts: 2, backoff: { baseMs: 100, maxMs: 500, jitter: 'full' } },
    },
    tracker: { backoff: { baseMs: 500, maxMs: 2000, jitter: 'full' } },
  });
  try {
    pool.start();
    const checks = await pool.check();
    const deadline = Date.now() + options.timeoutMs;
    const okNames = new Set(checks.filter((c) => c.ok).map((c) => c.name));
    const synced = (): boolean => pool.status().every((s) => !okNames.has(s.name) || s.synced);
    while (!synced() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const statuses = new Map(pool.status().map((s) => [s.name, s]));
    return entries.map((entry) => {
      const check = checks.find((c) => c.name === entry.name) as ClusterCheck;
      return verifyResult(entry, check, statuses.get(entry.name));
    });
  } finally {
    await pool.close();
  }
}

export function verifyResult(
  entry: ClusterEntry,
  check: ClusterCheck,
  status: ClusterStatus | undefined,
): VerifyResult {
  const plainHttp = entry.server.startsWith('http://');
  const insecure = entry.insecureSkipTlsVerify || plainHttp;
  const reached = check.version !== undefined;
  const base = {
    name: entry.name,
    server: entry.server,
    namespace: entry.namespace,
    maxActivePods: entry.maxActivePods,
    ...(check.version !== undefined && { version: check.version }),
    ...(insecure && {
      warning: plainHttp
        ? 'TLS is NOT verified (plain HTTP): use the https:// URL and set caFile'
        : 'TLS is NOT verified (insecureSkipTlsVerify): remove it and set caFile to the cluster CA',
    }),
  };
  const tlsWhenReached = insecure ? 'not-verified' : 'verified';
  if (check.error) {
    const e = check.error;
    return {
      ...base,
      ok: false,
      tls:
        e.kind === 'tls'
          ? 'failed'
          : reached || e.kind === 'unauthorized' || e.kind === 'forbidden'
            ? tlsWhenReached
            : 'unknown',
      token: e.kind === 'unauthorized' ? 'invalid' : 'unknown',
      problem: problemFor(entry, e),
    };
  }
  const denied = check.denied ?? [];
  const deniedOptional = check.deniedOptional ?? [];
  const allowed = PODBUS_PERMISSIONS.map(permissionLabel).filter(
    (label) => !denied.includes(label) && !deniedOptional.includes(label),
  );
  const activePods = status?.synced ? status.activePods : undefined;
  const applyRole = `apply the least-privilege Role (${describeRules(ROLE_RULES)}) with podbus clusters add ${entry.name} --context <admin-context> --namespace ${entry.namespace}, or kubectl apply -k deploy/target-cluster`;
  const optionalWarning =
    deniedOptional.length === 0
      ? undefined
      : `the ${entry.auth === undefined ? 'token' : 'identity'} may not ${deniedOptional.join(', ')} in namespace ${entry.namespace} (${purposesOf(deniedOptional)}): to use that, ${entry.auth === undefined ? applyRole : grantIdentity(entry)}`;
  const warning = [base.warning, optionalWarning].filter((w) => w !== undefined).join('; ');
  return {
    ...base,
    ...(warning !== '' && { warning }),
    ok: check.ok,
    tls: tlsWhenReached,
    token: 'valid',
    allowedPermissions: allowed,
    deniedPermissions: denied,
    deniedOptional,
    ...(activePods !== undefined && { activePods }),
    ...(!check.ok && {
      problem:
        entry.auth === undefined
          ? `the token may not ${denied.join(', ')} in namespace ${entry.namespace} (${purposesOf(denied)}): ${applyRole}`
          : `the identity may not ${denied.join(', ')} in namespace ${entry.namespace} (${purposesOf(denied)}): ${grantIdentity(entry)}`,
    }),
  };
}

/** What the denied permissions are for, once each: `creating challenge pods, ...`. */
function purposesOf(labels: readonly string[]): string {
  const purposes = labels.map((label) => purposeOf(label)?.for ?? label);
  return [...new Set(purposes)].join('; ');
}

/** What went wrong with a cluster and what to do, in one line (verify's and status's words). */
export function problemFor(entry: ClusterEntry, e: ClusterError): string {
  const readd = `podbus clusters add ${entry.name} --context <admin-context> --namespace ${entry.namespace}`;
  const detail = scrubText(e.detail);
  switch (e.kind) {
    case 'unauthorized':
      if (entry.auth?.type === 'azure') {
        return `the API server refused the Entra ID token (401): the cluster must accept Entra ID tokens of this tenant (AKS with Microsoft Entra ID integration) for the audience of auth.scope (${entry.auth.scope})`;
      }
      if (entry.auth?.type === 'exec') {
        return `the API server refused the token of exec plugin ${entry.auth.command} (401): check the plugin's arguments (for kubelogin: --server-id, --tenant-id, --login)`;
      }
      return `token invalid or expired (401): re-run ${readd}${entry.tokenFile ? ` (or put a valid token in ${entry.tokenFile})` : ''}`;
    case 'tls':
      return `TLS failed: the CA does not match the server certificate (${detail}): check caFile${entry.caFile ? ` ${entry.caFile}` : ' (none is set: the system CAs were used)'}, or re-run ${readd} to rewrite it`;
    case 'connection':
      return `unreachable (${detail}): check server ${entry.server}, DNS and the network path (firewall, AKS authorized IP ranges)`;
    case 'timeout':
      return `no answer in time (${detail}): check server ${entry.server} and the network path (a firewall that drops packets, AKS authorized IP ranges)`;
    case 'config':
      return entry.auth === undefined || /caFile/.test(detail)
        ? `${detail}: fix the entry's tokenFile/caFile`
        : detail;
    case 'forbidden':
      return entry.auth === undefined
        ? `forbidden (403: ${detail}): the token's account lacks permissions; re-run ${readd}`
        : `forbidden (403: ${detail}): ${grantIdentity(entry)}`;
    case 'throttled':
    case 'server-error':
      return `the API server is failing or overloaded (${detail}): try again later`;
    default:
      return `${detail}`;
  }
}

/** What gives an Entra ID (or exec plugin) identity the rights podbus needs. */
function grantIdentity(entry: ClusterEntry): string {
  return `bind the Role (${describeRules(ROLE_RULES)}) to the identity (kubectl -n ${entry.namespace} create rolebinding podbus-entra --role podbus --user <object id>, with Kubernetes RBAC), or assign it the Azure Kubernetes Service RBAC Writer role on the namespace (with Azure RBAC for Kubernetes)`;
}

function accessCell(r: VerifyResult): string {
  if (r.deniedPermissions === undefined) return '-';
  if (r.deniedPermissions.length > 0) return `missing ${r.deniedPermissions.join(', ')}`;
  const optional = r.deniedOptional ?? [];
  return optional.length === 0 ? 'ok' : `ok (no ${optional.join(', ')})`;
}

export function verifyTable(results: readonly VerifyResult[]): string {
  const stdout = cliIo().stdout;
  return renderTable(
    [
      { header: 'CLUSTER' },
      { header: 'RESULT' },
      { header: 'VERSION' },
      { header: 'TLS' },
      { header: 'TOKEN' },
      { header: 'ACCESS', shrink: true, minWidth: 12 },
      { header: 'ACTIVE/MAX', align: 'right' },
      { header: 'SERVER', shrink: true, minWidth: 12 },
    ],
    results.map((r) => [
      r.name,
      r.ok ? 'ok' : 'FAILED',
      r.version ?? '-',
      r.tls === 'not-verified'
        ? `NOT verified (${r.server.startsWith('http://') ? 'plain HTTP' : 'insecureSkipTlsVerify'})`
        : r.tls === 'unknown'
          ? '-'
          : r.tls,
      r.token === 'unknown' ? '-' : r.token,
      accessCell(r),
      `${r.activePods === undefined ? '?' : r.activePods}/${r.maxActivePods === 0 ? 'no limit' : r.maxActivePods}`,
      r.server,
    ]),
    stdout.isTTY ? { maxWidth: stdout.columns ?? 120 } : {},
  );
}
