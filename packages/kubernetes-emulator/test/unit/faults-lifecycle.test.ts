import { describe, expect, it } from '@jest/globals';

import { FaultConfigError, FaultState, parseFaultConfig } from '../../src/faults.js';
import { containerOutcome, invalidImageMessage, normalizeImage } from '../../src/images.js';
import { SeededRandom } from '../../src/random.js';
import { EventHistory, StoredObject, WatchEvent } from '../../src/store.js';

describe('fault configuration', () => {
  it('validates input and names the offending key', () => {
    expect(
      parseFaultConfig({ latencyMs: 5, errorRate: { create: { rate: 0.5, status: 503 } } }),
    ).toEqual({
      latencyMs: 5,
      errorRate: { create: { rate: 0.5, status: 503 } },
    });
    expect(() => parseFaultConfig({ latencyMs: -1 })).toThrow(
      'latencyMs must be a non-negative number',
    );
    expect(() => parseFaultConfig({ errorRate: { create: { rate: 0.5, status: 404 } } })).toThrow(
      'errorRate.create.status must be one of 500, 503, 504',
    );
    expect(() => parseFaultConfig({ errorRate: { frobnicate: { rate: 1, status: 500 } } })).toThrow(
      FaultConfigError,
    );
    expect(() => parseFaultConfig({ throttle: { retryAfterSeconds: 0 } })).toThrow(
      /retryAfterSeconds/,
    );
  });

  it('validates ambiguous writes, resource filters, throttle rates and quota-full periods', () => {
    expect(
      parseFaultConfig({
        ambiguousWrite: {
          create: { rate: 0.1, outcome: 'reset', resources: ['pods'] },
          '*': { rate: 0.05, outcome: 'delay', delayMs: 15000 },
          delete: { rate: 1, outcome: 504 },
        },
        errorRate: { '*': { rate: 0.05, status: 500, resources: ['pods'] } },
        throttle: { retryAfterSeconds: 2, rate: 0.1, count: 20 },
        quotaFull: { quota: 'challenges' },
      }),
    ).toEqual({
      ambiguousWrite: {
        create: { rate: 0.1, outcome: 'reset', resources: ['pods'] },
        '*': { rate: 0.05, outcome: 'delay', delayMs: 15000 },
        delete: { rate: 1, outcome: 504 },
      },
      errorRate: { '*': { rate: 0.05, status: 500, resources: ['pods'] } },
      throttle: { retryAfterSeconds: 2, rate: 0.1, count: 20 },
      quotaFull: { quota: 'challenges' },
    });
    expect(() => parseFaultConfig({ ambiguousWrite: { get: { rate: 1, outcome: 500 } } })).toThrow(
      'ambiguousWrite: unknown verb "get" (known: create, update, patch, delete, *)',
    );
    expect(() =>
      parseFaultConfig({ ambiguousWrite: { create: { rate: 1, outcome: 503 } } }),
    ).toThrow('ambiguousWrite.create.outcome must be one of "reset", "delay", 500, 504');
    expect(() =>
      parseFaultConfig({ ambiguousWrite: { create: { rate: 1, outcome: 'delay' } } }),
    ).toThrow('ambiguousWrite.create.delayMs must be a non-negative number, got undefined');
    expect(() =>
      parseFaultConfig({ ambiguousWrite: { create: { rate: 1, outcome: 500, delayMs: 5 } } }),
    ).toThrow('ambiguousWrite.create.delayMs is only valid with outcome "delay"');
    expect(() =>
      parseFaultConfig({ errorRate: { create: { rate: 1, status: 500, resources: [] } } }),
    ).toThrow('errorRate.create.resources must be a non-empty list of resource names');
    expect(() => parseFaultConfig({ throttle: { retryAfterSeconds: 1, rate: 2 } })).toThrow(
      'throttle.rate must be between 0 and 1',
    );
    expect(() => parseFaultConfig({ quotaFull: { quota: '' } })).toThrow(
      'quotaFull.quota must be a non-empty string',
    );
  });

  it('decides ambiguous writes for write verbs and listed resources only', async () => {
    const f = new FaultState(new SeededRandom(1), { setDown: async () => undefined });
    await f.set({ ambiguousWrite: { '*': { rate: 1, outcome: 'reset', resources: ['pods'] } } });
    const pods = (verb: string) => ({ verb, resource: 'pods', subresource: '' });
    expect(f.ambiguousWrite(pods('create'))?.outcome).toBe('reset');
    expect(f.ambiguousWrite(pods('deletecollection'))?.outcome).toBe('reset');
    expect(f.ambiguousWrite(pods('get'))).toBeUndefined();
    expect(f.ambiguousWrite(pods('watch'))).toBeUndefined();
    expect(
      f.ambiguousWrite({ verb: 'create', resource: 'configmaps', subresource: '' }),
    ).toBeUndefined();
    expect(
      f.ambiguousWrite({ verb: 'update', resource: 'pods', subresource: 'status' }),
    ).toBeUndefined();
    await f.set({
      ambiguousWrite: {
        create: [
          { rate: 0, outcome: 'reset' },
          { rate: 1, outcome: 504 },
        ],
      },
    });
    expect(f.ambiguousWrite(pods('create'))?.outcome).toBe(504);
    expect(() => parseFaultConfig({ ambiguousWrite: { create: [] } })).toThrow(
      'ambiguousWrite.create must not be an empty list',
    );
    expect(() =>
      parseFaultConfig({ ambiguousWrite: { create: [{ rate: 1, outcome: 'nope' }] } }),
    ).toThrow('ambiguousWrite.create[0].outcome must be one of');
    f.dispose();
  });

  it('merges with set, null clears a key, throttle count runs out, verbs fall back to *', async () => {
    const downs: boolean[] = [];
    const f = new FaultState(new SeededRandom(1), { setDown: async (d) => void downs.push(d) });
    await f.set({
      throttle: { retryAfterSeconds: 3, count: 2 },
      errorRate: { '*': { rate: 1, status: 500 } },
    });
    expect(f.takeThrottle()).toBe(3);
    expect(f.takeThrottle()).toBe(3);
    expect(f.takeThrottle()).toBeUndefined();
    expect(f.injectedError('list')).toBe(500);
    await f.set({ errorRate: null });
    expect(f.injectedError('list')).toBeUndefined();
    await f.set({ down: true });
    await f.clear();
    expect(downs).toEqual([true, false]);
    f.dispose();
  });

  it('clearAfterMs removes every fault after the delay', async () => {
    const f = new FaultState(new SeededRandom(1), { setDown: async () => undefined });
    await f.set({ latencyMs: 100, clearAfterMs: 30 });
    expect(f.get().latencyMs).toBe(100);
    await new Promise((r) => setTimeout(r, 80));
    expect(f.get()).toEqual({});
  });
});

describe('image outcome conventions', () => {
  const run = 1000;
  it.each([
    ['busybox', { exitCode: 0, runMs: run, terminatedReason: 'Completed' }],
    ['registry.example/app:exit-3', { exitCode: 3, runMs: run, terminatedReason: 'Error' }],
    ['example/exit-12-tool:1', { exitCode: 12, runMs: run, terminatedReason: 'Error' }],
    ['example/oomkilled', { exitCode: 137, runMs: run, terminatedReason: 'OOMKilled' }],
    ['busybox:sleep-5', { exitCode: 0, runMs: 5000, terminatedReason: 'Completed' }],
    ['busybox:sleep-infinity', { exitCode: 0, runMs: undefined, terminatedReason: 'Completed' }],
    ['example/myexit-3', { exitCode: 0, runMs: run, terminatedReason: 'Completed' }],
  ])('%s', (image, expected) => {
    expect(containerOutcome({ image }, run)).toEqual(expected);
  });

  it('env overrides the image reference', () => {
    expect(
      containerOutcome(
        {
          image: 'busybox:exit-3',
          env: [
            { name: 'PODBUS_EMULATOR_EXIT_CODE', value: '4' },
            { name: 'PODBUS_EMULATOR_RUN_MS', value: '10' },
          ],
        },
        run,
      ),
    ).toEqual({ exitCode: 4, runMs: 10, terminatedReason: 'Error' });
  });

  it('unreachable.example registry fails the pull', () => {
    expect(containerOutcome({ image: 'unreachable.example/x:1' }, run).pullError).toBe(
      'ErrImagePull',
    );
    expect(containerOutcome({ image: 'unreachable.example:5000/x' }, run).pullError).toBe(
      'ErrImagePull',
    );
  });

  it.each([
    [
      'Busybox:1.36',
      'invalid reference format: repository name (library/Busybox) must be lowercase',
    ],
    ['org/App', 'invalid reference format: repository name (org/App) must be lowercase'],
    ['busybox:1.36 ', 'invalid reference format'],
    ['busy box', 'invalid reference format'],
    ['busybox::1', 'invalid reference format'],
    [
      'a'.repeat(64),
      `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`,
    ],
    ['busybox@sha256:abc', 'invalid reference format'],
    [`busybox@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
    [`busybox@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    [`busybox@sha256:${'a'.repeat(63)}0a`, 'invalid checksum digest length'],
  ])('the kubelet refuses %j: InvalidImageName', (image, why) => {
    expect(containerOutcome({ image }, run).invalidImage).toBe(
      `Failed to apply default image tag ${JSON.stringify(image)}: couldn't parse image name ${JSON.stringify(image)}: ${why}`,
    );
  });

  it.each([
    'busybox',
    'busybox:1.36',
    'Registry.Example:5000/team/app:V1',
    'localhost/app',
    '[::1]:5000/app:1',
    `ghcr.io/org/app@sha256:${'a'.repeat(64)}`,
    'org/app_name--x:tag.1',
  ])('the kubelet accepts %j', (image) => {
    expect(invalidImageMessage(image)).toBeUndefined();
  });

  it('normalizes image references as containerd reports them', () => {
    expect(normalizeImage('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeImage('org/app:1')).toBe('docker.io/org/app:1');
    expect(normalizeImage('ghcr.io/org/app')).toBe('ghcr.io/org/app:latest');
    expect(normalizeImage('localhost:5000/app@sha256:abc')).toBe('localhost:5000/app@sha256:abc');
  });
});

describe('watch history', () => {
  const ev = (rv: number): WatchEvent =>
    new WatchEvent(
      'ADDED',
      new StoredObject('ns', `p${rv}`, 'u', rv, undefined, {}, '{}'),
      undefined,
      '{"kind":"Pod",',
    );

  it('returns events after a version and expires versions that fell out', () => {
    const h = new EventHistory(3);
    h.reset(10);
    expect(h.since(9)).toBeUndefined();
    expect(h.since(10)).toEqual([]);
    for (const rv of [11, 12, 13, 14]) h.push(ev(rv));
    expect(h.since(10)).toBeUndefined();
    expect(h.since(11)!.map((e) => e.rv)).toEqual([12, 13, 14]);
    expect(h.since(13)!.map((e) => e.rv)).toEqual([14]);
    expect(h.since(14)).toEqual([]);
  });
});

describe('seeded randomness', () => {
  it('repeats for a seed and differs across seeds', () => {
    const a = new SeededRandom(5);
    const b = new SeededRandom(5);
    const seq = (r: SeededRandom): string[] => [r.uuid(), r.uuid(), String(r.next())];
    expect(seq(a)).toEqual(seq(b));
    expect(new SeededRandom(5).uuid()).not.toBe(new SeededRandom(6).uuid());
    expect(new SeededRandom(1).uuid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
