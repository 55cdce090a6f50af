/**
 * One request to a pod's exec/attach/portforward subresource, sent the way each kind of client
 * sends it: plain, as a WebSocket upgrade (client-node, kubectl) or as an SPDY upgrade
 * (kubectl's fallback); the answer's code and Status body.
 */
import https from 'node:https';

import type { KubeConfig } from '@kubernetes/client-node';

export type ConnectMode = 'plain' | 'websocket' | 'spdy';
export const CONNECT_MODES: readonly ConnectMode[] = ['plain', 'websocket', 'spdy'];

/** The subresources with a query each accepts. */
export const CONNECT_SUBRESOURCES = [
  ['exec', 'command=true&stdout=true'],
  ['attach', 'stdout=true'],
  ['portforward', 'ports=80'],
] as const;

export async function connectRequest(
  kc: KubeConfig,
  server: string,
  caPem: string,
  path: string,
  mode: ConnectMode,
): Promise<{ code: number; status: Record<string, unknown> }> {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = { ...(opts.headers as Record<string, string>) };
  if (mode === 'websocket')
    Object.assign(headers, {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol': 'v5.channel.k8s.io',
    });
  if (mode === 'spdy')
    Object.assign(headers, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
    });
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(`${server}${path}`),
      { ...opts, method: mode === 'spdy' ? 'POST' : 'GET', headers, ca: caPem },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () =>
          resolve({
            code: res.statusCode ?? 0,
            status: JSON.parse(body) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('upgrade', () => reject(new Error('the server switched protocols')));
    req.on('error', reject);
    req.end();
  });
}
