import type { ServiceBusMessage } from '@azure/service-bus';

import type { ChallengeResult } from './result-body.js';

/**
 * The Service Bus messageId of a pod's result: derived from the pod's uid only, so every
 * replica, every leader and every retry sends one pod's result under the same ID, and duplicate
 * detection on the results queue keeps one copy. (A pod recreated for the same challenge message
 * has a new uid: it is another run, with its own result.)
 */
export function resultMessageId(podUid: string): string {
  return `podbus-result-${podUid}`;
}

/** Application properties of a result message, beside the W3C trace context. */
export const RESULT_PROPERTIES = {
  cluster: 'podbus-cluster',
  pod: 'podbus-pod',
  challengeId: 'podbus-challenge-id',
} as const;

/**
 * A result as a Service Bus message: the JSON body, `correlationId` = the challenge message's
 * messageId (what the sender knows), `subject` = the outcome (a subscription rule or a reader
 * can route on it without reading the body), and the challenge's traceparent both as
 * `traceparent` and as `Diagnostic-Id` (what the Azure SDKs read), so the trace goes on.
 */
export function resultMessage(result: ChallengeResult): ServiceBusMessage {
  return {
    messageId: resultMessageId(result.pod.uid),
    correlationId: result.messageId,
    subject: result.outcome,
    contentType: 'application/json',
    body: result,
    applicationProperties: {
      [RESULT_PROPERTIES.cluster]: result.cluster,
      [RESULT_PROPERTIES.pod]: result.pod.name,
      [RESULT_PROPERTIES.challengeId]: result.challengeId,
      ...(result.traceparent !== undefined && {
        traceparent: result.traceparent,
        'Diagnostic-Id': result.traceparent,
      }),
    },
  };
}
