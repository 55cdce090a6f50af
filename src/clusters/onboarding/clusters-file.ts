import { Document, isMap, isSeq, parseDocument, YAMLSeq, type YAMLMap } from 'yaml';

import { OnboardingError } from './errors.js';

/**
 * Adds or updates one entry of a clusters file (YAML), keeping everything else as it was: the
 * other entries, comments, key order. The file may be a list of entries or a mapping with a
 * `clusters` list (both are what the config loader accepts).
 *
 * On update the connection fields are set (server, tokenFile, caFile, namespace) and the
 * fields they replace are removed (an inline `token` or `ca`, `insecureSkipTlsVerify`); the
 * operator's own tuning (weight, maxActivePods, labels) is kept unless given explicitly.
 */
export interface ClusterFileEntry {
  readonly name: string;
  readonly server: string;
  readonly tokenFile: string;
  /** Omitted: the system's CAs. */
  readonly caFile?: string;
  readonly namespace: string;
  readonly weight?: number;
  readonly maxActivePods?: number;
}

export type EntryChange = 'added' | 'updated' | 'unchanged';

const REPLACED_FIELDS = ['token', 'ca', 'insecureSkipTlsVerify'];
const NEW_FILE_HEADER =
  ' Target clusters of podbus (see docs/clusters.md). Entries written by `podbus clusters add`;\n' +
  ' token and CA files are next to this file, under tokens/.';

export function upsertClusterEntry(
  text: string | undefined,
  entry: ClusterFileEntry,
  file = 'the clusters file',
): { text: string; change: EntryChange } {
  const doc = text === undefined || text.trim() === '' ? newDocument() : parse(text, file);
  const list = entriesOf(doc, file);
  const existing = list.items.find((item) => isMap(item) && item.get('name') === entry.name) as
    YAMLMap | undefined;
  const before = doc.toString();
  if (existing) {
    existing.set('server', entry.server);
    existing.set('tokenFile', entry.tokenFile);
    if (entry.caFile !== undefined) existing.set('caFile', entry.caFile);
    else existing.delete('caFile');
    existing.set('namespace', entry.namespace);
    for (const field of REPLACED_FIELDS) existing.delete(field);
    if (entry.weight !== undefined) existing.set('weight', entry.weight);
    if (entry.maxActivePods !== undefined) existing.set('maxActivePods', entry.maxActivePods);
    const after = doc.toString();
    return { text: after, change: after === before ? 'unchanged' : 'updated' };
  }
  const node = doc.createNode({
    name: entry.name,
    server: entry.server,
    tokenFile: entry.tokenFile,
    ...(entry.caFile !== undefined && { caFile: entry.caFile }),
    namespace: entry.namespace,
    weight: entry.weight ?? 1,
    maxActivePods: entry.maxActivePods ?? 0,
  });
  list.items.push(node);
  return { text: doc.toString(), change: 'added' };
}

function newDocument(): Document {
  const doc = new Document([]);
  doc.commentBefore = NEW_FILE_HEADER;
  return doc;
}

function parse(text: string, file: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const first = (doc.errors[0]?.message ?? '').split('\n')[0];
    throw new OnboardingError(
      `${file} is not valid YAML (${first}): fix it or pass another --clusters-file`,
      'usage',
    );
  }
  return doc;
}

function entriesOf(doc: Document, file: string): YAMLSeq {
  const contents = doc.contents;
  if (isSeq(contents)) return contents;
  if (isMap(contents)) {
    const clusters = contents.get('clusters', true);
    if (isSeq(clusters)) return clusters;
    if (
      contents.has('clusters') &&
      (clusters === null || (clusters as { value?: unknown }).value === null)
    ) {
      const seq = new YAMLSeq();
      contents.set('clusters', seq);
      return seq;
    }
  }
  if (contents === null || contents === undefined) {
    const seq = new YAMLSeq();
    doc.contents = seq;
    return seq;
  }
  throw new OnboardingError(
    `${file} must hold a list of cluster entries (or a mapping with a clusters list)`,
    'usage',
  );
}
