import { constants, generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';

import { authenticationConfigErrors } from '../../src/authentication-config.js';
import { JwtAuthenticators } from '../../src/jwt-authenticator.js';
import type { AuthenticationConfiguration } from '../../src/types.js';

const ISS = 'https://sts.windows.net/00000000-0000-0000-0000-0000000000aa/';
const AUD = '6dae42f8-4368-4678-94ff-3960e28e3630';
const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);
const SECONDS = NOW / 1000;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });

function jwk(key: KeyObject, kid: string): Record<string, unknown> {
  return { ...key.export({ format: 'jwk' }), kid, use: 'sig' };
}

function token(
  claims: Record<string, unknown>,
  opts: { alg?: string; kid?: string; key?: KeyObject } = {},
): string {
  const alg = opts.alg ?? 'RS256';
  const header = Buffer.from(JSON.stringify({ alg, kid: opts.kid ?? 'r1', typ: 'JWT' })).toString(
    'base64url',
  );
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const data = Buffer.from(`${header}.${payload}`);
  const key = opts.key ?? (alg.startsWith('ES') ? ec.privateKey : rsa.privateKey);
  let signature: Buffer;
  if (alg === 'none') signature = Buffer.alloc(0);
  else if (alg.startsWith('ES'))
    signature = sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  else if (alg.startsWith('PS'))
    signature = sign('sha256', data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  else signature = sign('sha256', data, key);
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

/** Claims of an Entra ID (v1) access token for the AKS AAD server application. */
function entra(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: AUD,
    iss: ISS,
    iat: SECONDS - 60,
    nbf: SECONDS - 60,
    exp: SECONDS + 3600,
    appid: '11111111-2222-3333-4444-555555555555',
    oid: '99999999-8888-7777-6666-555555555555',
    sub: '99999999-8888-7777-6666-555555555555',
    tid: '00000000-0000-0000-0000-0000000000aa',
    groups: ['aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000002'],
    ver: '1.0',
    ...over,
  };
}

function config(
  over: Partial<AuthenticationConfiguration['jwt'][number]> = {},
): AuthenticationConfiguration {
  return {
    apiVersion: 'apiserver.config.k8s.io/v1beta1',
    kind: 'AuthenticationConfiguration',
    jwt: [
      {
        issuer: {
          url: ISS,
          audiences: [AUD],
          jwks: { keys: [jwk(rsa.publicKey, 'r1'), jwk(ec.publicKey, 'e1')] as JsonWebKey[] },
        },
        claimValidationRules: [
          { claim: 'tid', requiredValue: '00000000-0000-0000-0000-0000000000aa' },
        ],
        claimMappings: {
          username: { claim: 'oid', prefix: 'aad:' },
          groups: { claim: 'groups', prefix: 'aad-group:' },
          uid: { claim: 'oid' },
        },
        ...over,
      },
    ],
  };
}

async function authenticators(
  cfg: AuthenticationConfiguration = config(),
  algs = ['RS256', 'ES256', 'PS256'],
): Promise<JwtAuthenticators> {
  const a = new JwtAuthenticators(algs, () => NOW);
  await a.configure(cfg);
  return a;
}

describe('JWT authenticators: tokens that authenticate', () => {
  it('an RS256 Entra-shaped token maps oid and groups with their prefixes, uid from oid', async () => {
    const a = await authenticators();
    expect(await a.authenticate(token(entra()))).toEqual({
      user: {
        name: 'aad:99999999-8888-7777-6666-555555555555',
        uid: '99999999-8888-7777-6666-555555555555',
        groups: [
          'aad-group:aaaaaaaa-0000-0000-0000-000000000001',
          'aad-group:aaaaaaaa-0000-0000-0000-000000000002',
          'system:authenticated',
        ],
      },
    });
  });

  it('ES256 and PS256 when allowed; an audience list; a single-string groups claim', async () => {
    const a = await authenticators();
    const es = await a.authenticate(token(entra({ groups: 'ops' }), { alg: 'ES256', kid: 'e1' }));
    expect(es).toMatchObject({ user: { groups: ['aad-group:ops', 'system:authenticated'] } });
    const ps = await a.authenticate(token(entra({ aud: ['other', AUD] }), { alg: 'PS256' }));
    expect(ps).toMatchObject({ user: { name: 'aad:99999999-8888-7777-6666-555555555555' } });
  });

  it('an nbf up to five minutes ahead passes (clock skew)', async () => {
    const a = await authenticators();
    expect(await a.authenticate(token(entra({ nbf: SECONDS + 240 })))).toHaveProperty('user');
  });
});

describe('JWT authenticators: tokens that do not', () => {
  it.each([
    ['expired', entra({ exp: SECONDS - 1 }), {}, 'oidc: token is expired'],
    ['without exp', entra({ exp: undefined }), {}, 'oidc: token is expired'],
    [
      'nbf six minutes ahead',
      entra({ nbf: SECONDS + 360 }),
      {},
      'before the nbf (not before) time',
    ],
    [
      'for another audience',
      entra({ aud: 'https://management.core.windows.net/' }),
      {},
      'oidc: expected audience in',
    ],
    [
      'of another tenant',
      entra({ tid: 'other' }),
      {},
      'oidc: required claim tid value does not match',
    ],
    [
      'without the validated claim',
      entra({ tid: undefined }),
      {},
      'oidc: required claim tid not present',
    ],
    [
      'without the username claim',
      entra({ oid: undefined }),
      {},
      'oidc: parse username claims "oid"',
    ],
    ['with groups of numbers', entra({ groups: [1, 2] }), {}, 'oidc: parse groups claim "groups"'],
    [
      'signed by a stranger',
      entra(),
      { key: stranger.privateKey },
      'failed to verify id token signature',
    ],
    ['unsigned (alg none)', entra(), { alg: 'none' }, 'unsupported algorithm'],
  ])('%s', async (_what, claims, opts, why) => {
    const a = await authenticators();
    const verdict = await a.authenticate(token(claims, opts));
    expect(verdict).toHaveProperty('error');
    expect((verdict as { error: string }).error).toContain(why);
  });

  it('ES256 is refused with the default --oidc-signing-algs (RS256 only)', async () => {
    const a = await authenticators(config(), ['RS256']);
    const verdict = await a.authenticate(token(entra(), { alg: 'ES256', kid: 'e1' }));
    expect(verdict).toEqual({
      error: 'oidc: id token signed with unsupported algorithm, expected ["RS256"] got "ES256"',
    });
  });

  it('an email username needs email_verified true when the claim is there', async () => {
    const a = await authenticators(
      config({
        claimMappings: { username: { claim: 'email', prefix: '' } },
        claimValidationRules: [],
      }),
    );
    const verified = await a.authenticate(
      token(entra({ email: 'a@example.com', email_verified: true })),
    );
    expect(verified).toMatchObject({ user: { name: 'a@example.com' } });
    const unverified = await a.authenticate(
      token(entra({ email: 'a@example.com', email_verified: false })),
    );
    expect(unverified).toEqual({ error: 'oidc: email not verified' });
  });

  it('is not theirs: another issuer, or not a JWT (other authenticators decide)', async () => {
    const a = await authenticators();
    expect(
      await a.authenticate(token(entra({ iss: 'https://login.microsoftonline.com/x/v2.0' }))),
    ).toBeUndefined();
    expect(await a.authenticate('not-a-jwt')).toBeUndefined();
  });
});

describe('authentication configuration checks, worded as kube-apiserver', () => {
  const base = config().jwt[0]!;
  const errors = (jwt: unknown, algs = ['RS256']) =>
    authenticationConfigErrors(
      { jwt: [jwt] } as AuthenticationConfiguration,
      ['https://kubernetes.default.svc.cluster.local'],
      algs,
    );

  it('accepts a complete one', () => {
    expect(errors(base)).toEqual([]);
  });

  it.each([
    [
      'an http issuer URL',
      { ...base, issuer: { ...base.issuer, url: 'http://issuer.example' } },
      'jwt[0].issuer.url: Invalid value: "http://issuer.example": URL scheme must be https',
    ],
    [
      'the service-account issuer',
      { ...base, issuer: { ...base.issuer, url: 'https://kubernetes.default.svc.cluster.local' } },
      'jwt[0].issuer.url: Invalid value: "https://kubernetes.default.svc.cluster.local": URL must not overlap with disallowed issuers: [https://kubernetes.default.svc.cluster.local]',
    ],
    [
      'no audiences',
      { ...base, issuer: { ...base.issuer, audiences: [] } },
      'jwt[0].issuer.audiences: Required value: at least one jwt[0].issuer.audiences is required',
    ],
    [
      'two audiences without MatchAny',
      { ...base, issuer: { ...base.issuer, audiences: ['a', 'b'] } },
      'jwt[0].issuer.audienceMatchPolicy: Invalid value: "": audienceMatchPolicy must be MatchAny for multiple audiences',
    ],
    [
      'a username claim without prefix',
      { ...base, claimMappings: { username: { claim: 'oid' } } },
      'jwt[0].claimMappings.username.prefix: Required value: prefix is required when claim is set. It can be set to an empty string to disable prefixing',
    ],
    [
      'no username mapping',
      { ...base, claimMappings: { username: {} } },
      'jwt[0].claimMappings.username: Required value: claim or expression is required',
    ],
    [
      'a CEL username expression',
      { ...base, claimMappings: { username: { expression: 'claims.oid' } } },
      'jwt[0].claimMappings.username.expression: Invalid value: "claims.oid": CEL expressions are not supported by the Kubernetes emulator; use claim',
    ],
    [
      'a CA that is not a certificate',
      { ...base, issuer: { ...base.issuer, certificateAuthority: 'not a pem' } },
      'jwt[0].issuer.certificateAuthority: Invalid value: "<omitted>": data does not contain any valid RSA or ECDSA certificates',
    ],
  ])('refuses %s', (_what, jwt, message) => {
    expect(errors(jwt)).toEqual([message]);
  });

  it('refuses a duplicate issuer and an algorithm kube-apiserver does not allow', () => {
    expect(authenticationConfigErrors({ jwt: [base, base] }, [], ['RS256', 'HS256'])).toEqual([
      `jwt[1].issuer.url: Duplicate value: "${ISS}"`,
      'oidc: unsupported signing alg: "HS256"',
    ]);
  });
});
