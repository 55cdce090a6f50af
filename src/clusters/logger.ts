/**
 * The slice of a pino logger that `src/clusters/` uses (pino's `(object, message)` call shape).
 * A pino `Logger` satisfies it; tests pass a recorder.
 */
export interface ClusterLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => undefined;

export const silentLogger: ClusterLogger = { debug: noop, info: noop, warn: noop, error: noop };
