/**
 * `pods/exec`, `pods/attach` and `pods/portforward` as kube-apiserver answers them when it cannot
 * reach a kubelet (pkg/registry/core/pod/strategy.go, streamLocation/PortForwardLocation; the
 * upgrade-aware proxy of k8s.io/apimachinery/pkg/util/proxy). No container runs in the emulator,
 * so there is never a kubelet to stream from; a client gets the Status a real server writes:
 * - an unknown container: 400 `container <c> is not valid for pod <p>` (or `a container name
 *   must be specified for pod <p>, choose one of: [a b]`), exec and attach only;
 * - a pod not bound to a node yet: 400 `pod <p> does not have a host assigned`;
 * - a bound pod, for a plain request: 400 `Upgrade request required` (these need a WebSocket or
 *   SPDY upgrade); for an upgrade request (client-node, kubectl): the proxy cannot dial the
 *   node's kubelet, 500 with no reason, `error dialing backend: dial tcp <node IP>:10250:
 *   connect: connection refused` (kubectl: `Error from server: error dialing backend: ...`).
 */
import type { IncomingMessage } from 'node:http';

import { isObject } from './json.js';
import { ApiError, badRequest } from './status.js';
import type { JsonObject } from './store.js';

/** The kubelet port when a Node does not report one (--kubelet-port's default). */
const DEFAULT_KUBELET_PORT = 10250;

function namesOf(list: unknown): string[] {
  return Array.isArray(list) ? list.filter(isObject).map((c) => String(c.name ?? '')) : [];
}

/**
 * The container a log, exec or attach request is for: the one named, or the only one; 400 as
 * upstream when the name is missing or unknown.
 */
export function resolveContainer(pod: JsonObject, name: string, requested: string): string {
  const spec = (pod.spec ?? {}) as JsonObject;
  const containers = namesOf(spec.containers);
  if (requested === '') {
    if (containers.length === 1) return containers[0] as string;
    if (containers.length === 0)
      throw badRequest(`a container name must be specified for pod ${name}`);
    const init = namesOf(spec.initContainers);
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]` +
        (init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : ''),
    );
  }
  const all = [
    ...containers,
    ...namesOf(spec.initContainers),
    ...namesOf(spec.ephemeralContainers),
  ];
  if (!all.includes(requested))
    throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** Whether the request asks to switch protocols (WebSocket or SPDY). */
function isUpgrade(req: IncomingMessage): boolean {
  const connection = String(req.headers.connection ?? '').toLowerCase();
  return (
    connection.split(',').some((t) => t.trim() === 'upgrade') && req.headers.upgrade !== undefined
  );
}

/** Where the kubelet of `node` would be dialled (NodeConnectionInfoGetter). */
function kubeletAddress(node: JsonObject | undefined): string {
  const status = (node?.status ?? {}) as JsonObject;
  const addresses = Array.isArray(status.addresses) ? status.addresses.filter(isObject) : [];
  const ip =
    addresses.find((a) => a.type === 'InternalIP')?.address ??
    addresses.find((a) => a.type === 'Hostname')?.address ??
    '';
  const endpoints = (status.daemonEndpoints ?? {}) as JsonObject;
  const port = Number((endpoints.kubeletEndpoint as JsonObject | undefined)?.Port ?? 0);
  return `${String(ip)}:${port > 0 ? port : DEFAULT_KUBELET_PORT}`;
}

/**
 * Always throws the error the request ends with (there is no kubelet to proxy to).
 * `node` looks up the Node the pod is bound to.
 */
export function connectError(
  req: IncomingMessage,
  subresource: 'exec' | 'attach' | 'portforward',
  pod: JsonObject,
  query: URLSearchParams,
  node: (name: string) => JsonObject | undefined,
): never {
  const name = String((pod.metadata as JsonObject).name);
  if (subresource !== 'portforward') resolveContainer(pod, name, query.get('container') ?? '');
  const nodeName = (pod.spec as JsonObject | undefined)?.nodeName;
  if (typeof nodeName !== 'string' || nodeName === '')
    throw badRequest(`pod ${name} does not have a host assigned`);
  if (!isUpgrade(req)) throw badRequest('Upgrade request required');
  // Not an API status upstream: rendered with code 500 and no reason (ErrorToAPIStatus).
  throw new ApiError(
    500,
    '',
    `error dialing backend: dial tcp ${kubeletAddress(node(nodeName))}: connect: connection refused`,
  );
}
