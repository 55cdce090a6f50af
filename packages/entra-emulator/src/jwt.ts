import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/**
 * RS256 JSON Web Tokens, as Entra ID signs its access tokens: a 2048-bit RSA key per signing
 * key, published in a JWKS with `kid` and `x5t` naming it in the token header.
 */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  // Entra's key IDs are base64url thumbprints (27 characters); this one is of the public key.
  const kid = createHash('sha1').update(der).digest('base64url');
  return { kid, privateKey, publicKey };
}

/** The public half as a JWK, the way Entra's discovery/keys lists it. */
export function publicJwk(key: SigningKey): JsonWebKey {
  return {
    kty: 'RSA',
    use: 'sig',
    kid: key.kid,
    x5t: key.kid,
    ...key.publicKey.export({ format: 'jwk' }),
  };
}

export type Claims = Record<string, unknown>;

export function signJwt(claims: Claims, key: SigningKey): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid };
  const input = `${base64url(header)}.${base64url(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

export interface DecodedJwt {
  readonly header: Claims;
  readonly payload: Claims;
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Splits and parses a compact JWS; undefined when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return {
      header,
      payload,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/** Whether one of `keys` (JWKs) signed the token: RS256 or ES256, picked by the header. */
export function verifyJwtSignature(jwt: DecodedJwt, keys: readonly JsonWebKey[]): boolean {
  const alg = jwt.header.alg;
  const candidates = keys.filter((k) => jwt.header.kid === undefined || k.kid === jwt.header.kid);
  for (const jwk of candidates) {
    try {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      if (alg === 'RS256' && key.asymmetricKeyType === 'rsa') {
        if (verify('sha256', Buffer.from(jwt.signingInput), key, jwt.signature)) return true;
      } else if (alg === 'ES256' && key.asymmetricKeyType === 'ec') {
        const ok = verify(
          'sha256',
          Buffer.from(jwt.signingInput),
          { key, dsaEncoding: 'ieee-p1363' },
          jwt.signature,
        );
        if (ok) return true;
      }
    } catch {
      // not a usable key: try the next
    }
  }
  return false;
}

export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
