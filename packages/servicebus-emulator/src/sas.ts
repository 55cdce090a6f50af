import { createHmac, timingSafeEqual } from 'node:crypto';

/** A shared access key the emulator accepts (like a namespace's SAS policy). */
export interface SharedAccessKey {
  name: string;
  key: string;
}

/** The official emulator's well-known development key. */
export const DEFAULT_KEYS: readonly SharedAccessKey[] = Object.freeze([
  { name: 'RootManageSharedAccessKey', key: 'SAS_KEY_VALUE' },
]);

export type SasVerification =
  | { ok: true; keyName: string; resource: string; expiresAtMs: number }
  | { ok: false; reason: string };

/**
 * Verifies a `SharedAccessSignature sr=..&sig=..&se=..&skn=..` token the way the service does
 * (specs/servicebus-amqp.md §2): HMAC-SHA256 keyed with the UTF-8 bytes of the key string over
 * `<sr as sent, still URL-encoded>\n<se>`, compared with the URL-decoded `sig`; then expiry and
 * key name. The reason never contains key material.
 */
export function verifySasToken(
  token: string,
  keys: readonly SharedAccessKey[],
  nowMs: number,
): SasVerification {
  const prefix = 'SharedAccessSignature ';
  if (typeof token !== 'string' || !token.startsWith(prefix)) {
    return { ok: false, reason: 'the token is not a SharedAccessSignature' };
  }
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'the token is malformed' };
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (sr === undefined || sig === undefined || se === undefined || skn === undefined) {
    return { ok: false, reason: 'the token lacks one of sr, sig, se, skn' };
  }
  let keyName: string;
  let resource: string;
  let signature: Buffer;
  try {
    keyName = decodeURIComponent(skn);
    resource = decodeURIComponent(sr);
    signature = Buffer.from(decodeURIComponent(sig), 'base64');
  } catch {
    return { ok: false, reason: 'the token is not correctly URL-encoded' };
  }
  if (!/^\d+$/.test(se)) return { ok: false, reason: 'the token expiry (se) is not a number' };
  const key = keys.find((k) => k.name === keyName);
  if (!key) return { ok: false, reason: `no shared access key named '${keyName}'` };
  const expected = createHmac('sha256', Buffer.from(key.key, 'utf8'))
    .update(`${sr}\n${se}`, 'utf8')
    .digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    return { ok: false, reason: `the signature does not match key '${keyName}'` };
  }
  const expiresAtMs = Number(se) * 1000;
  if (expiresAtMs <= nowMs) return { ok: false, reason: 'the token has expired' };
  return { ok: true, keyName, resource, expiresAtMs };
}

/**
 * Builds a token exactly as @azure/core-amqp does (used by tests and by tools that talk raw
 * AMQP to the emulator).
 */
export function createSasToken(
  audience: string,
  keyName: string,
  key: string,
  expiresAtSeconds: number,
): string {
  const sr = encodeURIComponent(audience);
  const sig = encodeURIComponent(
    createHmac('sha256', Buffer.from(key, 'utf8'))
      .update(`${sr}\n${expiresAtSeconds}`, 'utf8')
      .digest('base64'),
  );
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expiresAtSeconds}&skn=${encodeURIComponent(keyName)}`;
}

/**
 * The entity path of an audience or token resource: `sb://host:port/queue/$management` ->
 * `queue/$management`, lower-cased (entity names are case-insensitive); `''` for the namespace.
 */
export function resourcePath(resource: string): string {
  let rest = resource.trim();
  const scheme = rest.indexOf('://');
  if (scheme >= 0) {
    rest = rest.slice(scheme + 3);
    const slash = rest.indexOf('/');
    rest = slash >= 0 ? rest.slice(slash + 1) : '';
  }
  return rest.replace(/^\/+|\/+$/g, '').toLowerCase();
}

/** Whether a claim for `claimPath` covers `entityPath` (same path or a parent of it). */
export function claimCovers(claimPath: string, entityPath: string): boolean {
  return claimPath === '' || entityPath === claimPath || entityPath.startsWith(`${claimPath}/`);
}
