import { startWorkerApp } from '../app/worker-app.js';
import type { Config } from '../config/config.js';
import { unknownEnvVars } from '../config/env-vars.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import { CLI_ENV_VARS, commandSources, configOrUsageError } from './config-sources.js';
import { EXIT } from './exit-codes.js';
import { onStopSignals } from './signals.js';

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
    // A signal during start-up must stop the worker too, not wait for it to start receiving.
    const app = await startWorkerApp(config, { logger, stopRequested: signals.stopped });
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

/** Flags set options, so one validation reports every problem with its path and flag. */
export function loadRunConfig(flags: RunFlags, env: NodeJS.ProcessEnv): Config {
  const sources = commandSources(flags.config, env, [
    { path: 'log.pretty', flag: '--pretty', value: flags.pretty ? true : undefined },
    { path: 'log.level', flag: '--log-level', value: flags.logLevel },
    { path: 'serviceBus.queueName', flag: '--queue', value: flags.queue },
    { path: 'selection.strategy', flag: '--strategy', value: flags.strategy },
    {
      path: 'serviceBus.maxConcurrentCalls',
      flag: '--max-concurrent-calls',
      value: flags.maxConcurrentCalls,
    },
  ]);
  return configOrUsageError(() => loadConfig(sources));
}
