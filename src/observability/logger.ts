import { createRequire } from 'node:module';

import { pino } from 'pino';
import type { Logger } from 'pino';
import type * as PinoPretty from 'pino-pretty';

import { REDACT_PATHS, REDACTED, scrubJsonLine } from '../shared/redaction.js';
import type { LogLevel } from './log-levels.js';

export type { Logger } from 'pino';
export { LOG_LEVELS, type LogLevel } from './log-levels.js';

/** Where log lines go: stdout by default; tests pass a collector. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface CreateLoggerOptions {
  readonly level: LogLevel;
  /** Human-readable lines (pino-pretty) instead of JSON; for terminals, not for log shippers. */
  readonly pretty: boolean;
  readonly destination?: LogDestination;
}

/**
 * The podbus logger: pino JSON lines (level as a label, ISO time) with two redaction layers —
 * pino's path redaction for known secret fields, and a scrubber over every finished line for
 * secrets anywhere (any depth, inside messages and error text). See shared/redaction.ts.
 *
 * Pretty output formats the already-scrubbed line synchronously in this thread (pino-pretty's
 * prettyFactory, not a worker-thread transport): nothing to resolve at runtime in the compiled
 * build, and no log line is lost when the process exits right after writing it. pino-pretty is
 * loaded only then: a worker writing JSON lines never needs it (54 modules more than pino alone).
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  // Colours only on a real terminal: a test collector or a file should get plain text.
  const stream = options.pretty ? prettyDestination(out, options.destination === undefined) : out;
  return pino(
    {
      level: options.level,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      hooks: { streamWrite: scrubJsonLine },
      serializers: { err: pino.stdSerializers.err },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

function prettyDestination(out: LogDestination, toTerminal: boolean): LogDestination {
  const { isColorSupported, prettyFactory } = createRequire(import.meta.url)(
    'pino-pretty',
  ) as typeof PinoPretty;
  const prettify = prettyFactory({
    colorize: toTerminal && isColorSupported,
    translateTime: 'SYS:standard',
    ignore: 'pid,hostname',
  });
  return { write: (line: string) => out.write(prettify(line)) };
}
