import { joinProblems } from '../message/join-problems.js';
import { ANNOTATION_REQUEST_HASH } from '../message/metadata-keys.js';
import {
  couldNotCheck,
  parseChallengeMessage,
  type IncomingMessage,
  type ParseResult,
} from '../message/parse-challenge-message.js';
import { senderPath } from '../message/sender-path.js';
import { buildPod, type PodBuildOptions } from '../pod/build-pod.js';
import { checkPolicy, formatViolation } from '../policy/check-policy.js';
import type { Policy } from '../policy/policy.js';
import { resultQueueFor, type ResultRouting } from '../policy/result-queue.js';
import type { InboundMessage, Prepared } from './message-handler.js';

export interface PrepareOptions {
  readonly policy: Policy;
  readonly pod: PodBuildOptions;
  /** Configured cluster names; a message may only prefer one of these. */
  readonly clusterNames: readonly string[];
  /** When false, a message's `cluster` field is ignored (the strategy alone decides). */
  readonly allowClusterPreference: boolean;
  /** Where results go; the pod carries the queue chosen for its message. */
  readonly results: ResultRouting;
}

/**
 * Message -> pod, or the dead-letter reason: parse, then policy, then build. Pure: the same
 * message prepares to the same pod on every replica, which is what makes the pod name and
 * request hash a stable identity.
 */
export function createPrepare(options: PrepareOptions): (message: InboundMessage) => Prepared {
  // The message's replyTo and traceparent are not the sender's challenge: they are read here,
  // beside it, and never reach the parser or the request hash.
  const known = new Set(options.clusterNames);
  return (message) => {
    const admitted = admitChallenge(message, options.policy);
    if (!admitted.ok) return admitted;
    const { request } = admitted;

    let preferredCluster: string | undefined;
    if (request.cluster !== undefined && options.allowClusterPreference) {
      if (!known.has(request.cluster)) {
        return {
          ok: false,
          reason: 'PolicyViolation',
          description:
            `cluster "${request.cluster}" is not one of the configured clusters ` +
            `(${options.clusterNames.join(', ')}); fix the message's cluster field or leave it out`,
        };
      }
      preferredCluster = request.cluster;
    }

    const resultQueue = resultQueueFor(message.replyTo, options.results);
    const pod = buildPod(request, options.pod, {
      ...(resultQueue !== undefined && { resultQueue }),
      ...(message.traceparent !== undefined && { traceparent: message.traceparent }),
    });
    return {
      ok: true,
      pod,
      requestHash: pod.metadata!.annotations![ANNOTATION_REQUEST_HASH]!,
      challengeId: request.challengeId,
      ...(preferredCluster !== undefined && { preferredCluster }),
      ...(admitted.jsonStringBody && { jsonStringBody: true }),
    };
  };
}

/**
 * Parse, then the operator's policy: a request the policy allows, or the dead-letter reason.
 * Policy violations are named by the paths of the sender's own form. Never throws, like the
 * parser: a bug in a check dead-letters the message with a text that says so.
 */
export function admitChallenge(message: IncomingMessage, policy: Policy): ParseResult {
  const parsed = parseChallengeMessage(message, policy);
  if (!parsed.ok) return parsed;
  try {
    const violations = checkPolicy(parsed.request, policy);
    if (violations.length === 0) return parsed;
    const inSenderTerms = violations.map((v) =>
      formatViolation({ ...v, path: senderPath(v.path, parsed.form) }),
    );
    return { ok: false, reason: 'PolicyViolation', description: joinProblems(inSenderTerms) };
  } catch (error) {
    return couldNotCheck(error);
  }
}
