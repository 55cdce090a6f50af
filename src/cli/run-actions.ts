import { ConfigError } from '../config/config-error.js';
import { unknownEnvVars } from '../config/env-vars.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import { startWorkerApp } from '../worker/worker-app.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { onStopSignals } from './signals.js';

/** PODBUS_* variables read by the command line itself rather than the config schema. */
const CLI_ENV_VARS: readonly string[] = ['PODBUS_CONFIG'];

export interface RunFlags {
  config?: string;
  pretty?: boolean;
  logLevel?: string;
  queue?: string;
  strategy?: string;
  maxConcurrentCalls?: string;
}

export async function runWorker(flags: RunFlags, env = process.env): Promise<number> {
  const config = loadRunConfig(flags, env);
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
  for (const unknown of unknownEnvVars(env)) {
    if (CLI_ENV_VARS.includes(unknown.name)) continue;
    logger.warn(
      { variable: unknown.name, didYouMean: unknown.suggestion },
      'PODBUS_* variable sets no option',
    );
  }
  const signals = onStopSignals({
    onForce: (signal) =>
      logger.warn({ signal }, 'second signal: exiting without finishing the drain'),
  });
  try {
    const app = await startWorkerApp(config, { logger });
    const signal = await signals.stopped;
    logger.info(
      { signal, graceMs: config.worker.shutdownGraceMs },
      'stopping: draining in-flight messages',
    );
    await app.stop();
    logger.info('stopped');
    return EXIT.ok;
  } catch (error) {
    logger.fatal({ err: error }, 'the worker failed');
    return EXIT.failure;
  } finally {
    signals.dispose();
  }
}

/** Flags become config overrides, so one validation reports every problem with its path. */
export function loadRunConfig(flags: RunFlags, env: NodeJS.ProcessEnv) {
  const overrides: Record<string, string | number | boolean> = {};
  if (flags.pretty) overrides['log.pretty'] = true;
  if (flags.logLevel !== undefined) overrides['log.level'] = flags.logLevel;
  if (flags.queue !== undefined) overrides['serviceBus.queueName'] = flags.queue;
  if (flags.strategy !== undefined) overrides['selection.strategy'] = flags.strategy;
  if (flags.maxConcurrentCalls !== undefined) {
    overrides['serviceBus.maxConcurrentCalls'] = flags.maxConcurrentCalls;
  }
  try {
    return loadConfig({ file: flags.config ?? env.PODBUS_CONFIG, env, overrides });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliUsageError(error.message);
    throw error;
  }
}
