import * as coreTracing from '@azure/core-tracing';
import { AzureSdkInstrumentation } from '@azure/opentelemetry-instrumentation-azure-sdk';
import {
  context,
  createContextKey,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';

import type { CallEvent } from '../clusters/cluster-client.js';
import { scrubText } from '../shared/redaction.js';
import type { Delivery } from '../worker/events.js';
import type { HandlingOutcome } from '../worker/outcome.js';
import type { DeliveryScope } from '../worker/worker.js';
import type { EventSources } from './event-sources.js';
import { TRACING_FLUSH_GRACE_MS, type TracingSettings } from './tracing-env.js';

/**
 * OpenTelemetry traces of the worker, loaded only when tracing-env.ts says they are wanted.
 *
 * One trace per delivery, continuing the trace the message arrived with (see `deliveryScope`):
 *
 *   process <queue>   (consumer: from receipt to settlement; outcome, cluster, IDs)
 *   ├── place pod     (prepare -> the decision: retries are span events)
 *   │   ├── get pod   (a duplicate lookup on a cluster)
 *   │   └── create pod (each create call on a cluster, retries included)
 *   └── ServicebusReceiver.complete | .deadLetter | .abandon, ServiceBusReceiver.renewMessageLock
 *                     (the Azure SDK's own spans, through its OpenTelemetry instrumentation)
 *
 * The spans are made from the worker's and the clusters' typed events, like the metrics and the
 * log lines; only the delivery scope is run by the worker, so that everything done for a
 * message, the SDK's calls included, happens inside its trace context. Attributes carry IDs,
 * clusters and outcomes, never a secret (texts from elsewhere are scrubbed).
 */
export interface Tracing {
  /** The worker runs each delivery inside it (WorkerOptions.deliveryScope). */
  readonly deliveryScope: DeliveryScope;
  /** Turns the worker's and the clusters' events into spans. */
  record(events: EventSources): void;
  /**
   * Exports what is still buffered, then unregisters the SDK. Gives up after
   * TRACING_FLUSH_GRACE_MS: 'abandoned' then says an export is still in flight, which holds the
   * process open until the exporter's own timeouts (OTEL_EXPORTER_OTLP_TIMEOUT,
   * OTEL_BSP_EXPORT_TIMEOUT: 10 s and 30 s by default) unless the process exits.
   */
  shutdown(): Promise<'exported' | 'abandoned'>;
}

export interface TracingOptions {
  readonly settings: TracingSettings;
  /** podbus's version, for the `service.version` resource attribute. */
  readonly serviceVersion: string;
  /** The challenge queue, for span names and `messaging.destination.name`. */
  readonly queue: string;
}

/** What a delivery's trace context carries besides its span: the spans made for it so far. */
interface DeliverySpans {
  readonly root: Span;
  place?: Span;
  ended: boolean;
}

const DELIVERY = createContextKey('podbus delivery spans');

const TRACER_NAME = 'podbus';

export function startTracing(options: TracingOptions): Tracing {
  const provider = new NodeTracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over podbus's defaults.
    resource: resourceFromAttributes({
      'service.name': 'podbus',
      'service.version': options.serviceVersion,
    }).merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: options.settings.exporters.map(
      (name) => new BatchSpanProcessor(exporterFor(name, options.settings)),
    ),
  });
  // The global provider, an AsyncLocalStorage context manager, W3C trace context propagation.
  provider.register();
  instrumentAzureSdk();
  const tracer = provider.getTracer(TRACER_NAME, options.serviceVersion);
  return {
    deliveryScope: deliveryScope(tracer, options.queue),
    record: (events) => recordSpans(tracer, events),
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'abandoned'>((resolve) => {
        timer = setTimeout(() => resolve('abandoned'), TRACING_FLUSH_GRACE_MS);
      });
      try {
        return await Promise.race([provider.shutdown().then(() => 'exported' as const), grace]);
      } finally {
        clearTimeout(timer);
        trace.disable();
        context.disable();
      }
    },
  };
}

function exporterFor(name: 'otlp' | 'console', settings: TracingSettings): SpanExporter {
  if (name === 'console') return new ConsoleSpanExporter();
  // Endpoint, headers, timeout and compression: the exporters read OTEL_EXPORTER_OTLP_*.
  const json = 'otlpProtocol' in settings && settings.otlpProtocol === 'http/json';
  return json ? new OtlpJsonExporter() : new OtlpProtobufExporter();
}

/**
 * The Azure SDK's OpenTelemetry instrumentation installs its instrumenter into
 * @azure/core-tracing when a require hook sees that module load. podbus loads OpenTelemetry
 * only when tracing is on, after the Service Bus SDK (and with it @azure/core-tracing) is
 * loaded, so the hook would never fire: the instrumentation's own patch is applied to the
 * loaded module instead, and the hook is left off. (@azure/core-tracing shares its state between
 * its ES-module and CommonJS builds, so the SDK's copy sees the instrumenter.)
 */
function instrumentAzureSdk(): void {
  const instrumentation = new AzureSdkInstrumentation({ enabled: false });
  for (const definition of instrumentation.getModuleDefinitions()) {
    definition.patch?.(coreTracing);
  }
}

function deliveryScope(tracer: Tracer, queue: string): DeliveryScope {
  return async (delivery, run) => {
    // Receiving happened in the SDK's consumer span (active now): link to it.
    const received = trace.getActiveSpan()?.spanContext();
    const parent = context.active();
    const root = tracer.startSpan(
      `process ${queue}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'servicebus',
          'messaging.operation.type': 'process',
          'messaging.destination.name': queue,
          ...deliveryAttributes(delivery),
        },
        ...(received !== undefined && { links: [{ context: received }] }),
      },
      parent,
    );
    const spans: DeliverySpans = { root, ended: false };
    try {
      await context.with(trace.setSpan(parent, root).setValue(DELIVERY, spans), run);
    } finally {
      // messageHandled ends it; this is for a delivery that never got that far.
      endDelivery(spans);
    }
  };
}

function deliveryAttributes(delivery: Delivery): Attributes {
  return {
    'messaging.message.id': delivery.messageId,
    'messaging.servicebus.message.delivery_count': delivery.deliveryCount,
    ...(delivery.challengeId !== undefined && { 'podbus.challenge_id': delivery.challengeId }),
    ...(delivery.pod !== undefined && { 'podbus.pod': delivery.pod }),
  };
}

/** The spans of the delivery whose context this runs in, if any. */
function current(): DeliverySpans | undefined {
  return context.active().getValue(DELIVERY) as DeliverySpans | undefined;
}

function childContext(spans: DeliverySpans): Context {
  return trace.setSpan(context.active(), spans.place ?? spans.root);
}

function recordSpans(tracer: Tracer, { worker, clusters }: EventSources): void {
  worker.on('messagePrepared', ({ delivery }) => {
    const spans = current();
    if (spans === undefined) return;
    spans.root.setAttributes(deliveryAttributes(delivery));
    spans.place = tracer.startSpan(
      'place pod',
      { attributes: deliveryAttributes(delivery) },
      trace.setSpan(context.active(), spans.root),
    );
  });
  worker.on('retry', ({ why, detail, delayMs }) =>
    current()?.place?.addEvent('retry', {
      'podbus.retry.why': why,
      'podbus.retry.delay_ms': delayMs,
      'podbus.retry.detail': scrubText(detail),
    }),
  );
  clusters.on('call', (call) => {
    const spans = current();
    if (spans === undefined || (call.operation !== 'create' && call.operation !== 'get')) return;
    recordCall(tracer, call, childContext(spans));
  });
  worker.on('messageDecided', ({ delivery, outcome }) => {
    const spans = current();
    if (spans === undefined) return;
    spans.root.setAttributes(decisionAttributes(delivery, outcome));
    if (spans.place !== undefined) {
      spans.place.setAttributes(decisionAttributes(delivery, outcome));
      setStatus(spans.place, outcome);
      spans.place.end();
    }
  });
  worker.on('handlerFailed', ({ error }) =>
    current()?.root.addEvent('handler failed', {
      'podbus.error': scrubText(error instanceof Error ? error.message : String(error)),
    }),
  );
  worker.on('messageHandled', ({ outcome, settled, left }) => {
    const spans = current();
    if (spans === undefined) return;
    spans.root.setAttributes({ 'podbus.outcome': left, 'podbus.settled': settled });
    if (settled === 'failed') {
      spans.root.setStatus({ code: SpanStatusCode.ERROR, message: 'settling the message failed' });
    } else {
      setStatus(spans.root, outcome);
    }
    endDelivery(spans);
  });
}

function recordCall(tracer: Tracer, call: CallEvent, parent: Context): void {
  const end = Date.now();
  const span = tracer.startSpan(
    `${call.operation} pod`,
    {
      kind: SpanKind.CLIENT,
      startTime: end - call.durationMs,
      attributes: {
        'podbus.cluster': call.cluster,
        'podbus.call.outcome': call.outcome,
        'podbus.call.attempts': call.attempts,
      },
    },
    parent,
  );
  if (call.outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: call.outcome });
  span.end(end);
}

function decisionAttributes(delivery: Delivery, outcome: HandlingOutcome): Attributes {
  return {
    ...deliveryAttributes(delivery),
    'podbus.decision': outcome.action,
    ...('cluster' in outcome &&
      outcome.cluster !== undefined && {
        'podbus.cluster': outcome.cluster,
      }),
    ...(outcome.action === 'dead-letter' && { 'podbus.dead_letter_reason': outcome.reason }),
  };
}

/** A pod made or found is OK; anything else did not give the message its pod (yet). */
function setStatus(span: Span, outcome: HandlingOutcome): void {
  switch (outcome.action) {
    case 'complete':
      span.setStatus({ code: SpanStatusCode.OK });
      return;
    case 'dead-letter':
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: scrubText(`${outcome.reason}: ${outcome.description}`),
      });
      return;
    default:
      span.setStatus({ code: SpanStatusCode.ERROR, message: scrubText(outcome.why) });
  }
}

function endDelivery(spans: DeliverySpans): void {
  if (spans.ended) return;
  spans.ended = true;
  if (spans.place !== undefined && spans.place.isRecording()) spans.place.end();
  spans.root.end();
}
