import { request } from 'node:https';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { startKubernetesEmulator } from '../../src/index.js';
import type { EmulatedCluster, KubernetesEmulator } from '../../src/index.js';

/**
 * Property-based fuzzing of request bodies over HTTPS (fast-check): creates, replaces and
 * patches with random bytes, random JSON and YAML, valid objects with one field replaced by
 * anything, and protobuf envelopes with bytes flipped, under every content type the API takes.
 * Whatever the body, the answer is an HTTP response a client can read (a 4xx Status naming the
 * problem, or a success when the body happened to be valid), never a 5xx, a reset or a hang;
 * and after each case the emulator still answers another client.
 */

const NS = 'challenges';
let emulator: KubernetesEmulator;
let cluster: EmulatedCluster;

beforeAll(async () => {
  emulator = await startKubernetesEmulator({ clusters: [{ name: 'fuzz-1' }], seed: 3 });
  cluster = emulator.cluster('fuzz-1');
  const created = await call(
    'POST',
    `/api/v1/namespaces/${NS}/pods`,
    'application/json',
    podJson('target'),
  );
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await emulator?.stop();
});

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** One HTTPS request as the admin; rejects on a reset or after 10 s without an answer. */
function call(method: string, path: string, contentType: string, body: Buffer): Promise<Answer> {
  const url = new URL(path, cluster.server);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: cluster.caPem,
        headers: {
          authorization: `Bearer ${cluster.adminToken}`,
          'content-type': contentType,
          'content-length': body.length,
          accept: 'application/json',
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path} in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The answer is one a client can act on: a success, or a 4xx Status that says why. */
function expectReadableAnswer(answer: Answer): void {
  expect(answer.status).toBeGreaterThanOrEqual(200);
  expect(answer.status).toBeLessThan(500);
  if (answer.status >= 400) {
    const status = JSON.parse(answer.body) as { kind?: string; code?: number; message?: string };
    expect(status).toMatchObject({ kind: 'Status', code: answer.status });
    expect(status.message?.length).toBeGreaterThan(0);
  }
}

async function stillServes(): Promise<void> {
  const version = await call('GET', '/version', 'application/json', Buffer.alloc(0));
  expect(version.status).toBe(200);
}

function podJson(name: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: 'fuzz' } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] },
    }),
  );
}

/** A copy of `value` with the thing at `path` (keys into objects and arrays) replaced. */
function replaceAt(value: unknown, path: readonly string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  if (typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<string, unknown>;
  copy[head!] = replaceAt(copy[head!], rest, replacement);
  return copy;
}

const POD_PATHS = [
  [],
  ['apiVersion'],
  ['kind'],
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'labels'],
  ['metadata', 'labels', 'app'],
  ['spec'],
  ['spec', 'containers'],
  ['spec', 'containers', '0'],
  ['spec', 'containers', '0', 'name'],
  ['spec', 'containers', '0', 'image'],
  ['spec', 'containers', '0', 'resources'],
  ['spec', 'restartPolicy'],
  ['spec', 'activeDeadlineSeconds'],
  ['status'],
];

const mutatedPod = fc
  .tuple(
    fc.constantFrom(...POD_PATHS),
    fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 300 })),
    fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
  )
  .map(([path, value, name]) => {
    const pod = JSON.parse(podJson(`fuzz-${name}`).toString()) as unknown;
    return Buffer.from(JSON.stringify(replaceAt(pod, path, value)));
  });

const anyBytes = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a));
const anyJson = fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? ''));
const truncatedJson = fc
  .tuple(mutatedPod, fc.nat())
  .map(([bytes, cut]) => bytes.subarray(0, cut % (bytes.length + 1)));
const anyYaml = fc
  .string({ unit: 'grapheme-ascii', maxLength: 200 })
  .map((s) => Buffer.from(`apiVersion: v1\nkind: Pod\n${s}`));

const body = fc.oneof(anyBytes, anyJson, truncatedJson, mutatedPod, anyYaml);

/** A protobuf field (wire type 2: length-delimited). */
function field(number: number, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A ConfigMap as `kubectl create configmap` sends it: `k8s\0` + runtime.Unknown. */
function configMapProtobuf(name: string): Buffer {
  const entry = Buffer.concat([field(1, 'key'), field(2, 'value')]);
  const configMap = Buffer.concat([field(1, field(1, name)), field(2, entry)]);
  const typeMeta = Buffer.concat([field(1, 'v1'), field(2, 'ConfigMap')]);
  return Buffer.concat([
    Buffer.from('k8s\u0000', 'latin1'),
    field(1, typeMeta),
    field(2, configMap),
  ]);
}

const mutatedProtobuf = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
    fc.option(fc.nat()),
  )
  .map(([name, flips, cut]) => {
    const bytes = configMapProtobuf(`cm-${name}`);
    for (const [at, xor] of flips) bytes[at % bytes.length]! ^= xor;
    return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });

const CREATE_TYPES = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'text/plain',
  'application/json; charset=utf-8',
];
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

describe('fuzz: request bodies', () => {
  it('a pod create with any body is answered, never with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(...CREATE_TYPES), async (bytes, type) => {
        expectReadableAnswer(await call('POST', `/api/v1/namespaces/${NS}/pods`, type, bytes));
        await stillServes();
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('a replace (PUT) with any body is answered, never with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (bytes) => {
        const path = `/api/v1/namespaces/${NS}/pods/target`;
        expectReadableAnswer(await call('PUT', path, 'application/json', bytes));
        await stillServes();
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('a patch with any body, of any patch type, is answered, never with a 5xx', async () => {
    const patch = fc.oneof(
      body,
      fc
        .array(
          fc.record(
            {
              op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'),
              path: fc.constantFrom(
                '/metadata/labels/x',
                '/spec/containers/0/image',
                '/',
                '',
                '/a/~1b',
                '/spec/containers/-',
              ),
              from: fc.constantFrom('/metadata/labels', '/spec', '/nope'),
              value: fc.jsonValue({ maxDepth: 2 }),
            },
            { requiredKeys: ['op'] },
          ),
          { maxLength: 3 },
        )
        .map((ops) => Buffer.from(JSON.stringify(ops))),
    );
    await fc.assert(
      fc.asyncProperty(patch, fc.constantFrom(...PATCH_TYPES), async (bytes, type) => {
        const path = `/api/v1/namespaces/${NS}/pods/target?fieldManager=fuzz`;
        expectReadableAnswer(await call('PATCH', path, type, bytes));
        await stillServes();
      }),
      {
        numRuns: 300,
        // Found by a random seed: a merge patch leaving a null container was a 500.
        examples: [
          [
            Buffer.from(
              JSON.stringify({
                apiVersion: 'v1',
                kind: 'Pod',
                metadata: { name: 'fuzz-a', labels: { app: 'fuzz' } },
                spec: { restartPolicy: 'Never', containers: [null] },
              }),
            ),
            'application/merge-patch+json',
          ],
        ],
      },
    );
  }, 120_000);

  it('a protobuf body with bytes flipped or cut is answered, never with a 5xx', async () => {
    const path = `/api/v1/namespaces/${NS}/configmaps`;
    const type = 'application/vnd.kubernetes.protobuf';
    // The envelope the mutations start from is one the emulator takes.
    expect((await call('POST', path, type, configMapProtobuf('cm-valid'))).status).toBe(201);
    await fc.assert(
      fc.asyncProperty(mutatedProtobuf, async (bytes) => {
        expectReadableAnswer(await call('POST', path, type, bytes));
        await stillServes();
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('serves pods as before once the fuzzing is over', async () => {
    const target = await call(
      'GET',
      `/api/v1/namespaces/${NS}/pods/target`,
      'application/json',
      Buffer.alloc(0),
    );
    expect(target.status).toBe(200);
    expect(cluster.listPods(NS).length).toBeGreaterThan(0);
  });
});
