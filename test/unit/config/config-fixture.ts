import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { parse, stringify } from 'yaml';

import { ConfigError } from '../../../src/config/config-error.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { ConfigSources } from '../../../src/config/sources.js';

/** A SAS key that must never appear in an error. */
export const SAS_KEY = 'c2VjcmV0LXNhcy1rZXktdGhhdC1tdXN0LW5vdC1sZWFr';
export const CONNECTION_STRING = `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${SAS_KEY}`;
export const CLUSTER_TOKEN = 'inline-cluster-token-that-must-not-leak';

export const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** A scratch directory with a token file and a CA file. */
export function scratch(): {
  dir: string;
  tokenFile: string;
  caFile: string;
  write(name: string, text: string): string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'podbus-config-'));
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  return { dir, tokenFile: write('token', 'file-token\n'), caFile: write('ca.pem', CA_PEM), write };
}

/** The smallest valid environment: connection string, allowlist, one cluster. */
export function minimalEnv(
  tokenFile: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PODBUS_SERVICE_BUS_CONNECTION_STRING: CONNECTION_STRING,
    PODBUS_POLICY_ALLOWED_IMAGES: 'myacr.azurecr.io/challenges/*',
    PODBUS_CLUSTERS: JSON.stringify([
      { name: 'aks-a', server: 'https://a.example:443', tokenFile },
    ]),
    ...extra,
  };
}

/** The ConfigError message loadConfig throws (fails the test when it does not throw). */
export function errorOf(options: ConfigSources): string {
  try {
    loadConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

/** Loads a shipped podbus.yaml and clusters file as the worker would, with stand-in secret files. */
export function loadShippedConfig(podbusYaml: string, clustersYaml: string) {
  const s = scratch();
  const entries = (parse(clustersYaml) as Record<string, string>[]).map((entry) => {
    const moved = { ...entry };
    for (const key of ['tokenFile', 'caFile'] as const) {
      const file = join(s.dir, entry[key]!);
      mkdirSync(dirname(file), { recursive: true });
      s.write(file.slice(s.dir.length + 1), key === 'caFile' ? CA_PEM : 'token');
      moved[key] = file;
    }
    return moved;
  });
  return loadConfig({
    file: s.write('podbus.yaml', podbusYaml),
    env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: CONNECTION_STRING },
    overrides: { clustersFile: s.write('clusters.yaml', stringify(entries)) },
  });
}
