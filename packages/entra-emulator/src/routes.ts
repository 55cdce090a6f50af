import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Directory } from './directory.js';
import {
  aadError,
  handleTokenRequest,
  managedIdentityToken,
  type TokenEndpointContext,
  type TokenResponse,
} from './token-endpoint.js';
import { v1Issuer, v2Issuer } from './tokens.js';

/**
 * Entra's paths, served over HTTPS by index.ts:
 *   GET  /<tenant>/v2.0/.well-known/openid-configuration   (what MSAL reads first)
 *   GET  /<tenant>/.well-known/openid-configuration        (v1: issuer https://sts.windows.net/<tenant>/)
 *   GET  /<tenant>/discovery/v2.0/keys, /<tenant>/discovery/keys, /common/discovery/keys
 *   POST /<tenant>/oauth2/v2.0/token                        (client credentials)
 *   GET  /msi/token                                         (managed identity, App Service protocol)
 *   GET  /federation/.well-known/openid-configuration, /federation/keys
 *        (a stand-in service-account issuer whose tokens federated credentials can trust)
 */
export interface RouteContext extends TokenEndpointContext {
  readonly baseUrl: () => string;
  readonly directory: Directory;
  /** The X-IDENTITY-HEADER value managed identity requests must carry. */
  readonly identityHeader: string;
  readonly federation: { readonly issuer: () => string; readonly jwks: () => unknown };
}

const MAX_FORM_BYTES = 64 * 1024;

export async function route(
  context: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', context.baseUrl());
  const path = url.pathname.replace(/\/+$/, '');
  const parts = path.split('/').slice(1);
  const tenant = parts[0] ?? '';
  const rest = parts.slice(1).join('/');
  const get = req.method === 'GET';
  if (get && path === '/federation/.well-known/openid-configuration') {
    return send(res, 200, federationDiscovery(context));
  }
  if (get && path === '/federation/keys') return send(res, 200, context.federation.jwks());
  if (get && path === '/msi/token') return send(res, ...tuple(managedIdentity(context, req, url)));
  if (get && rest === 'discovery/keys' && tenant === 'common') {
    return send(res, 200, context.signer.jwks());
  }
  if (tenant === context.tenantId || /^[0-9a-f-]{36}$/i.test(tenant)) {
    if (get && rest === 'v2.0/.well-known/openid-configuration') {
      return tenant === context.tenantId
        ? send(res, 200, discoveryV2(context))
        : send(res, ...tuple(unknownTenant(tenant)));
    }
    if (get && rest === '.well-known/openid-configuration') {
      return tenant === context.tenantId
        ? send(res, 200, discoveryV1(context))
        : send(res, ...tuple(unknownTenant(tenant)));
    }
    if (get && (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys')) {
      return send(res, 200, context.signer.jwks());
    }
    if (rest === 'oauth2/v2.0/token') {
      if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
      const form = await readForm(req);
      if (form === undefined) {
        return send(res, ...tuple(aadError(400, 'invalid_request', 900144, 'Unreadable body.')));
      }
      return send(res, ...tuple(handleTokenRequest(context, tenant, form)));
    }
  }
  send(res, 404, { error: 'not_found', error_description: `no such endpoint: ${url.pathname}` });
}

function discoveryV2(context: RouteContext): Record<string, unknown> {
  const base = `${context.baseUrl()}/${context.tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2Issuer(context.tenantId),
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'roles', 'groups'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}

function discoveryV1(context: RouteContext): Record<string, unknown> {
  const base = `${context.baseUrl()}/${context.tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/token`,
    jwks_uri: `${base}/discovery/keys`,
    issuer: v1Issuer(context.tenantId),
    authorization_endpoint: `${base}/oauth2/authorize`,
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    subject_types_supported: ['pairwise'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
  };
}

function federationDiscovery(context: RouteContext): Record<string, unknown> {
  return {
    issuer: context.federation.issuer(),
    jwks_uri: `${context.baseUrl()}/federation/keys`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
}

function unknownTenant(tenant: string): TokenResponse {
  return aadError(
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  );
}

/** App Service's managed identity protocol (api-version 2019-08-01), as MSAL's AppService source sends it. */
function managedIdentity(context: RouteContext, req: IncomingMessage, url: URL): TokenResponse {
  const header = req.headers['x-identity-header'];
  if (header !== context.identityHeader) {
    return {
      status: 401,
      body: { statusCode: 401, message: 'X-IDENTITY-HEADER is missing or not valid.' },
    };
  }
  const resource = url.searchParams.get('resource');
  if (!resource) {
    return {
      status: 400,
      body: { statusCode: 400, message: "The 'resource' parameter is required." },
    };
  }
  const clientId = url.searchParams.get('client_id') ?? undefined;
  const identity = context.directory.managedIdentity(clientId);
  if (identity === undefined) {
    return {
      status: 400,
      body: {
        statusCode: 400,
        message:
          'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.',
      },
    };
  }
  return managedIdentityToken(context, identity, resource.replace(/\/\.default$/, ''));
}

function tuple(response: TokenResponse): [number, unknown] {
  return [response.status, response.body];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store, no-cache',
  });
  res.end(text);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
