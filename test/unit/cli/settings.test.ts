import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

import { ConfigError } from '../../../src/config/config-error.js';
import {
  loadClusterSettings,
  loadServiceBusSettings,
  resolveClustersSource,
} from '../../../src/config/load-config.js';
import { runCli } from './support/run-cli.js';

const CS =
  'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0a2V5';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podbus-cli-settings-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function problems(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadServiceBusSettings: just serviceBus.* (no allowlist, no clusters needed)', () => {
  test('file < environment < --queue', async () => {
    const file = join(dir, 'podbus.yaml');
    await writeFile(
      file,
      `serviceBus:\n  connectionString: "${CS}"\n  queueName: from-file\npolicy:\n  allowedImages: []\n`,
    );
    expect(loadServiceBusSettings({ file, env: {} })).toEqual({
      connectionString: CS,
      queueName: 'from-file',
      maxConcurrentCalls: 8,
      maxAutoLockRenewalDurationMs: 1_800_000,
    });
    expect(
      loadServiceBusSettings({ file, env: { PODBUS_SERVICE_BUS_QUEUE_NAME: 'from-env' } })
        .queueName,
    ).toBe('from-env');
    expect(
      loadServiceBusSettings({
        file,
        env: { PODBUS_SERVICE_BUS_QUEUE_NAME: 'from-env' },
        overrides: { 'serviceBus.queueName': 'flag' },
      }).queueName,
    ).toBe('flag');
    expect(
      loadServiceBusSettings({ env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: CS } }),
    ).toMatchObject({ connectionString: CS, queueName: 'challenges' });
  });

  test('no way to connect: names both ways and their variables, and that a secret has no flag', () => {
    const text = problems(() => loadServiceBusSettings({ env: {} }));
    expect(text).toContain('serviceBus: needs connectionString or fullyQualifiedNamespace');
    expect(text).toContain('set PODBUS_SERVICE_BUS_CONNECTION_STRING');
    expect(text).toContain('a secret has no command-line flag');
    expect(text).toContain(
      'PODBUS_SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE with PODBUS_SERVICE_BUS_CREDENTIAL',
    );
  });

  test('a malformed connection string is described, never echoed', () => {
    const text = problems(() =>
      loadServiceBusSettings({
        env: {
          PODBUS_SERVICE_BUS_CONNECTION_STRING: 'Endpoint=http://x;SharedAccessKey=topsecret',
        },
      }),
    );
    expect(text).toContain('its Endpoint must start with sb://');
    expect(text).toContain('(set from PODBUS_SERVICE_BUS_CONNECTION_STRING)');
    expect(text).not.toContain('topsecret');
  });

  test('EntityPath must match the queue; typos in the file are reported', async () => {
    expect(
      problems(() =>
        loadServiceBusSettings({
          env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: `${CS};EntityPath=other` },
        }),
      ),
    ).toContain('is "challenges" but the connection string is scoped to EntityPath=other');
    const file = join(dir, 'typo.yaml');
    await writeFile(file, `servicebus:\n  queueName: x\nserviceBus:\n  queuename: y\n`);
    const text = problems(() =>
      loadServiceBusSettings({ file, env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: CS } }),
    );
    expect(text).toContain('servicebus: is not a podbus option (did you mean serviceBus?)');
    expect(text).toContain(
      'serviceBus.queuename: is not a podbus option (did you mean serviceBus.queueName?)',
    );
    expect(problems(() => loadServiceBusSettings({ file: join(dir, 'none.yaml') }))).toContain(
      '--config: cannot read',
    );
  });
});

describe('cluster settings: just clustersFile / clusters', () => {
  test('--clusters-file wins; else the environment; else the config file (relative to it)', async () => {
    const config = join(dir, 'cfg', 'podbus.yaml');
    await writeFile(join(dir, 'podbus-clusters.yaml'), '');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'cfg'), { recursive: true }));
    await writeFile(config, 'clustersFile: ../clusters.yaml\n');
    expect(
      resolveClustersSource({
        overrides: { clustersFile: 'x.yaml' },
        file: config,
        env: {},
        cwd: dir,
      }),
    ).toEqual({
      kind: 'file',
      file: join(dir, 'x.yaml'),
    });
    expect(resolveClustersSource({ file: config, env: {} })).toEqual({
      kind: 'file',
      file: join(dir, 'clusters.yaml'),
    });
    expect(resolveClustersSource({ env: { PODBUS_CLUSTERS_FILE: 'e.yaml' }, cwd: dir })).toEqual({
      kind: 'file',
      file: join(dir, 'e.yaml'),
    });
    expect(resolveClustersSource({ env: {} })).toEqual({ kind: 'none' });
  });

  test('entries are validated as the worker validates them', async () => {
    const file = join(dir, 'clusters.yaml');
    await writeFile(join(dir, 'tok'), 'token\n');
    await writeFile(
      file,
      '- name: east\n  server: https://east\n  tokenFile: tok\n  namespace: ctf\n',
    );
    const settings = loadClusterSettings({ overrides: { clustersFile: file }, env: {} });
    expect(settings.clustersFile).toBe(file);
    expect(settings.entries[0]).toMatchObject({
      name: 'east',
      tokenFile: join(dir, 'tok'),
      namespace: 'ctf',
      weight: 1,
    });
    await writeFile(file, '- name: East\n  server: https://east\n  tokenFile: missing\n');
    const text = problems(() =>
      loadClusterSettings({ overrides: { clustersFile: file }, env: {} }),
    );
    expect(text).toContain('clusters[0].name');
    expect(text).toContain('clusters[0].tokenFile');
    expect(problems(() => loadClusterSettings({ env: {} }))).toContain(
      'no clusters are configured',
    );
  });
});

describe('each command passes its flags as the highest-precedence source, named in problems', () => {
  test('podbus run --strategy, enqueue --queue: the flag, not "a command-line override"', async () => {
    const run = await runCli(['run', '--strategy', 'fastest'], { env: {} });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'selection.strategy: must be one of: round-robin, weighted, least-loaded, hash (got "fastest" from --strategy)',
    );
    const enqueue = await runCli(
      ['enqueue', '--challenge', 'c', '--image', 'nginx', '--queue', ''],
      {
        env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: CS },
      },
    );
    expect(enqueue.code).toBe(2);
    expect(enqueue.stderr).toContain('serviceBus.queueName: must not be empty (set from --queue)');
  });

  test('clusters verify: an empty --clusters-file, and no clusters anywhere', async () => {
    const empty = await runCli(['clusters', 'verify', '--clusters-file', ''], { env: {} });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--clusters-file needs a file path');
    const none = await runCli(['clusters', 'verify'], { env: {} });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'clusters: no clusters are configured. Fix: set clustersFile to a YAML or JSON list of clusters (PODBUS_CLUSTERS_FILE or --clusters-file), or list them under clusters',
    );
  });
});
