import { parseChallengeMessage } from '../message/parse-challenge-message.js';
import { buildPod, type PodBuildOptions } from '../pod/build-pod.js';
import { ANNOTATION_REQUEST_HASH } from '../pod/metadata-keys.js';
import type { Policy } from '../policy/policy.js';
import type { InboundMessage, Prepared } from './message-handler.js';

export interface PrepareOptions {
  readonly policy: Policy;
  readonly pod: PodBuildOptions;
  /** Configured cluster names; a message may only prefer one of these. */
  readonly clusterNames: readonly string[];
  /** When false, a message's `cluster` field is ignored (the strategy alone decides). */
  readonly allowClusterPreference: boolean;
}

/**
 * Message -> pod, or the dead-letter reason. Pure: the same message prepares to the same pod
 * on every replica, which is what makes the pod name and request hash a stable identity.
 */
export function createPrepare(options: PrepareOptions): (message: InboundMessage) => Prepared {
  const known = new Set(options.clusterNames);
  return (message) => {
    const parsed = parseChallengeMessage(message, options.policy);
    if (!parsed.ok) return parsed;
    const { request } = parsed;

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

    const pod = buildPod(request, options.pod);
    return {
      ok: true,
      pod,
      requestHash: pod.metadata!.annotations![ANNOTATION_REQUEST_HASH]!,
      challengeId: request.challengeId,
      ...(preferredCluster !== undefined && { preferredCluster }),
      ...(parsed.jsonStringBody && { jsonStringBody: true }),
    };
  };
}
