import { describe, expect, it } from '@jest/globals';

import { TracingEnvError, tracingSettingsFromEnv } from '../../../src/observability/tracing-env.js';

describe('tracingSettingsFromEnv: the standard OTEL_* switches, off by default', () => {
  it.each([
    ['nothing set (the SDKs would export with OTLP; podbus does not)', {}],
    ['OTEL_TRACES_EXPORTER=none', { OTEL_TRACES_EXPORTER: 'none' }],
    ['an empty value', { OTEL_TRACES_EXPORTER: ' ' }],
    [
      'OTEL_SDK_DISABLED=true wins over an exporter',
      { OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' },
    ],
  ])('off: %s', (_what, env) => {
    expect(tracingSettingsFromEnv(env)).toBeUndefined();
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, { exporters: ['otlp'], otlpProtocol: 'http/protobuf' }],
    [
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      { exporters: ['otlp'], otlpProtocol: 'http/json' },
    ],
    [
      {
        OTEL_TRACES_EXPORTER: 'OTLP, console,otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      },
      { exporters: ['otlp', 'console'], otlpProtocol: 'http/json' },
    ],
    [
      { OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      { exporters: ['console'] },
    ],
    [{ OTEL_TRACES_EXPORTER: 'none,console' }, { exporters: ['console'] }],
  ] as const)('on: %j', (env, settings) => {
    expect(tracingSettingsFromEnv(env)).toEqual(settings);
  });

  it('names a variable podbus cannot honour, with what to set instead', () => {
    expect(() => tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp,zipkin' })).toThrow(
      new TracingEnvError(
        'OTEL_TRACES_EXPORTER=otlp,zipkin: podbus exports traces with otlp, console, none; zipkin is not one of them',
      ),
    );
    expect(() =>
      tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).toThrow(
      "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: podbus sends OTLP over HTTP, as http/protobuf or http/json (a collector's port 4318); gRPC is not included",
    );
  });
});
