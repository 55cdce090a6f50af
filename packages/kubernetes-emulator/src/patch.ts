/**
 * PATCH bodies: RFC 6902 JSON patch, RFC 7386 merge patch, and strategic merge patch for the
 * built-in types served here. Strategic merge is implemented from the patch strategies of the
 * fields these types have (lists merged by key such as containers by name, finalizers as a set,
 * everything else replaced) plus the `$patch`, `$retainKeys`, `$setElementOrder` and
 * `$deleteFromPrimitiveList` directives kubectl emits; it needs no OpenAPI schema.
 */
import { badRequest, ApiError } from './status.js';
import type { JsonObject } from './store.js';
import { isObject } from './json.js';

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/'))
    throw badRequest(`the server rejected our request due to an error in our request`);
  return path.slice(1).split('/').map(unescapePointer);
}

function getAt(doc: unknown, parts: string[]): unknown {
  let cur = doc;
  for (const p of parts) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

function jsonPatchError(msg: string): ApiError {
  return new ApiError(422, 'Invalid', msg);
}

/** RFC 6902, applied to a copy. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let root = structuredClone(doc);
  for (const raw of ops) {
    if (!isObject(raw)) throw badRequest('invalid JSON patch operation');
    const op = raw.op;
    const path = parsePointer(String(raw.path ?? ''));
    const set = (parts: string[], value: unknown, insert: boolean): void => {
      if (parts.length === 0) {
        root = value;
        return;
      }
      const parent = getAt(root, parts.slice(0, -1));
      const last = parts[parts.length - 1] as string;
      if (Array.isArray(parent)) {
        const idx = last === '-' ? parent.length : Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx > parent.length)
          throw jsonPatchError(
            `add operation does not apply: doc is missing path: "/${parts.join('/')}": missing value`,
          );
        if (insert) parent.splice(idx, 0, value);
        else parent[idx] = value;
      } else if (isObject(parent)) {
        if (!insert && !(last in parent))
          throw jsonPatchError(
            `replace operation does not apply: doc is missing key: /${parts.join('/')}: missing value`,
          );
        parent[last] = value;
      } else throw jsonPatchError(`doc is missing path: "/${parts.join('/')}": missing value`);
    };
    const remove = (parts: string[]): unknown => {
      const parent = getAt(root, parts.slice(0, -1));
      const last = parts[parts.length - 1] as string;
      if (Array.isArray(parent)) {
        const idx = Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length)
          throw jsonPatchError(
            `remove operation does not apply: doc is missing path: "/${parts.join('/')}": missing value`,
          );
        return parent.splice(idx, 1)[0];
      }
      if (isObject(parent) && last in parent) {
        const v = parent[last];
        delete parent[last];
        return v;
      }
      throw jsonPatchError(
        `remove operation does not apply: doc is missing path: "/${parts.join('/')}": missing value`,
      );
    };
    switch (op) {
      case 'add':
        set(path, structuredClone(raw.value), true);
        break;
      case 'replace':
        set(path, structuredClone(raw.value), false);
        break;
      case 'remove':
        remove(path);
        break;
      case 'move': {
        const v = remove(parsePointer(String(raw.from ?? '')));
        set(path, v, true);
        break;
      }
      case 'copy':
        set(path, structuredClone(getAt(root, parsePointer(String(raw.from ?? '')))), true);
        break;
      case 'test':
        if (JSON.stringify(getAt(root, path)) !== JSON.stringify(raw.value))
          throw jsonPatchError(`testing value /${path.join('/')} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${String(op)}`);
    }
  }
  return root;
}

/** Patch strategies of the list fields of the served types (patchMergeKey / patchStrategy). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  secrets: 'name',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  conditions: 'type',
  containerStatuses: 'name',
  addresses: 'type',
  podIPs: 'ip',
};
/** Primitive lists merged as sets. */
const SET_LISTS = new Set(['finalizers']);

function strategicList(field: string, target: unknown[], patch: unknown[]): unknown[] {
  const key = MERGE_KEYS[field];
  if (SET_LISTS.has(field)) {
    const out = [...target];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  if (!key) {
    // `$patch: replace` marker elements are stripped; the list is replaced.
    return patch.filter(
      (e) => !(isObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1),
    );
  }
  if (patch.some((e) => isObject(e) && e.$patch === 'replace'))
    return patch.filter((e) => !(isObject(e) && e.$patch === 'replace'));
  const out = target.map((e) => (isObject(e) ? { ...e } : e));
  for (const el of patch) {
    if (!isObject(el)) continue;
    const idx = out.findIndex((t) => isObject(t) && t[key] === el[key]);
    if (el.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], el);
    else out.push(strategicMerge(undefined, el));
  }
  return out;
}

/** Strategic merge patch (see file comment for what is covered). */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return strategicMerge(undefined, rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v))
        out[field] = (out[field] as unknown[]).filter((x) => !(v as unknown[]).includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = Array.isArray(out[k])
        ? strategicList(k, out[k] as unknown[], v)
        : strategicList(k, [], v);
      continue;
    }
    const merged = strategicMerge(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}
