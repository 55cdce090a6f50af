import { randomUUID, type JsonWebKey } from 'node:crypto';

import type { Application, Directory, Principal } from './directory.js';
import { decodeJwt, verifyJwtSignature, type DecodedJwt } from './jwt.js';
import { resourceOfScope, type IssuedAccessToken, type TokenSigner } from './tokens.js';

/**
 * The OAuth 2.0 client credentials grant of `/<tenant>/oauth2/v2.0/token`, as MSAL (under
 * @azure/identity) sends it: `client_id`, `scope` (`<resource>/.default`) and either
 * `client_secret` (ClientSecretCredential) or a `client_assertion` of type jwt-bearer
 * (WorkloadIdentityCredential sends the projected service-account token from
 * AZURE_FEDERATED_TOKEN_FILE). Refusals carry Entra's `error`, `AADSTS` code and wording.
 */
export interface TokenResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Keys of the issuers whose tokens federated credentials may name, by issuer URL. */
export type TrustedIssuers = ReadonlyMap<string, () => readonly JsonWebKey[]>;

export interface TokenEndpointContext {
  readonly tenantId: string;
  readonly directory: Directory;
  readonly signer: TokenSigner;
  readonly trustedIssuers: TrustedIssuers;
  /** Every token issued, for tests and the log (never printed with its value). */
  readonly onIssued?: (issued: IssuedAccessToken) => void;
}

export function handleTokenRequest(
  context: TokenEndpointContext,
  tenant: string,
  form: URLSearchParams,
): TokenResponse {
  if (tenant !== context.tenantId) {
    return aadError(
      400,
      'invalid_request',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  }
  const grantType = form.get('grant_type');
  if (grantType === null) {
    return aadError(
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'grant_type'.",
    );
  }
  if (grantType !== 'client_credentials') {
    return aadError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'. This emulator serves client_credentials.`,
    );
  }
  const clientId = form.get('client_id') ?? '';
  const app = context.directory.application(clientId);
  if (app === undefined) {
    return aadError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${context.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const refused = authenticateClient(context, app, form);
  if (refused) return refused;
  const scope = form.get('scope') ?? '';
  const resource = resourceOfScope(scope);
  if (resource === undefined) {
    return aadError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const assertion = form.get('client_assertion') !== null;
  const issued = context.signer.issue(app, resource, { appidacr: assertion ? '2' : '1' });
  context.onIssued?.(issued);
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      ext_expires_in: issued.expiresIn,
      access_token: issued.accessToken,
    },
  };
}

function authenticateClient(
  context: TokenEndpointContext,
  app: Application,
  form: URLSearchParams,
): TokenResponse | undefined {
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if (secret !== null) {
    if (app.secrets.includes(secret)) return undefined;
    return aadError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    );
  }
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== JWT_BEARER) {
      return aadError(
        400,
        'invalid_request',
        50027,
        `Invalid client_assertion_type: it must be ${JWT_BEARER}.`,
      );
    }
    return checkAssertion(context, app, assertion);
  }
  return aadError(
    401,
    'invalid_client',
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

/** A federated credential: the assertion's issuer, subject and audience, signature and time. */
function checkAssertion(
  context: TokenEndpointContext,
  app: Application,
  token: string,
): TokenResponse | undefined {
  const jwt = decodeJwt(token);
  if (jwt === undefined) {
    return aadError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  }
  const { iss, sub, aud } = jwt.payload;
  const audiences = Array.isArray(aud) ? aud : [aud];
  const match = app.federatedCredentials.find(
    (f) => f.issuer === iss && f.subject === sub && f.audiences.some((a) => audiences.includes(a)),
  );
  if (match === undefined) {
    return aadError(
      400,
      'invalid_client',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(iss)}'. Assertion Subject: '${String(sub)}'. Assertion Audience: '${audiences.map(String).join(',')}'.`,
    );
  }
  const keys = context.trustedIssuers.get(match.issuer)?.() ?? [];
  if (!verifyJwtSignature(jwt, keys)) {
    return aadError(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${String(jwt.header.kid)}'.]`,
    );
  }
  return checkAssertionTime(jwt);
}

function checkAssertionTime(jwt: DecodedJwt): TokenResponse | undefined {
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf } = jwt.payload;
  const valid =
    typeof exp === 'number' && exp > now - 300 && (typeof nbf !== 'number' || nbf <= now + 300);
  if (valid) return undefined;
  const at = (s: unknown) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : 'none');
  return aadError(
    400,
    'invalid_client',
    700024,
    `Client assertion is not within its valid time range. Current time: ${new Date(now * 1000).toISOString()}, assertion valid from ${at(nbf)}, expiry time of assertion ${at(exp)}.`,
  );
}

/** An Entra error response: `error`, `error_description` with the AADSTS code and trace IDs. */
export function aadError(
  status: number,
  error: string,
  code: number,
  description: string,
): TokenResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
    },
  };
}

/** The managed identity token of App Service's protocol (IDENTITY_ENDPOINT, 2019-08-01). */
export function managedIdentityToken(
  context: TokenEndpointContext,
  identity: Principal,
  resource: string,
): TokenResponse {
  const issued = context.signer.issue(identity, resource, { appidacr: '2' });
  context.onIssued?.(issued);
  return {
    status: 200,
    body: {
      access_token: issued.accessToken,
      expires_on: String(issued.expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    },
  };
}
