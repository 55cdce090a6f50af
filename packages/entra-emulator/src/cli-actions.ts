import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CliUsageError, onStopSignals } from './cli-support.js';
import { isObject } from './jwt.js';
import { startEntraEmulator, type EntraEmulatorOptions } from './index.js';

export interface EntraEmulatorFlags {
  port?: string;
  host?: string;
  tenantId?: string;
  config?: string;
  caFile?: string;
}

const CONFIG_KEYS = [
  'tenantId',
  'applications',
  'managedIdentities',
  'trustedIssuers',
  'tokenLifetimeSeconds',
  'clockSkewSeconds',
  'identityHeader',
];

export async function runEntraEmulator(flags: EntraEmulatorFlags): Promise<void> {
  const options = resolveOptions(flags);
  const signals = onStopSignals();
  let emulator;
  try {
    emulator = await startEntraEmulator(options);
  } catch (error) {
    signals.dispose();
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new CliUsageError(`cannot listen on port ${options.port}: ${code}`);
    }
    throw error;
  }
  process.stdout.write(
    `AZURE_AUTHORITY_HOST=${emulator.authorityHost}\n` +
      `AZURE_TENANT_ID=${emulator.tenantId}\n` +
      `NODE_EXTRA_CA_CERTS=${emulator.caFile}\n` +
      `IDENTITY_ENDPOINT=${emulator.managedIdentityEnv.IDENTITY_ENDPOINT}\n` +
      `IDENTITY_HEADER=${emulator.managedIdentityEnv.IDENTITY_HEADER}\n`,
  );
  process.stderr.write(
    `entra-emulator: tokens from ${emulator.issuer} (discovery ${emulator.discoveryUrl}); ` +
      `federated tokens from ${emulator.federationIssuer}. Ctrl-C stops.\n`,
  );
  await signals.stopped;
  await emulator.close();
  signals.dispose();
}

function resolveOptions(flags: EntraEmulatorFlags): EntraEmulatorOptions & { port: number } {
  const fromFile = flags.config === undefined ? {} : readConfig(flags.config);
  const port = flags.port === undefined ? 8443 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliUsageError(`--port must be a whole number from 0 to 65535, got "${flags.port}"`);
  }
  return {
    ...fromFile,
    port,
    host: flags.host ?? '127.0.0.1',
    ...(flags.tenantId !== undefined && { tenantId: flags.tenantId }),
    caFile: flags.caFile ?? join(tmpdir(), 'podbus-entra-emulator', 'ca.pem'),
  };
}

function readConfig(file: string): EntraEmulatorOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliUsageError(
      `--config ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isObject(parsed)) throw new CliUsageError(`--config ${file}: must hold a JSON object`);
  const unknown = Object.keys(parsed).filter((k) => !CONFIG_KEYS.includes(k));
  if (unknown.length > 0) {
    throw new CliUsageError(
      `--config ${file}: unknown key(s) ${unknown.join(', ')}; expected ${CONFIG_KEYS.join(', ')}`,
    );
  }
  return parsed as EntraEmulatorOptions;
}
