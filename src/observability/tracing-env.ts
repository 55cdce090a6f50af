/**
 * Whether and how podbus exports traces, from the standard OpenTelemetry environment variables.
 * Deliberately free of OpenTelemetry imports: a worker that does not trace never loads the SDK
 * (tracing.ts is imported only when this says so).
 *
 * Off unless asked for. The OpenTelemetry SDKs export with OTLP when OTEL_TRACES_EXPORTER is
 * unset; podbus does not, so that a worker never sends to a default endpoint nobody set up:
 * - OTEL_SDK_DISABLED=true (the SDK's documented switch) turns everything off;
 * - OTEL_TRACES_EXPORTER: a comma-separated list of `otlp`, `console`, or `none` (unset = none);
 * - OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL: `http/protobuf` (the
 *   default) or `http/json`. gRPC is not shipped (it would add the gRPC stack to every image).
 * Everything else (endpoint, headers, timeout, sampler, batching, service name, resource
 * attributes) the SDK reads itself from its usual OTEL_* variables.
 */

export type TraceExporterName = 'otlp' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type TracingSettings =
  | { readonly exporters: readonly ['console'] }
  | {
      readonly exporters: readonly TraceExporterName[];
      /** How the `otlp` exporter sends. */
      readonly otlpProtocol: OtlpProtocol;
    };

/**
 * How long stopping waits for the last spans to be exported: bounded, so that a collector that
 * does not answer cannot hold the stop past the pod's termination grace period.
 */
export const TRACING_FLUSH_GRACE_MS = 2_000;

/** An OTEL_* variable podbus cannot honour: named, with the value and what to set instead. */
export class TracingEnvError extends Error {
  override readonly name = 'TracingEnvError';
}

const EXPORTERS: readonly string[] = ['otlp', 'console', 'none'];
const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json'];

export function tracingSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const names = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !EXPORTERS.includes(n));
  if (unknown.length > 0) {
    throw new TracingEnvError(
      `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: podbus exports traces with ${EXPORTERS.join(', ')}; ${unknown.join(', ')} is not one of them`,
    );
  }
  const exporters = [...new Set(names.filter((n) => n !== 'none'))] as TraceExporterName[];
  if (exporters.length === 0) return undefined;
  if (!exporters.includes('otlp')) return { exporters: ['console'] };
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[variable] ?? 'http/protobuf').trim().toLowerCase();
  if (!PROTOCOLS.includes(protocol)) {
    throw new TracingEnvError(
      `${variable}=${env[variable]}: podbus sends OTLP over HTTP, as ${PROTOCOLS.join(' or ')} (a collector's port 4318); gRPC is not included`,
    );
  }
  return { exporters, otlpProtocol: protocol as OtlpProtocol };
}
