import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import type { ClusterEntry } from '../clusters/cluster-entry.js';
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
    doc: 'Path to a file holding the bearer token, e.g. a mounted Secret; re-read on change and after a 401. Exactly one of tokenFile and token.',
  },
  { name: 'token', doc: 'Bearer token inline (sensitive). Exactly one of tokenFile and token.' },
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
  { name: 'labels', doc: 'Free-form string labels, e.g. region: westeurope.', default: '{}' },
];

const FIELD_NAMES = CLUSTER_FIELDS.map((f) => f.name);
const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

export interface EntrySource {
  /** Directory relative tokenFile/caFile paths resolve against. */
  readonly baseDir: string;
  /** The clusters file the entries came from, if any (named in every problem). */
  readonly file?: string;
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
    report(undefined, 'must be a mapping with name, server and tokenFile or token');
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
): { token?: string; tokenFile?: string } {
  const hasToken = value.token !== undefined && value.token !== null;
  const hasFile = value.tokenFile !== undefined && value.tokenFile !== null;
  if (hasToken && hasFile) {
    report(undefined, 'token and tokenFile are both set; use one (tokenFile for a mounted Secret)');
    return {};
  }
  if (!hasToken && !hasFile) {
    report(
      undefined,
      'has no credentials',
      'set tokenFile to the path of a mounted service-account token, or token',
    );
    return {};
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

function checkLabels(value: unknown, report: Report): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    report('labels', 'must be a map of names to string values');
    return {};
  }
  return { ...value } as Record<string, string>;
}
