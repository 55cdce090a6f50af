/**
 * Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
 */
import { DEFAULT_TABLE, type ResourceType } from './resource-type.js';
import type { JsonObject, StoredObject } from './store.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** True when the Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const p = part.toLowerCase();
    if (p.includes('as=table') && p.includes('g=meta.k8s.io')) return true;
  }
  return false;
}

function rowOf(
  type: ResourceType,
  obj: JsonObject,
  include: IncludeObject,
  now: number,
): JsonObject {
  const table = type.table ?? DEFAULT_TABLE;
  const row: JsonObject = { cells: table.cells(obj, now) };
  if (include === 'Metadata')
    row.object = {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: obj.metadata,
    };
  else if (include === 'Object')
    row.object = {
      kind: type.kind,
      apiVersion: type.group === '' ? type.version : `${type.group}/${type.version}`,
      ...obj,
    };
  return row;
}

export function renderTable(
  type: ResourceType,
  objects: Iterable<StoredObject>,
  meta: JsonObject,
  include: IncludeObject,
  withColumns = true,
): string {
  const table = type.table ?? DEFAULT_TABLE;
  const now = Date.now();
  const rows: JsonObject[] = [];
  for (const o of objects) rows.push(rowOf(type, o.parse(), include, now));
  return JSON.stringify({
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: withColumns ? table.columns : null,
    rows,
  });
}
