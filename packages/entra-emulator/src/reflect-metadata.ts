/**
 * @peculiar/x509 loads tsyringe, which throws unless `Reflect.getMetadata` exists (normally the
 * `reflect-metadata` package, not a dependency here). x509 only stores and reads class
 * metadata, so a small per-target map implements the few calls it makes. Idempotent.
 */
type Key = PropertyKey | undefined;
const metadata = new WeakMap<object, Map<Key, Map<unknown, unknown>>>();

function slot(target: object, property: Key, create: boolean): Map<unknown, unknown> | undefined {
  let perTarget = metadata.get(target);
  if (perTarget === undefined) {
    if (!create) return undefined;
    perTarget = new Map();
    metadata.set(target, perTarget);
  }
  let values = perTarget.get(property);
  if (values === undefined && create) {
    values = new Map();
    perTarget.set(property, values);
  }
  return values;
}

export function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const own = (key: unknown, target: object, property?: PropertyKey): unknown =>
    slot(target, property, false)?.get(key);
  const inherited = (key: unknown, target: object, property?: PropertyKey): unknown => {
    let proto: object | null = target;
    while (proto !== null) {
      const v = own(key, proto, property);
      if (v !== undefined) return v;
      proto = Object.getPrototypeOf(proto) as object | null;
    }
    return undefined;
  };
  const define = (key: unknown, value: unknown, target: object, property?: PropertyKey): void => {
    slot(target, property, true)?.set(key, value);
  };
  reflect.getOwnMetadata = own;
  reflect.getMetadata = inherited;
  reflect.hasOwnMetadata = (k: unknown, t: object, p?: PropertyKey) => own(k, t, p) !== undefined;
  reflect.hasMetadata = (k: unknown, t: object, p?: PropertyKey) =>
    inherited(k, t, p) !== undefined;
  reflect.defineMetadata = define;
  reflect.metadata =
    (key: unknown, value: unknown) =>
    (target: object, property?: PropertyKey): void =>
      define(key, value, target, property);
}
