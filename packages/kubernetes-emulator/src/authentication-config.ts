/**
 * Validation of a structured authentication configuration, worded as kube-apiserver's
 * (k8s.io/apiserver pkg/apis/apiserver/validation, ValidateAuthenticationConfiguration): the
 * field errors a real server refuses the file with, plus the parts the emulator does not
 * implement (CEL expressions), refused with a message that says so.
 */
import { X509Certificate } from 'node:crypto';

import { isObject } from './json.js';
import { fieldErrorBody, type FieldError } from './status.js';
import type { AuthenticationConfiguration, JwtAuthenticatorConfig } from './types.js';

/** The JWS algorithms kube-apiserver allows (`allowedSigningAlgs` in its oidc package). */
export const ALLOWED_SIGNING_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
];

const NOT_EMULATED = 'CEL expressions are not supported by the Kubernetes emulator; use claim';

function validateURL(value: string, field: string, disallowed: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  const invalid = (detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field,
    value,
    detail,
  });
  if (disallowed.includes(value))
    errs.push(invalid(`URL must not overlap with disallowed issuers: [${disallowed.join(' ')}]`));
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    errs.push(invalid(`parse ${JSON.stringify(value)}: invalid URL`));
    return errs;
  }
  if (u.protocol !== 'https:') errs.push(invalid('URL scheme must be https'));
  if (u.username !== '' || u.password !== '')
    errs.push(invalid('URL must not contain a username or password'));
  if (u.search !== '') errs.push(invalid('URL must not contain a query'));
  if (u.hash !== '') errs.push(invalid('URL must not contain a fragment'));
  return errs;
}

function validateIssuer(
  issuer: JwtAuthenticatorConfig['issuer'] | undefined,
  path: string,
  disallowed: readonly string[],
): FieldError[] {
  const errs: FieldError[] = [];
  const i = isObject(issuer) ? (issuer as JwtAuthenticatorConfig['issuer']) : undefined;
  const url = typeof i?.url === 'string' ? i.url : '';
  if (url === '') errs.push({ type: 'FieldValueRequired', field: `${path}.url` });
  else errs.push(...validateURL(url, `${path}.url`, disallowed));
  const discovery = typeof i?.discoveryURL === 'string' ? i.discoveryURL : '';
  if (discovery !== '') {
    if (url !== '' && url.replace(/\/+$/, '') === discovery.replace(/\/+$/, ''))
      errs.push({
        type: 'FieldValueInvalid',
        field: `${path}.discoveryURL`,
        value: discovery,
        detail: 'discoveryURL must be different from URL',
      });
    errs.push(...validateURL(discovery, `${path}.discoveryURL`, []));
  }
  const audiences = Array.isArray(i?.audiences) ? i.audiences : [];
  if (audiences.length === 0)
    errs.push({
      type: 'FieldValueRequired',
      field: `${path}.audiences`,
      detail: `at least one ${path}.audiences is required`,
    });
  const seen = new Set<string>();
  audiences.forEach((a, n) => {
    if (typeof a !== 'string' || a === '')
      errs.push({ type: 'FieldValueRequired', field: `${path}.audiences[${n}]` });
    else if (seen.has(a))
      errs.push({ type: 'FieldValueDuplicate', field: `${path}.audiences[${n}]`, value: a });
    seen.add(String(a));
  });
  const policy = i?.audienceMatchPolicy ?? '';
  if (audiences.length > 1 && policy !== 'MatchAny')
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.audienceMatchPolicy`,
      value: policy,
      detail: 'audienceMatchPolicy must be MatchAny for multiple audiences',
    });
  if (audiences.length === 1 && policy !== '' && policy !== 'MatchAny')
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.audienceMatchPolicy`,
      value: policy,
      detail: 'audienceMatchPolicy must be empty or MatchAny for single audience',
    });
  const ca = i?.certificateAuthority;
  if (typeof ca === 'string' && ca !== '' && !hasCertificate(ca))
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.certificateAuthority`,
      value: '<omitted>',
      detail: 'data does not contain any valid RSA or ECDSA certificates',
    });
  if (i?.jwks !== undefined && !(isObject(i.jwks) && Array.isArray(i.jwks.keys)))
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.jwks`,
      value: '<omitted>',
      detail: 'must be a JWKS document: {"keys": [...]}',
    });
  return errs;
}

function hasCertificate(pem: string): boolean {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.some((b) => {
    try {
      new X509Certificate(b);
      return true;
    } catch {
      return false;
    }
  });
}

function validateMapping(
  mapping: { claim?: string; prefix?: string; expression?: string } | undefined,
  path: string,
  required: boolean,
  prefixed: boolean,
): FieldError[] {
  const claim = mapping?.claim ?? '';
  const expression = mapping?.expression ?? '';
  if (claim !== '' && expression !== '')
    return [
      {
        type: 'FieldValueInvalid',
        field: path,
        value: '',
        detail: "claim and expression can't both be set",
      },
    ];
  if (expression !== '')
    return [
      {
        type: 'FieldValueInvalid',
        field: `${path}.expression`,
        value: expression,
        detail: NOT_EMULATED,
      },
    ];
  if (claim === '')
    return required
      ? [{ type: 'FieldValueRequired', field: path, detail: 'claim or expression is required' }]
      : [];
  if (prefixed && typeof mapping?.prefix !== 'string')
    return [
      {
        type: 'FieldValueRequired',
        field: `${path}.prefix`,
        detail:
          'prefix is required when claim is set. It can be set to an empty string to disable prefixing',
      },
    ];
  return [];
}

function validateJwt(
  a: JwtAuthenticatorConfig,
  path: string,
  disallowed: readonly string[],
): FieldError[] {
  const errs = validateIssuer(a?.issuer, `${path}.issuer`, disallowed);
  const seenClaims = new Set<string>();
  (Array.isArray(a?.claimValidationRules) ? a.claimValidationRules : []).forEach((r, n) => {
    const field = `${path}.claimValidationRules[${n}]`;
    if (typeof r?.expression === 'string' && r.expression !== '')
      errs.push({
        type: 'FieldValueInvalid',
        field: `${field}.expression`,
        value: r.expression,
        detail: NOT_EMULATED,
      });
    else if (typeof r?.claim !== 'string' || r.claim === '')
      errs.push({ type: 'FieldValueRequired', field, detail: 'claim or expression is required' });
    else if (seenClaims.has(r.claim))
      errs.push({ type: 'FieldValueDuplicate', field: `${field}.claim`, value: r.claim });
    else seenClaims.add(r.claim);
  });
  const m = a?.claimMappings;
  errs.push(...validateMapping(m?.username, `${path}.claimMappings.username`, true, true));
  errs.push(...validateMapping(m?.groups, `${path}.claimMappings.groups`, false, true));
  errs.push(...validateMapping(m?.uid, `${path}.claimMappings.uid`, false, false));
  if (Array.isArray(m?.extra) && m.extra.length > 0)
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.claimMappings.extra`,
      value: '',
      detail: `extra mappings use ${NOT_EMULATED.replace('; use claim', '')}`,
    });
  if (Array.isArray(a?.userValidationRules) && a.userValidationRules.length > 0)
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.userValidationRules`,
      value: '',
      detail: `user validation rules use ${NOT_EMULATED.replace('; use claim', '')}`,
    });
  return errs;
}

/**
 * The errors kube-apiserver would refuse `config` with, as `field: Type: value: detail` lines;
 * empty when it is acceptable. `disallowedIssuers` are the service-account token issuers.
 */
export function authenticationConfigErrors(
  config: AuthenticationConfiguration,
  disallowedIssuers: readonly string[],
  signingAlgs: readonly string[],
): string[] {
  const errs: FieldError[] = [];
  if (!isObject(config)) return ['authentication config must be an object with a `jwt` list'];
  const jwt = Array.isArray(config.jwt) ? config.jwt : [];
  if (config.jwt !== undefined && !Array.isArray(config.jwt))
    return ['jwt: Invalid value: must be a list of JWT authenticators'];
  if (jwt.length > 64)
    errs.push({ type: 'FieldValueTooLong', field: 'jwt', detail: 'must have at most 64 items' });
  const issuers = new Set<string>();
  const discoveries = new Set<string>();
  jwt.forEach((a, n) => {
    const path = `jwt[${n}]`;
    errs.push(...validateJwt(a, path, disallowedIssuers));
    const url = a?.issuer?.url;
    if (typeof url === 'string') {
      if (issuers.has(url))
        errs.push({ type: 'FieldValueDuplicate', field: `${path}.issuer.url`, value: url });
      issuers.add(url);
    }
    const discovery = a?.issuer?.discoveryURL;
    if (typeof discovery === 'string' && discovery !== '') {
      if (discoveries.has(discovery))
        errs.push({
          type: 'FieldValueDuplicate',
          field: `${path}.issuer.discoveryURL`,
          value: discovery,
        });
      discoveries.add(discovery);
    }
  });
  const out = errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  for (const alg of signingAlgs)
    if (!ALLOWED_SIGNING_ALGS.includes(alg))
      out.push(`oidc: unsupported signing alg: ${JSON.stringify(alg)}`);
  return out;
}
