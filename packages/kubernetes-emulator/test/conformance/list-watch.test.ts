/**
 * List with label and field selectors (incl. status.phase; unsupported field -> 400) and watch:
 * events from a resourceVersion, resuming after a disconnect, an expired resourceVersion as HTTP
 * 200 plus an ERROR event with a 410 Status.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Watch, type V1Pod } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';

import {
  busyboxPod,
  expectApiError,
  ON_EMULATOR,
  openTarget,
  uniq,
  waitForPod,
  type Target,
} from './support/target.js';

let t: Target;
beforeAll(async () => {
  t = await openTarget('listwatch');
});
afterAll(async () => {
  await t?.close();
});

function plain(name: string, labels: Record<string, string>): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

describe('list', () => {
  it('filters by label selector (=, !=, in, notin, exists, !exists)', async () => {
    const run = uniq('run');
    const a = uniq('a');
    const b = uniq('b');
    const c = uniq('c');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: plain(a, { run, tier: 'web' }),
    });
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: plain(b, { run, tier: 'db' }),
    });
    await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: plain(c, { run }) });
    const names = async (labelSelector: string): Promise<string[]> =>
      (await t.sa.core.listNamespacedPod({ namespace: t.namespace, labelSelector })).items
        .map((p) => p.metadata!.name!)
        .sort();
    expect(await names(`run=${run},tier=web`)).toEqual([a]);
    expect(await names(`run=${run},tier!=web`)).toEqual([b, c].sort());
    expect(await names(`run=${run},tier in (web,db)`)).toEqual([a, b].sort());
    expect(await names(`run=${run},tier notin (web)`)).toEqual([b, c].sort());
    expect(await names(`run=${run},tier`)).toEqual([a, b].sort());
    expect(await names(`run=${run},!tier`)).toEqual([c]);
  });

  it('answers a list with PodList metadata and items without kind/apiVersion', async () => {
    const agent = new Agent({ connect: { ca: t.caPem } });
    const res = await fetch(`${t.server}/api/v1/namespaces/${t.namespace}/pods`, {
      headers: { Authorization: `Bearer ${t.serviceAccountToken}`, Accept: 'application/json' },
      dispatcher: agent,
    });
    await agent.close();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const raw = (await res.json()) as {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion: string };
      items: Record<string, unknown>[];
    };
    expect(raw.kind).toBe('PodList');
    expect(raw.apiVersion).toBe('v1');
    expect(raw.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(raw.items.length).toBeGreaterThan(0);
    for (const item of raw.items) {
      expect(item.kind).toBeUndefined();
      expect(item.apiVersion).toBeUndefined();
    }
  });

  it('filters by field selectors metadata.name and status.phase', async () => {
    const name = uniq('phase');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: busyboxPod(name, { labels: { case: name } }),
    });
    await waitForPod(t.sa.core, t.namespace, name, (p) => p.status?.phase === 'Succeeded');
    const byName = await t.sa.core.listNamespacedPod({
      namespace: t.namespace,
      fieldSelector: `metadata.name=${name}`,
    });
    expect(byName.items.map((p) => p.metadata!.name)).toEqual([name]);
    const succeeded = await t.sa.core.listNamespacedPod({
      namespace: t.namespace,
      labelSelector: `case=${name}`,
      fieldSelector: 'status.phase=Succeeded',
    });
    expect(succeeded.items).toHaveLength(1);
    const active = await t.sa.core.listNamespacedPod({
      namespace: t.namespace,
      labelSelector: `case=${name}`,
      fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
    });
    expect(active.items).toHaveLength(0);
  });

  it('400 BadRequest for an unsupported field selector', async () => {
    const e = await expectApiError(
      t.sa.core.listNamespacedPod({ namespace: t.namespace, fieldSelector: 'spec.containers=x' }),
    );
    expect(e.code).toBe(400);
    expect(e.status).toMatchObject({
      reason: 'BadRequest',
      message: 'field label not supported: spec.containers',
    });
  });

  it('400 BadRequest for a malformed label selector', async () => {
    const e = await expectApiError(
      t.sa.core.listNamespacedPod({ namespace: t.namespace, labelSelector: 'a in (b' }),
    );
    expect(e.code).toBe(400);
    expect(e.status!.reason).toBe('BadRequest');
  });

  it('200 with an empty list for a namespace that does not exist', async () => {
    const list = await t.admin.core.listNamespacedPod({ namespace: uniq('ghost') });
    expect(list.items).toEqual([]);
  });

  it('pages with limit and continue', async () => {
    const run = uniq('page');
    for (let i = 0; i < 5; i++)
      await t.sa.core.createNamespacedPod({
        namespace: t.namespace,
        body: plain(`${run}-${i}`, { page: run }),
      });
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await t.sa.core.listNamespacedPod({
        namespace: t.namespace,
        labelSelector: `page=${run}`,
        limit: 2,
        _continue: cont,
      });
      seen.push(...page.items.map((p) => p.metadata!.name!));
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont && pages < 10);
    // At most `limit` per page (a filtered page may hold fewer), all items once, in key order.
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `${run}-${i}`));
  });
});

interface Seen {
  type: string;
  name?: string;
  phase?: string;
  code?: number;
  reason?: string;
  rv?: string;
}

function collect(
  kcWatch: Watch,
  path: string,
  query: Record<string, string | number | boolean | undefined>,
) {
  const events: Seen[] = [];
  let done: unknown = 'open';
  const started = kcWatch.watch(
    path,
    query,
    (type, obj: Record<string, unknown>) => {
      const meta = (obj.metadata ?? {}) as { name?: string; resourceVersion?: string };
      events.push({
        type,
        name: meta.name,
        phase: (obj.status as { phase?: string } | undefined)?.phase,
        code: obj.code as number | undefined,
        reason: obj.reason as string | undefined,
        rv: meta.resourceVersion,
      });
    },
    (err) => {
      done = err;
    },
  );
  return { events, started, isDone: () => done !== 'open', doneWith: () => done };
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watch', () => {
  const timeout = ON_EMULATOR ? 10_000 : 120_000;

  it('streams ADDED, MODIFIED and DELETED from a resourceVersion', async () => {
    const list = await t.sa.core.listNamespacedPod({ namespace: t.namespace });
    const name = uniq('watched');
    const w = collect(new Watch(t.sa.kc), `/api/v1/namespaces/${t.namespace}/pods`, {
      resourceVersion: list.metadata!.resourceVersion,
      fieldSelector: `metadata.name=${name}`,
    });
    const controller = await w.started;
    try {
      await t.sa.core.createNamespacedPod({ namespace: t.namespace, body: busyboxPod(name) });
      await until(() => w.events.some((e) => e.phase === 'Succeeded'), timeout);
      await t.sa.core.deleteNamespacedPod({ name, namespace: t.namespace });
      await until(() => w.events.some((e) => e.type === 'DELETED'), timeout);
    } finally {
      controller.abort();
    }
    expect(w.events[0]).toMatchObject({ type: 'ADDED', name, phase: 'Pending' });
    expect(w.events.filter((e) => e.type === 'MODIFIED').length).toBeGreaterThan(0);
    expect(w.events[w.events.length - 1]).toMatchObject({ type: 'DELETED', name });
    const rvs = w.events.map((e) => Number(e.rv));
    expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
  });

  it('resumes from the last seen resourceVersion without losing or repeating events', async () => {
    const run = uniq('resume');
    const list = await t.sa.core.listNamespacedPod({
      namespace: t.namespace,
      labelSelector: `resume=${run}`,
    });
    const first = collect(new Watch(t.sa.kc), `/api/v1/namespaces/${t.namespace}/pods`, {
      resourceVersion: list.metadata!.resourceVersion,
      labelSelector: `resume=${run}`,
    });
    const c1 = await first.started;
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: plain(`${run}-1`, { resume: run }),
    });
    await until(() => first.events.some((e) => e.name === `${run}-1`), timeout);
    c1.abort();
    const lastRv = first.events[first.events.length - 1]!.rv!;
    // Changes while disconnected.
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: plain(`${run}-2`, { resume: run }),
    });
    await t.sa.core.deleteNamespacedPod({
      name: `${run}-1`,
      namespace: t.namespace,
      gracePeriodSeconds: 0,
    });
    const second = collect(new Watch(t.sa.kc), `/api/v1/namespaces/${t.namespace}/pods`, {
      resourceVersion: lastRv,
      labelSelector: `resume=${run}`,
    });
    const c2 = await second.started;
    try {
      await until(
        () =>
          second.events.some((e) => e.type === 'ADDED' && e.name === `${run}-2`) &&
          second.events.some((e) => e.type === 'DELETED'),
        timeout,
      );
    } finally {
      c2.abort();
    }
    expect(second.events.some((e) => e.type === 'ADDED' && e.name === `${run}-1`)).toBe(false);
    expect(second.events.find((e) => e.type === 'DELETED')!.name).toBe(`${run}-1`);
    for (const e of second.events) expect(Number(e.rv)).toBeGreaterThan(Number(lastRv));
  });

  it('answers a too old resourceVersion with HTTP 200 and an ERROR event carrying 410 Expired', async () => {
    const w = collect(new Watch(t.sa.kc), `/api/v1/namespaces/${t.namespace}/pods`, {
      resourceVersion: '1',
    });
    const controller = await w.started;
    try {
      await until(() => w.isDone(), timeout);
    } finally {
      controller.abort();
    }
    // client-node turns non-200 answers into done(err with statusCode); a 200 stream ends with done(null).
    expect(w.doneWith()).toBeNull();
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', code: 410, reason: 'Expired' });
  });

  it('sends the current objects as ADDED when no resourceVersion is given', async () => {
    const name = uniq('initial');
    await t.sa.core.createNamespacedPod({
      namespace: t.namespace,
      body: plain(name, { initial: name }),
    });
    const w = collect(new Watch(t.sa.kc), `/api/v1/namespaces/${t.namespace}/pods`, {
      labelSelector: `initial=${name}`,
    });
    const controller = await w.started;
    try {
      await until(() => w.events.length > 0, timeout);
    } finally {
      controller.abort();
    }
    expect(w.events[0]).toMatchObject({ type: 'ADDED', name });
  });
});
