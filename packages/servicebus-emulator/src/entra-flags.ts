import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { CliUsageError } from './cli-support.js';
import type { EntraAuthOptions, EntraIssuerOptions, RoleAssignment } from './entra.js';

/**
 * The command line's way to Entra ID trust: `--entra-config <file>` (a JSON file beside
 * config.json, the in-process `entra` option with `caFile` paths allowed), and for the common
 * case of one issuer the flags `--entra-issuer`, `--entra-discovery-url`, `--entra-ca-file` and
 * `--entra-role <principalId>=<role>[@<queue>]` (repeatable).
 */
export interface EntraFlags {
  entraConfig?: string;
  entraIssuer?: string;
  entraDiscoveryUrl?: string;
  entraCaFile?: string;
  entraRole?: string[];
}

export function resolveEntraFlags(flags: EntraFlags): EntraAuthOptions | undefined {
  const fromFile = flags.entraConfig === undefined ? undefined : readEntraConfig(flags.entraConfig);
  const issuerFlags =
    flags.entraIssuer !== undefined ||
    flags.entraDiscoveryUrl !== undefined ||
    flags.entraCaFile !== undefined;
  if (issuerFlags && flags.entraIssuer === undefined) {
    throw new CliUsageError('--entra-discovery-url and --entra-ca-file need --entra-issuer');
  }
  const roles = (flags.entraRole ?? []).map(parseRole);
  if (fromFile === undefined && !issuerFlags) {
    if (roles.length > 0)
      throw new CliUsageError('--entra-role needs --entra-issuer or --entra-config');
    return undefined;
  }
  const issuers: EntraIssuerOptions[] = [...(fromFile?.issuers ?? [])];
  if (flags.entraIssuer !== undefined) {
    issuers.push({
      issuer: flags.entraIssuer,
      ...(flags.entraDiscoveryUrl !== undefined && { discoveryUrl: flags.entraDiscoveryUrl }),
      ...(flags.entraCaFile !== undefined && {
        ca: readText('--entra-ca-file', flags.entraCaFile),
      }),
    });
  }
  return {
    ...fromFile,
    issuers,
    roleAssignments: [...(fromFile?.roleAssignments ?? []), ...roles],
  };
}

/** `<principalId>=<role>[@<queue>]`, e.g. `3f2a...=Azure Service Bus Data Receiver@challenges`. */
function parseRole(text: string): RoleAssignment {
  const match = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(text.trim());
  if (!match) {
    throw new CliUsageError(
      `--entra-role must be <principalId>=<role>[@<queue>], e.g. 00000000-0000-0000-0000-000000000001=Azure Service Bus Data Receiver@challenges; got "${text}"`,
    );
  }
  return {
    principalId: match[1]!.trim(),
    role: match[2]!.trim(),
    ...(match[3] !== undefined && { scope: match[3].trim() }),
  };
}

function readEntraConfig(file: string): EntraAuthOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText('--entra-config', file));
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    throw new CliUsageError(`--entra-config ${file}: ${(error as Error).message}`);
  }
  const issuers = (parsed as { issuers?: unknown } | null)?.issuers;
  if (!Array.isArray(issuers)) {
    throw new CliUsageError(
      `--entra-config ${file}: needs "issuers": [{ "issuer": "https://..." }]`,
    );
  }
  const base = dirname(resolve(file));
  return {
    ...(parsed as EntraAuthOptions),
    issuers: issuers.map((i: Record<string, unknown>) => {
      const { caFile, ...rest } = i;
      return {
        ...(rest as unknown as EntraIssuerOptions),
        ...(typeof caFile === 'string' && {
          ca: readText('--entra-config caFile', resolve(base, caFile)),
        }),
      };
    }),
  };
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliUsageError(`${flag} ${file}: ${(error as Error).message}`);
  }
}
