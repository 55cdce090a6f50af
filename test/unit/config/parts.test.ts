import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';

import { ConfigError } from '../../../src/config/config-error.js';
import {
  loadClusterSettings,
  loadConfig,
  loadServiceBusSettings,
  resolveClustersSource,
} from '../../../src/config/load-config.js';
import type { ConfigSources } from '../../../src/config/sources.js';
import { CONNECTION_STRING, minimalEnv, SAS_KEY, scratch } from './config-fixture.js';

/**
 * Every command gathers the same sources with the same precedence and compiles the part it
 * needs: `podbus run` the whole Config, `enqueue`/`dlq` the serviceBus section, `clusters` the
 * clusters. A problem one command reports reads the same in every command that reports it.
 */
const COMMANDS = {
  run: loadConfig,
  'enqueue/dlq': loadServiceBusSettings,
  'clusters add': resolveClustersSource,
  'clusters verify': loadClusterSettings,
} as const;

function problemsOf(load: (sources: ConfigSources) => unknown, sources: ConfigSources): string[] {
  try {
    load(sources);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n').slice(1);
    throw error;
  }
  return [];
}

/** The lines each command prints for the same sources ([] when it accepts them). */
function perCommand(sources: ConfigSources): Record<keyof typeof COMMANDS, string[]> {
  return {
    run: problemsOf(COMMANDS.run, sources),
    'enqueue/dlq': problemsOf(COMMANDS['enqueue/dlq'], sources),
    'clusters add': problemsOf(COMMANDS['clusters add'], sources),
    'clusters verify': problemsOf(COMMANDS['clusters verify'], sources),
  };
}

/** A config file with inline clusters, a clusters file, and the environment without clusters. */
function clustersSetup() {
  const s = scratch();
  const inline = `clusters:\n  - name: inline\n    server: https://inline\n    tokenFile: token\n`;
  const file = s.write('podbus.yaml', inline);
  const fromEnv = s.write(
    'env-clusters.yaml',
    '- name: from-env\n  server: https://e\n  tokenFile: token\n',
  );
  const fromFlag = s.write(
    'flag-clusters.yaml',
    '- name: from-flag\n  server: https://f\n  tokenFile: token\n',
  );
  const env = minimalEnv(s.tokenFile);
  delete env.PODBUS_CLUSTERS;
  return { s, file, fromEnv, fromFlag, env };
}

describe('clustersFile and clusters: one precedence for the pair, in every command', () => {
  it('PODBUS_CLUSTERS_FILE in the environment replaces clusters inline in the config file', () => {
    const { s, file, fromEnv, env } = clustersSetup();
    const sources = { file, env: { ...env, PODBUS_CLUSTERS_FILE: fromEnv }, cwd: s.dir };
    expect(loadConfig(sources).clusters.map((c) => c.name)).toEqual(['from-env']);
    expect(loadConfig(sources).clustersFile).toBe(fromEnv);
    expect(loadClusterSettings(sources).entries.map((c) => c.name)).toEqual(['from-env']);
    expect(resolveClustersSource(sources)).toEqual({ kind: 'file', file: fromEnv });
  });

  it('--clusters-file replaces both the environment and the config file', () => {
    const { s, file, fromEnv, fromFlag, env } = clustersSetup();
    const sources: ConfigSources = {
      file,
      env: { ...env, PODBUS_CLUSTERS_FILE: fromEnv, PODBUS_CLUSTERS: '[{"name":"x"}]' },
      overrides: { clustersFile: 'flag-clusters.yaml' },
      flags: { clustersFile: '--clusters-file' },
      cwd: s.dir,
    };
    expect(loadConfig(sources).clusters.map((c) => c.name)).toEqual(['from-flag']);
    expect(loadClusterSettings(sources)).toMatchObject({ clustersFile: fromFlag });
    expect(resolveClustersSource(sources)).toEqual({ kind: 'file', file: fromFlag });
  });

  it('PODBUS_CLUSTERS replaces a clustersFile in the config file, relative paths from cwd', () => {
    const { s, env } = clustersSetup();
    const file = s.write('conf.yaml', 'clustersFile: env-clusters.yaml\n');
    const inline = JSON.stringify([
      { name: 'env-inline', server: 'https://i', tokenFile: 'token' },
    ]);
    const sources = { file, env: { ...env, PODBUS_CLUSTERS: inline }, cwd: s.dir };
    expect(loadConfig(sources)).toMatchObject({
      clustersFile: '',
      clusters: [{ name: 'env-inline' }],
    });
    expect(loadConfig(sources).clusters[0]?.tokenFile).toBe(s.tokenFile);
    expect(resolveClustersSource(sources)).toMatchObject({ kind: 'inline', baseDir: s.dir });
  });

  it('both set by the same source: the same problem, named the same way, wherever it is hit', () => {
    const { s, fromEnv, env } = clustersSetup();
    const file = s.write(
      'both.yaml',
      `clustersFile: env-clusters.yaml\nclusters:\n  - name: a\n    server: https://a\n    tokenFile: token\n`,
    );
    const inFile = `  - clustersFile: and clusters are both set in ${file}; use one`;
    expect(perCommand({ file, env, cwd: s.dir })).toEqual({
      run: [inFile],
      'enqueue/dlq': [],
      'clusters add': [inFile],
      'clusters verify': [inFile],
    });
    const bothEnv = { ...env, PODBUS_CLUSTERS_FILE: fromEnv, PODBUS_CLUSTERS: '[{"name":"a"}]' };
    const inEnv =
      '  - clustersFile: and clusters are both set (clustersFile from PODBUS_CLUSTERS_FILE, clusters from PODBUS_CLUSTERS); use one';
    expect(perCommand({ env: bothEnv, cwd: s.dir })).toEqual({
      run: [inEnv],
      'enqueue/dlq': [],
      'clusters add': [inEnv],
      'clusters verify': [inEnv],
    });
  });

  it('an empty value from a later source unsets: the clusters file of the config file is not used', () => {
    const { s, env } = clustersSetup();
    const file = s.write('conf.yaml', 'clustersFile: env-clusters.yaml\n');
    const sources = { file, env: { ...env, PODBUS_CLUSTERS_FILE: '' }, cwd: s.dir };
    expect(resolveClustersSource(sources)).toEqual({ kind: 'none' });
    expect(
      problemsOf(loadClusterSettings, { ...sources, flags: { clustersFile: '--clusters-file' } }),
    ).toEqual([
      '  - clusters: no clusters are configured. Fix: set clustersFile to a YAML or JSON list of clusters (PODBUS_CLUSTERS_FILE or --clusters-file), or list them under clusters',
    ]);
  });
});

describe('the serviceBus section: the same problems for podbus run and the queue commands', () => {
  it('a misspelt key under serviceBus, and a misspelt section, for each command', () => {
    const { s, fromEnv, env } = clustersSetup();
    const file = s.write(
      'podbus.yaml',
      `serviceBus:\n  queue: x\nservicebus: {}\nclustersFile: ${fromEnv}\n`,
    );
    const misspeltKey = `  - serviceBus.queue: is not a podbus option (did you mean serviceBus.queueName?) (in ${file})`;
    const misspeltSection = `  - servicebus: is not a podbus option (did you mean serviceBus?) (in ${file})`;
    expect(perCommand({ file, env })).toEqual({
      run: [misspeltKey, misspeltSection],
      'enqueue/dlq': [misspeltKey, misspeltSection],
      // Not their section: the clusters commands report only the misspelt section name.
      'clusters add': [misspeltSection],
      'clusters verify': [misspeltSection],
    });
  });

  it('every option of the section is validated, from any source, as the worker validates it', () => {
    const s = scratch();
    const file = s.write('podbus.yaml', 'serviceBus:\n  maxAutoLockRenewalDurationMs: soon\n');
    const env = {
      PODBUS_SERVICE_BUS_CONNECTION_STRING: CONNECTION_STRING,
      PODBUS_SERVICE_BUS_MAX_CONCURRENT_CALLS: '0',
    };
    expect(problemsOf(loadServiceBusSettings, { file, env })).toEqual([
      '  - serviceBus.maxConcurrentCalls: must be a whole number from 1 to 1000 (got 0 from PODBUS_SERVICE_BUS_MAX_CONCURRENT_CALLS)',
      `  - serviceBus.maxAutoLockRenewalDurationMs: must be a whole number of at least 1 (got "soon" in ${file})`,
    ]);
  });

  it('a missing or malformed connection string reads the same, and is never echoed', () => {
    const s = scratch();
    const missing = problemsOf(loadServiceBusSettings, { env: {} });
    expect(missing).toEqual([
      '  - serviceBus: needs connectionString or fullyQualifiedNamespace. Fix: set PODBUS_SERVICE_BUS_CONNECTION_STRING (a shared access key, e.g. from a Kubernetes Secret; a secret has no command-line flag), or PODBUS_SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE with PODBUS_SERVICE_BUS_CREDENTIAL (Microsoft Entra ID: workload-identity, managed-identity, azure-cli, default), or the same options in the file given with --config',
    ]);
    expect(problemsOf(loadConfig, { env: {} })[0]).toBe(missing[0]);

    const file = s.write(
      'podbus.yaml',
      `serviceBus:\n  connectionString: "SharedAccessKey=${SAS_KEY}"\n`,
    );
    const malformed = `  - serviceBus.connectionString: is not a Service Bus connection string: it has no Endpoint=sb://<namespace>/ member (set in ${file})`;
    expect(problemsOf(loadServiceBusSettings, { file, env: {} })).toEqual([malformed]);
    expect(
      problemsOf(loadConfig, { file, env: minimalEnv(s.tokenFile, {}) }).join('\n'),
    ).not.toContain(SAS_KEY);
    const empty = problemsOf(loadServiceBusSettings, {
      env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: ' ' },
    });
    expect(empty[0]).toMatch(
      /^ {2}- serviceBus: needs connectionString or fullyQualifiedNamespace \(connectionString set from PODBUS_SERVICE_BUS_CONNECTION_STRING, but empty\)\. Fix: /,
    );
  });

  it('a value from a flag names the flag', () => {
    const sources: ConfigSources = {
      env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: CONNECTION_STRING },
      overrides: { 'serviceBus.queueName': '' },
      flags: { 'serviceBus.queueName': '--queue' },
    };
    const line = '  - serviceBus.queueName: must not be empty (set from --queue)';
    expect(problemsOf(loadServiceBusSettings, sources)).toEqual([line]);
    expect(problemsOf(loadConfig, { ...sources, env: minimalEnv(scratch().tokenFile) })).toEqual([
      line,
    ]);
  });
});

describe('a config file that cannot be used is reported alone, by every command', () => {
  it('missing, or not a mapping', () => {
    const s = scratch();
    const missing = join(s.dir, 'missing.yaml');
    const cannotRead = [`  - --config: cannot read "${missing}": no such file or directory`];
    expect(perCommand({ file: missing, env: {} })).toEqual({
      run: cannotRead,
      'enqueue/dlq': cannotRead,
      'clusters add': cannotRead,
      'clusters verify': cannotRead,
    });
    const list = s.write('list.yaml', '- a\n');
    const notMapping = [
      `  - --config: "${list}" must hold a mapping of sections (serviceBus, policy, ...)`,
    ];
    expect(perCommand({ file: list, env: {} })['enqueue/dlq']).toEqual(notMapping);
    expect(perCommand({ file: list, env: {} })['clusters add']).toEqual(notMapping);
  });
});
