/**
 * The admin endpoint `/_emulator/...` on every cluster's port (outside the Kubernetes API,
 * never subject to injected faults). Authenticated with the target cluster's admin token.
 *
 *   GET    /_emulator/faults                      current faults
 *   PUT    /_emulator/faults                      replace all faults
 *   PATCH  /_emulator/faults   (or POST)          merge (a key set to null clears it)
 *   DELETE /_emulator/faults                      clear all faults (and bring the listener up)
 *   POST   /_emulator/tokens                      {namespace, serviceAccount, expiresInSeconds?} -> {token}
 *   POST   /_emulator/tokens/revoke               {token}
 *   POST   /_emulator/pods/<ns>/<name>/phase      {phase, exitCode?, reason?, message?}
 *   GET    /_emulator/stats                       request counters
 *   GET    /_emulator/history/pods[?namespace=ns] every pod ever stored, deleted ones too
 *   GET    /_emulator/authentication-config       {config, keyFetchErrors}
 *   PUT    /_emulator/authentication-config       AuthenticationConfiguration (JSON) -> same
 *   DELETE /_emulator/authentication-config       no JWT authenticators
 *   ANY    /_emulator/clusters/<name>/<path>      the same for another cluster of this emulator,
 *                                                 e.g. to bring a cluster that is `down` back up
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { FaultConfigError } from './faults.js';
import { EmulatorOptionsError } from './options-error.js';
import type {
  AuthenticationConfiguration,
  EmulatedCluster,
  FaultConfig,
  PodPhase,
} from './types.js';

export interface AdminTarget {
  cluster: EmulatedCluster;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

function tokenMatches(header: string | undefined, expected: string): boolean {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return false;
  const a = Buffer.from(m[1] as string);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const PHASES: PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

/** Builds the admin handler of one cluster; `resolve` finds sibling clusters by name. */
export function adminHandler(
  self: () => EmulatedCluster,
  resolve: (name: string) => EmulatedCluster | undefined,
): (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: () => Promise<Buffer>,
) => Promise<void> {
  const handle = async (
    target: EmulatedCluster,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: () => Promise<Buffer>,
  ): Promise<void> => {
    const cross = /^\/_emulator\/clusters\/([^/]+)(\/.*)$/.exec(path);
    if (cross) {
      const other = resolve(decodeURIComponent(cross[1] as string));
      if (!other) return sendJson(res, 404, { error: `no cluster named "${cross[1]}"` });
      return handle(other, req, res, `/_emulator${cross[2]}`, body);
    }
    if (!tokenMatches(req.headers.authorization, target.adminToken))
      return sendJson(res, 401, {
        error: `the admin token of cluster "${target.name}" is required`,
      });
    const method = req.method ?? 'GET';
    const json = async (): Promise<Record<string, unknown>> => {
      const raw = (await body()).toString('utf8').trim();
      if (raw === '') return {};
      const v = JSON.parse(raw) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new FaultConfigError('body must be a JSON object');
      return v as Record<string, unknown>;
    };
    try {
      if (path === '/_emulator/faults') {
        if (method === 'GET') return sendJson(res, 200, target.faults.get());
        let next: FaultConfig;
        if (method === 'PUT')
          next = target.faults.preview((await json()) as FaultConfig, 'replace');
        else if (method === 'PATCH' || method === 'POST')
          next = target.faults.preview((await json()) as FaultConfig, 'merge');
        else if (method === 'DELETE') next = {};
        else return sendJson(res, 405, { error: `${method} is not supported on ${path}` });
        // Answer first: `down` or `connectionReset` would cut this very connection.
        await new Promise<void>((resolve) => {
          res.once('finish', resolve);
          res.once('close', resolve);
          sendJson(res, 200, next);
        });
        await target.faults.replace(next);
        return;
      }
      if (path === '/_emulator/tokens' && method === 'POST') {
        const b = await json();
        if (typeof b.namespace !== 'string' || typeof b.serviceAccount !== 'string')
          return sendJson(res, 400, { error: 'namespace and serviceAccount are required strings' });
        const token = target.issueToken({
          namespace: b.namespace,
          serviceAccount: b.serviceAccount,
          expiresInSeconds: typeof b.expiresInSeconds === 'number' ? b.expiresInSeconds : undefined,
        });
        return sendJson(res, 200, { token });
      }
      if (path === '/_emulator/tokens/revoke' && method === 'POST') {
        const b = await json();
        if (typeof b.token !== 'string') return sendJson(res, 400, { error: 'token is required' });
        target.revokeToken(b.token);
        return sendJson(res, 200, { revoked: true });
      }
      const phase = /^\/_emulator\/pods\/([^/]+)\/([^/]+)\/phase$/.exec(path);
      if (phase && method === 'POST') {
        const b = await json();
        if (!PHASES.includes(b.phase as PodPhase))
          return sendJson(res, 400, { error: `phase must be one of ${PHASES.join(', ')}` });
        target.setPodPhase(
          decodeURIComponent(phase[1] as string),
          decodeURIComponent(phase[2] as string),
          b.phase as PodPhase,
          {
            exitCode: typeof b.exitCode === 'number' ? b.exitCode : undefined,
            reason: typeof b.reason === 'string' ? b.reason : undefined,
            message: typeof b.message === 'string' ? b.message : undefined,
          },
        );
        return sendJson(
          res,
          200,
          target.getPod(
            decodeURIComponent(phase[1] as string),
            decodeURIComponent(phase[2] as string),
          ),
        );
      }
      if (path === '/_emulator/stats' && method === 'GET') return sendJson(res, 200, target.stats);
      if (path === '/_emulator/authentication-config') {
        if (method === 'PUT')
          await target.setAuthenticationConfig(
            (await json()) as unknown as AuthenticationConfiguration,
          );
        else if (method === 'DELETE') await target.setAuthenticationConfig(undefined);
        else if (method !== 'GET')
          return sendJson(res, 405, { error: `${method} is not supported on ${path}` });
        return sendJson(res, 200, target.authenticationStatus());
      }
      if (path === '/_emulator/history/pods' && method === 'GET') {
        const namespace = new URL(req.url ?? '/', 'http://x').searchParams.get('namespace');
        return sendJson(res, 200, {
          cluster: target.name,
          pods: target.podHistory(namespace ?? undefined),
        });
      }
      return sendJson(res, 404, { error: `unknown admin path ${method} ${path}` });
    } catch (e) {
      if (
        e instanceof FaultConfigError ||
        e instanceof SyntaxError ||
        e instanceof EmulatorOptionsError
      )
        return sendJson(res, 400, { error: e.message });
      return sendJson(res, 400, { error: e instanceof Error ? e.message : String(e) });
    }
  };
  return (req, res, path, body) => handle(self(), req, res, path, body);
}
