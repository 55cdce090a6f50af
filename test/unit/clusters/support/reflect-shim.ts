/**
 * @peculiar/x509 2.x pulls in tsyringe, which refuses to load without a Reflect metadata
 * polyfill (`reflect-metadata` is not a dependency of this project). x509 needs only the
 * metadata calls to exist, so a minimal WeakMap-backed implementation is enough. Import this
 * module before `@peculiar/x509`.
 */
type MetadataMap = Map<unknown, unknown>;
const store = new WeakMap<object, Map<PropertyKey | undefined, MetadataMap>>();

function table(target: object, key: PropertyKey | undefined, create: boolean) {
  let byKey = store.get(target);
  if (!byKey && create) store.set(target, (byKey = new Map()));
  let map = byKey?.get(key);
  if (!map && create && byKey) byKey.set(key, (map = new Map()));
  return map;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  const getOwn = (k: unknown, t: object, p?: PropertyKey) => table(t, p, false)?.get(k);
  const get = (k: unknown, t: object, p?: PropertyKey): unknown => {
    for (let o: object | null = t; o; o = Object.getPrototypeOf(o) as object | null) {
      const v = getOwn(k, o, p);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  R.getOwnMetadata = getOwn;
  R.getMetadata = get;
  R.hasMetadata = (k: unknown, t: object, p?: PropertyKey) => get(k, t, p) !== undefined;
  R.defineMetadata = (k: unknown, v: unknown, t: object, p?: PropertyKey) => {
    table(t, p, true)!.set(k, v);
  };
  R.metadata = (k: unknown, v: unknown) => (t: object, p?: PropertyKey) => {
    table(t, p, true)!.set(k, v);
  };
}

export {};
