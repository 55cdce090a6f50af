/**
 * pods/exec, pods/attach and pods/portforward of a pod no node runs yet: the 400 Status a real
 * API server writes, for a plain request and for the WebSocket (client-node, kubectl) and SPDY
 * (kubectl's fallback) upgrades. A bound pod's answer depends on its kubelet; the emulator's
 * (none can be dialled) is in emulator-connect.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  CONNECT_MODES,
  CONNECT_SUBRESOURCES,
  connectRequest,
  type ConnectMode,
} from './support/connect.js';
import { busyboxPod, openTarget, uniq, type Target } from './support/target.js';

let t: Target;
let unscheduled: string;

beforeAll(async () => {
  t = await openTarget('connect');
  unscheduled = uniq('nowhere');
  const body = busyboxPod(unscheduled, { runSeconds: 600 });
  body.spec!.nodeSelector = { 'podbus.example/no-such-node': 'true' };
  await t.admin.core.createNamespacedPod({ namespace: t.namespace, body });
});
afterAll(async () => {
  await t?.close();
});

function connect(
  pod: string,
  sub: string,
  query: string,
  mode: ConnectMode,
): Promise<{ code: number; status: Record<string, unknown> }> {
  return connectRequest(
    t.admin.kc,
    t.server,
    t.caPem,
    `/api/v1/namespaces/${t.namespace}/pods/${pod}/${sub}?${query}`,
    mode,
  );
}

describe('a pod not bound to a node', () => {
  it.each(CONNECT_MODES)(
    'exec, attach and portforward answer 400 "does not have a host assigned" (%s)',
    async (mode) => {
      for (const [sub, query] of CONNECT_SUBRESOURCES) {
        const r = await connect(unscheduled, sub, query, mode);
        expect({ sub, code: r.code }).toEqual({ sub, code: 400 });
        expect(r.status).toEqual({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `pod ${unscheduled} does not have a host assigned`,
          reason: 'BadRequest',
          code: 400,
        });
      }
    },
  );

  it('an unknown container is refused first, naming it', async () => {
    const r = await connect(
      unscheduled,
      'exec',
      'command=true&stdout=true&container=nope',
      'plain',
    );
    expect(r.code).toBe(400);
    expect(r.status.message).toBe(`container nope is not valid for pod ${unscheduled}`);
  });

  it('kubectl exec prints the server error', async () => {
    const r = await t.kubectl(['exec', unscheduled, '--', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `Error from server (BadRequest): pod ${unscheduled} does not have a host assigned`,
    );
  });

  it('an unknown pod is 404', async () => {
    const r = await connect('no-such-pod', 'exec', 'command=true&stdout=true', 'plain');
    expect(r.code).toBe(404);
    expect(r.status.message).toBe('pods "no-such-pod" not found');
  });
});
