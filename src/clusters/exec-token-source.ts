import { scrubText } from '../shared/redaction.js';
import type { ExecClusterAuth } from './cluster-entry.js';
import { ClusterError } from './errors.js';
import { runCommand, type RunCommand } from './exec-plugin-process.js';
import { silentLogger, type ClusterLogger } from './logger.js';
import { FetchedTokenSource } from './token-source.js';

/**
 * A kubeconfig-style credential plugin (client.authentication.k8s.io ExecCredential), such as
 * `kubelogin get-token`: podbus runs the command with KUBERNETES_EXEC_INFO in its environment,
 * reads the ExecCredential it prints, and uses `status.token` until `status.expirationTimestamp`
 * (without one, until the API server answers 401), as kubectl does. The token and the plugin's
 * output are never logged; its stderr is shown, scrubbed, when it fails.
 */
export interface ExecTokenSourceOptions {
  readonly cluster: string;
  readonly server: string;
  readonly auth: ExecClusterAuth;
  readonly logger?: ClusterLogger;
  readonly now?: () => number;
  readonly run?: RunCommand;
  /** The environment the command inherits. @defaultValue process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export class ExecTokenSource extends FetchedTokenSource {
  private readonly logger: ClusterLogger;

  constructor(private readonly options: ExecTokenSourceOptions) {
    super(options.now ?? Date.now);
    this.logger = options.logger ?? silentLogger;
  }

  protected async fetchToken(): Promise<void> {
    const { cluster, auth, server } = this.options;
    const execInfo = {
      apiVersion: auth.apiVersion,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        ...(auth.provideClusterInfo && { cluster: { server } }),
      },
    };
    const env = {
      ...withoutPodbusSettings(this.options.env ?? process.env),
      ...auth.env,
      KUBERNETES_EXEC_INFO: JSON.stringify(execInfo),
    };
    const result = await (this.options.run ?? runCommand)(
      auth.command,
      auth.args,
      env,
      auth.timeoutSeconds * 1000,
    );
    const fail = (message: string): never => {
      throw new ClusterError({
        kind: 'config',
        cluster,
        message: `exec plugin ${auth.command}: ${message}`,
      });
    };
    if (result.error?.code === 'ENOENT') {
      fail(
        `not found${auth.installHint ? `: ${auth.installHint}` : ' (is it installed and on PATH?)'}`,
      );
    }
    if (result.error?.code === 'ETIMEDOUT') fail(`did not finish within ${auth.timeoutSeconds} s`);
    if (result.error !== undefined)
      fail(`${result.error.message} (${result.error.code ?? 'error'})`);
    if (result.code !== 0) {
      fail(
        `exited with ${result.code}: ${scrubText(lastLines(result.stderr)) || '(no output on stderr)'}`,
      );
    }
    const credential = parseExecCredential(result.stdout, auth.apiVersion);
    if (typeof credential === 'string') fail(credential);
    const { token, expiresAt } = credential as { token: string; expiresAt: number };
    if (this.token !== undefined && this.token.value !== token) {
      this.logger.info({ cluster }, 'exec plugin gave a new token');
    }
    this.token = { value: token, renewAt: expiresAt, expiresAt };
  }
}

/** The token and its expiry (Infinity without one), or what is wrong with the output. */
export function parseExecCredential(
  stdout: string,
  apiVersion: string,
): { token: string; expiresAt: number } | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return 'printed no ExecCredential JSON on stdout';
  }
  const object = (parsed ?? {}) as { apiVersion?: unknown; kind?: unknown; status?: unknown };
  if (object.kind !== 'ExecCredential') return 'printed JSON that is not an ExecCredential';
  if (object.apiVersion !== apiVersion) {
    return `printed apiVersion ${JSON.stringify(object.apiVersion)}, but the entry asks for ${apiVersion}`;
  }
  const status = (object.status ?? {}) as { token?: unknown; expirationTimestamp?: unknown };
  if (typeof status.token !== 'string' || status.token === '') {
    return 'printed an ExecCredential without status.token (client certificates are not supported)';
  }
  if (status.expirationTimestamp === undefined) return { token: status.token, expiresAt: Infinity };
  const expiresAt = Date.parse(String(status.expirationTimestamp));
  if (Number.isNaN(expiresAt)) return 'printed an expirationTimestamp that is not an RFC 3339 time';
  return { token: status.token, expiresAt };
}

/**
 * The plugin inherits the worker's environment as kubectl's plugins do, minus podbus's own
 * settings (PODBUS_*: the Service Bus connection string among them), which no plugin needs;
 * what a plugin does need goes in the entry's `env`.
 */
function withoutPodbusSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('PODBUS_')));
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
}
