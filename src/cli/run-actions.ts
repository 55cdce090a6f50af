import { startWorkerApp } from '../app/worker-app.js';
import type { Config } from '../config/config.js';
import { unknownEnvVars } from '../config/env-vars.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import { tracingSettingsFromEnv, TracingEnvError } from '../observability/tracing-env.js';
import { CLI_ENV_VARS, commandSources, configOrUsageError } from './config-sources.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { packageVersion } from './package-version.js';
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
  const tracing = tracingFor(env);
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
    const app = await startWorkerApp(config, {
      logger,
      stopRequested: signals.stopped,
      ...(tracing !== undefined && { tracing }),
    });
    const signal = await signals.stopped;
    logger.info(
      { signal, graceMs: config.worker.shutdownGraceMs },
      'stopping: draining in-flight messages',
    );
    await app.stop();
    logger.info('stopped');
    if (tracing !== undefined) exitOnceReturned();
    return EXIT.ok;
  } catch (error) {
    logger.fatal({ err: error }, 'the worker failed');
    return EXIT.failure;
  } finally {
    signals.dispose();
  }
}

/**
 * Traces when the OTEL_* variables ask for them (off by default); a value podbus cannot honour
 * is a configuration error, reported before anything starts.
 */
function tracingFor(env: NodeJS.ProcessEnv) {
  try {
    const settings = tracingSettingsFromEnv(env);
    return settings && { settings, serviceVersion: packageVersion() };
  } catch (error) {
    if (error instanceof TracingEnvError) throw new CliUsageError(error.message);
    throw error;
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

/**
 * With tracing on, the worker has stopped, and what may still hold the process open is a span
 * export towards an OTLP endpoint that does not answer (the one the bounded shutdown gave up
 * on, or an earlier one still in flight): it would wait for the exporter's own timeouts
 * (OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_EXPORT_TIMEOUT), past the deployment's termination grace
 * period. Exit as soon as the exit code is set; the timer is unref'd, so a process with nothing
 * left exits by itself before it fires.
 */
function exitOnceReturned(): void {
  setTimeout(() => process.exit(), 0).unref();
}
