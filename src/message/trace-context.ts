/**
 * The sender's trace context, as the Azure SDKs put it on a message when tracing is on: a W3C
 * `traceparent` (version-traceid-spanid-flags) in the application property `Diagnostic-Id`
 * (the Service Bus SDKs for JavaScript, .NET, Java, Python) or `traceparent` (senders following
 * the W3C/OpenTelemetry messaging conventions). podbus carries it into every log line about the
 * message, the pod's annotations and the result message, so one ID joins a challenge's lines
 * from sender to pod to result.
 *
 * Only a well-formed traceparent is taken: the property is whatever the sender wrote, and a log
 * line must not carry an arbitrary (long, multi-line, secret-bearing) string from a message.
 * The all-zero IDs and version ff are invalid per the W3C spec, so they are dropped too.
 */
export const TRACE_CONTEXT_PROPERTIES = ['Diagnostic-Id', 'traceparent'] as const;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The message's traceparent, or undefined when it has none that is well formed. */
export function traceparentOf(
  applicationProperties: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  for (const name of TRACE_CONTEXT_PROPERTIES) {
    const valid = validTraceparent(applicationProperties?.[name]);
    if (valid !== undefined) return valid;
  }
  return undefined;
}

/**
 * The value when it is a well-formed traceparent, else undefined: for a message's property, and
 * again for the pod annotation a result reads it from (anyone who may patch pods can write it).
 */
export function validTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId] = match;
  if (version === 'ff' || /^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return match[0];
}
