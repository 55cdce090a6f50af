import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import {
  CREDENTIAL_KINDS,
  DEFAULT_IDENTITY_SETTINGS,
  type AzureIdentitySettings,
  type CredentialKind,
} from '../azure/credential.js';
import { AKS_SCOPE, type ClusterAuth, type ClusterEntry } from '../clusters/cluster-entry.js';
import { DEFAULT_RATE_LIMIT } from '../clusters/rate-limiter.js';
import { closestKey } from '../shared/closest-key.js';
import { isDns1123Label } from '../message/names.js';
import type { ConfigProblem } from './config-error.js';
import { isPlainObject } from './formats.js';
import { describeFsError } from './read-structured-file.js';

/**
 * Validation of cluster entries (from `clusters` or the clusters file) into ClusterEntry.
 * convict validates single values; a list of objects is checked here, entry by entry, with
 * paths like `clusters[1].token`. Token values are never read from tokenFile here (the cluster
 * client reads and re-reads it, for rotation) and never appear in a problem.
 */

/** Documentation of each entry field, for the generated reference. */
export const CLUSTER_FIELDS: readonly { name: string; doc: string; default?: string }[] = [
  {
    name: 'name',
    doc: 'Unique DNS-1123 label; used in logs, metrics and the message cluster field. Required.',
  },
  {
    name: 'server',
    doc: 'API server URL, https://... (http only together with insecureSkipTlsVerify). Required.',
  },
  {
    name: 'tokenFile',
    doc: 'Path to a file holding the bearer token, e.g. a mounted Secret; re-read on change and after a 401. Exactly one of tokenFile, token and auth.',
  },
  {
    name: 'token',
    doc: 'Bearer token inline (sensitive). Exactly one of tokenFile, token and auth.',
  },
  {
    name: 'auth',
    doc: `A token obtained at run time instead: \`{ type: azure, credential, scope }\` (a Microsoft Entra ID token, for AKS with Entra ID integration; credential one of ${CREDENTIAL_KINDS.join(', ')}; scope default \`${AKS_SCOPE}\`; renewed before it expires) or \`{ type: exec, command, args, env, apiVersion, installHint, provideClusterInfo, timeoutSeconds }\` (a kubeconfig credential plugin such as kubelogin, client.authentication.k8s.io/v1 ExecCredential; env a list of {name, value} or a map). Exactly one of tokenFile, token and auth.`,
  },
  {
    name: 'caFile',
    doc: 'Path to the PEM CA bundle of the API server. At most one of caFile and ca; neither means the system CAs.',
  },
  { name: 'ca', doc: 'PEM CA bundle inline.' },
  {
    name: 'insecureSkipTlsVerify',
    doc: 'Turn TLS verification off (podbus warns loudly). Never in production.',
    default: 'false',
  },
  { name: 'namespace', doc: 'Namespace the pods are created in.', default: 'default' },
  {
    name: 'weight',
    doc: 'Relative share for the weighted strategy; a number greater than 0.',
    default: '1',
  },
  {
    name: 'maxActivePods',
    doc: 'Most active (not finished) podbus pods on this cluster; 0 for no limit.',
    default: '0',
  },
  {
    name: 'qps',
    doc: 'Requests per second this replica sends to the API server at most (a token bucket, like client-go QPS); 0 for no limit. Per replica: divide the API server budget by the replicas (docs/clusters.md, "Rate limit").',
    default: String(DEFAULT_RATE_LIMIT.qps),
  },
  {
    name: 'burst',
    doc: 'Requests this replica may send at once before qps paces them (like client-go Burst); a whole number, 1 or more.',
    default: String(DEFAULT_RATE_LIMIT.burst),
  },
  { name: 'labels', doc: 'Free-form string labels, e.g. region: westeurope.', default: '{}' },
];

const FIELD_NAMES = CLUSTER_FIELDS.map((f) => f.name);
const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

export interface EntrySource {
  /** Directory relative tokenFile/caFile paths resolve against. */
  readonly baseDir: string;
  /** The clusters file the entries came from, if any (named in every problem). */
  readonly file?: string;
  /** The azure section: how entries with `auth: { type: azure }` reach Entra ID. */
  readonly identity?: AzureIdentitySettings;
}

export function validateClusterEntries(
  raw: readonly unknown[],
  source: EntrySource,
): { entries: ClusterEntry[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const entries: ClusterEntry[] = [];
  const firstByName = new Map<string, number>();
  raw.forEach((value, index) => {
    const at = `clusters[${index}]`;
    const report = (field: string | undefined, message: string, hint?: string): void => {
      problems.push({
        path: field ? `${at}.${field}` : at,
        message: source.file ? `${message} (in ${source.file})` : message,
        ...(hint !== undefined && { hint }),
      });
    };
    const entry = validateEntry(value, source, report);
    if (!entry) return;
    const earlier = firstByName.get(entry.name);
    if (earlier !== undefined) {
      report(
        'name',
        `"${entry.name}" is already used by clusters[${earlier}]; names must be unique`,
      );
      return;
    }
    firstByName.set(entry.name, index);
    entries.push(entry);
  });
  return { entries, problems };
}

type Report = (field: string | undefined, message: string, hint?: string) => void;

function validateEntry(
  value: unknown,
  source: EntrySource,
  report: Report,
): ClusterEntry | undefined {
  if (!isPlainObject(value)) {
    report(undefined, 'must be a mapping with name, server and tokenFile, token or auth');
    return undefined;
  }
  const before = countingReport(report);
  for (const key of Object.keys(value)) {
    if (FIELD_NAMES.includes(key)) continue;
    const suggestion = closestKey(key, FIELD_NAMES);
    before.report(
      key,
      `is not a cluster option${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`,
    );
  }
  const name = checkName(value.name, before.report);
  const insecure = checkBoolean(
    value.insecureSkipTlsVerify,
    'insecureSkipTlsVerify',
    false,
    before.report,
  );
  const server = checkServer(value.server, insecure, before.report);
  const credentials = checkCredentials(value, source, before.report);
  const ca = checkCa(value, source, before.report);
  const namespace = checkNamespace(value.namespace, before.report);
  const weight = checkWeight(value.weight, before.report);
  const maxActivePods = checkMaxActivePods(value.maxActivePods, before.report);
  const qps = checkQps(value.qps, before.report);
  const burst = checkBurst(value.burst, before.report);
  const labels = checkLabels(value.labels, before.report);
  if (before.count > 0 || name === undefined || server === undefined) return undefined;
  return {
    name,
    server,
    ...credentials,
    ...ca,
    insecureSkipTlsVerify: insecure,
    namespace,
    weight,
    maxActivePods,
    qps,
    burst,
    labels,
  };
}

function countingReport(report: Report): { report: Report; readonly count: number } {
  const counter = {
    count: 0,
    report: (field: string | undefined, message: string, hint?: string) => {
      counter.count++;
      report(field, message, hint);
    },
  };
  return counter;
}

function checkName(value: unknown, report: Report): string | undefined {
  if (value === undefined || value === '') {
    report('name', 'must be set');
    return undefined;
  }
  if (typeof value !== 'string' || !isDns1123Label(value)) {
    report(
      'name',
      `must be a DNS-1123 label: lowercase letters, digits and "-", at most 63 characters (got ${JSON.stringify(value)})`,
    );
    return undefined;
  }
  return value;
}

function checkServer(value: unknown, insecure: boolean, report: Report): string | undefined {
  const example = 'e.g. https://myaks-dns-1234.hcp.westeurope.azmk8s.io:443';
  if (value === undefined || value === '') {
    report('server', `must be set, ${example}`);
    return undefined;
  }
  // Never echo the value: a URL may carry credentials.
  let url: URL;
  try {
    if (typeof value !== 'string') throw new Error('not a string');
    url = new URL(value);
  } catch {
    report('server', `is not a URL, ${example}`);
    return undefined;
  }
  const problem =
    url.username || url.password
      ? 'must not contain a user name or password; give the token in tokenFile or token'
      : url.protocol === 'http:' && !insecure
        ? 'uses http://, which would send the token in clear text; use https:// (http is only accepted with insecureSkipTlsVerify: true)'
        : url.protocol !== 'https:' && url.protocol !== 'http:'
          ? `must be an https:// URL, ${example}`
          : url.search || url.hash
            ? 'must not have a query string or fragment'
            : undefined;
  if (problem) {
    report('server', problem);
    return undefined;
  }
  // client-node does not strip a trailing slash ("https://host/" + "/api/v1/..." breaks).
  return (value as string).replace(/\/+$/, '');
}

function checkCredentials(
  value: Record<string, unknown>,
  source: EntrySource,
  report: Report,
): { token?: string; tokenFile?: string; auth?: ClusterAuth } {
  const hasToken = value.token !== undefined && value.token !== null;
  const hasFile = value.tokenFile !== undefined && value.tokenFile !== null;
  const hasAuth = value.auth !== undefined && value.auth !== null;
  const set = [hasToken && 'token', hasFile && 'tokenFile', hasAuth && 'auth'].filter(Boolean);
  if (set.length > 1) {
    report(
      undefined,
      `${set.join(' and ')} are set; use one (tokenFile for a mounted Secret, auth for Entra ID or an exec plugin)`,
    );
    return {};
  }
  if (set.length === 0) {
    report(
      undefined,
      'has no credentials',
      'set tokenFile to the path of a mounted service-account token, token, or auth (type azure for Microsoft Entra ID, type exec for a credential plugin such as kubelogin)',
    );
    return {};
  }
  if (hasAuth) {
    const auth = checkAuth(value.auth, source, report);
    return auth === undefined ? {} : { auth };
  }
  if (hasToken) {
    if (typeof value.token !== 'string' || value.token.trim() === '') {
      report('token', 'must be a non-empty string');
      return {};
    }
    return { token: value.token.trim() };
  }
  const tokenFile = checkReadableFile(value.tokenFile, 'tokenFile', source, report);
  return tokenFile === undefined ? {} : { tokenFile };
}

function checkCa(
  value: Record<string, unknown>,
  source: EntrySource,
  report: Report,
): { ca?: string; caFile?: string } {
  const hasCa = value.ca !== undefined && value.ca !== null;
  const hasFile = value.caFile !== undefined && value.caFile !== null;
  if (hasCa && hasFile) {
    report(undefined, 'ca and caFile are both set; use one');
    return {};
  }
  if (hasCa) {
    if (typeof value.ca !== 'string' || !value.ca.includes(PEM_CERTIFICATE)) {
      report('ca', `must be a PEM certificate bundle (${PEM_CERTIFICATE} ...)`);
      return {};
    }
    return { ca: value.ca };
  }
  if (!hasFile) return {};
  const caFile = checkReadableFile(value.caFile, 'caFile', source, report);
  if (caFile === undefined) return {};
  if (!readFileSync(caFile, 'utf8').includes(PEM_CERTIFICATE)) {
    report('caFile', `"${caFile}" holds no PEM certificate (${PEM_CERTIFICATE} ...)`);
    return {};
  }
  return { caFile };
}

/** An absolute path to a non-empty readable file, or a problem naming the path. */
function checkReadableFile(
  value: unknown,
  field: string,
  source: EntrySource,
  report: Report,
): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    report(field, 'must be a file path');
    return undefined;
  }
  const file = isAbsolute(value) ? value : resolve(source.baseDir, value);
  try {
    accessSync(file, constants.R_OK);
    const stat = statSync(file);
    if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (stat.size === 0) {
      report(field, `"${file}" is empty`);
      return undefined;
    }
  } catch (error) {
    report(field, `cannot read "${file}": ${describeFsError(error)}`);
    return undefined;
  }
  return file;
}

function checkBoolean(value: unknown, field: string, fallback: boolean, report: Report): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    report(field, `must be true or false (got ${JSON.stringify(value)})`);
    return fallback;
  }
  return value;
}

function checkNamespace(value: unknown, report: Report): string {
  if (value === undefined || value === null) return 'default';
  if (typeof value !== 'string' || !isDns1123Label(value)) {
    report(
      'namespace',
      `must be a namespace name (a DNS-1123 label) (got ${JSON.stringify(value)})`,
    );
  }
  return String(value);
}

function checkWeight(value: unknown, report: Report): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    report('weight', `must be a number greater than 0 (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

function checkMaxActivePods(value: unknown, report: Report): number {
  if (value === undefined || value === null) return 0;
  if (!Number.isInteger(value) || (value as number) < 0) {
    report(
      'maxActivePods',
      `must be a whole number, 0 or more (0: no limit) (got ${JSON.stringify(value)})`,
    );
  }
  return Number(value);
}

function checkQps(value: unknown, report: Report): number {
  if (value === undefined || value === null) return DEFAULT_RATE_LIMIT.qps;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    report(
      'qps',
      `must be a number, 0 or more (requests per second; 0: no limit) (got ${JSON.stringify(value)})`,
    );
  }
  return Number(value);
}

function checkBurst(value: unknown, report: Report): number {
  if (value === undefined || value === null) return DEFAULT_RATE_LIMIT.burst;
  if (!Number.isInteger(value) || (value as number) < 1) {
    report('burst', `must be a whole number, 1 or more (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

function checkLabels(value: unknown, report: Report): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    report('labels', 'must be a map of names to string values');
    return {};
  }
  return { ...value } as Record<string, string>;
}

const AZURE_AUTH_FIELDS = ['type', 'credential', 'scope'];
const EXEC_AUTH_FIELDS = [
  'type',
  'command',
  'args',
  'env',
  'apiVersion',
  'installHint',
  'provideClusterInfo',
  'interactiveMode',
  'timeoutSeconds',
];
const EXEC_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
];

/** `auth`: a Microsoft Entra ID credential, or a kubeconfig-style exec plugin. */
function checkAuth(value: unknown, source: EntrySource, report: Report): ClusterAuth | undefined {
  if (!isPlainObject(value)) {
    report('auth', 'must be a mapping with type: azure or type: exec');
    return undefined;
  }
  const counter = countingReport(report);
  const fields = value.type === 'azure' ? AZURE_AUTH_FIELDS : EXEC_AUTH_FIELDS;
  if (value.type !== 'azure' && value.type !== 'exec') {
    report('auth.type', `must be azure or exec (got ${JSON.stringify(value.type ?? null)})`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (fields.includes(key)) continue;
    const suggestion = closestKey(key, fields);
    counter.report(
      `auth.${key}`,
      `is not an option of auth type ${value.type}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`,
    );
  }
  const auth =
    value.type === 'azure'
      ? checkAzureAuth(value, source, counter.report)
      : checkExecAuth(value, counter.report);
  return counter.count > 0 ? undefined : auth;
}

function checkAzureAuth(
  value: Record<string, unknown>,
  source: EntrySource,
  report: Report,
): ClusterAuth | undefined {
  const credential = value.credential;
  if (
    typeof credential !== 'string' ||
    !(CREDENTIAL_KINDS as readonly string[]).includes(credential)
  ) {
    report(
      'auth.credential',
      `must be one of ${CREDENTIAL_KINDS.join(', ')} (got ${JSON.stringify(credential ?? null)})`,
      'workload-identity in AKS with Azure Workload Identity; managed-identity for a VM or node identity',
    );
    return undefined;
  }
  const scope = value.scope ?? AKS_SCOPE;
  if (typeof scope !== 'string' || !scope.endsWith('/.default')) {
    report(
      'auth.scope',
      `must be a resource's .default scope, e.g. ${AKS_SCOPE} (the AKS AAD server application; got ${JSON.stringify(scope)})`,
    );
    return undefined;
  }
  return {
    type: 'azure',
    credential: credential as CredentialKind,
    scope,
    identity: source.identity ?? DEFAULT_IDENTITY_SETTINGS,
  };
}

function checkExecAuth(value: Record<string, unknown>, report: Report): ClusterAuth | undefined {
  const { command, args, apiVersion, installHint, provideClusterInfo, interactiveMode } = value;
  if (typeof command !== 'string' || command.trim() === '') {
    report('auth.command', 'must be the plugin to run, e.g. kubelogin');
    return undefined;
  }
  if (args !== undefined && !(Array.isArray(args) && args.every((a) => typeof a === 'string'))) {
    report('auth.args', 'must be a list of strings');
  }
  const env = execEnv(value.env, report);
  const version = apiVersion ?? EXEC_API_VERSIONS[0];
  if (typeof version !== 'string' || !EXEC_API_VERSIONS.includes(version)) {
    report(
      'auth.apiVersion',
      `must be ${EXEC_API_VERSIONS.join(' or ')} (got ${JSON.stringify(version)})`,
    );
  }
  if (installHint !== undefined && typeof installHint !== 'string') {
    report('auth.installHint', 'must be a string');
  }
  if (provideClusterInfo !== undefined && typeof provideClusterInfo !== 'boolean') {
    report('auth.provideClusterInfo', 'must be true or false');
  }
  if (
    interactiveMode !== undefined &&
    interactiveMode !== 'Never' &&
    interactiveMode !== 'IfAvailable'
  ) {
    report(
      'auth.interactiveMode',
      'must be Never or IfAvailable: podbus runs without a terminal, so a plugin that always asks (Always) cannot work',
    );
  }
  const timeout = value.timeoutSeconds ?? 30;
  if (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > 600) {
    report(
      'auth.timeoutSeconds',
      `must be a whole number from 1 to 600 (got ${JSON.stringify(timeout)})`,
    );
  }
  return {
    type: 'exec',
    command,
    args: Array.isArray(args) ? (args as string[]) : [],
    env,
    apiVersion: String(version),
    ...(typeof installHint === 'string' && { installHint }),
    provideClusterInfo: provideClusterInfo === true,
    timeoutSeconds: Number(timeout),
  };
}

/** kubeconfig's `env: [{name, value}]`, or a map. */
function execEnv(value: unknown, report: Report): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (Array.isArray(value)) {
    const ok = value.every(
      (e) => isPlainObject(e) && typeof e.name === 'string' && typeof e.value === 'string',
    );
    if (ok)
      return Object.fromEntries(
        value.map((e: { name: string; value: string }) => [e.name, e.value]),
      );
  } else if (isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string')) {
    return { ...(value as Record<string, string>) };
  }
  report(
    'auth.env',
    'must be a list of {name, value} (as in a kubeconfig) or a map of names to strings',
  );
  return {};
}
