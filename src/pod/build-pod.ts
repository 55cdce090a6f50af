import type { V1Container, V1Pod, V1PodSecurityContext } from '@kubernetes/client-node';

import type { ChallengeRequest, ContainerRequest } from '../message/challenge-request.js';
import {
  ANNOTATION_CHALLENGE_ID,
  ANNOTATION_MESSAGE_ID,
  ANNOTATION_REPLY_TO,
  ANNOTATION_REQUEST_HASH,
  ANNOTATION_TRACEPARENT,
  LABEL_CHALLENGE_ID,
  LABEL_MANAGED_BY,
  LABEL_MESSAGE_ID,
  MANAGED_BY_VALUE,
} from '../message/metadata-keys.js';
import { containerNames, labelValueFor, podNameForMessageId } from '../message/names.js';
import { requestHash } from '../message/request-hash.js';
import type { PolicySettings } from '../policy/policy.js';
import { effectiveResources } from '../policy/resources.js';
import type { ResourceDefaults } from '../policy/resources.js';
import type { PodSettings, SecuritySettings } from './pod-settings.js';

/** What buildPod needs from the configuration: the `pod` section and two policy defaults. */
export interface PodBuildOptions {
  readonly pod: PodSettings;
  readonly policy: {
    readonly defaultActiveDeadlineSeconds: PolicySettings['defaultActiveDeadlineSeconds'];
    readonly resources: { readonly defaults: ResourceDefaults };
  };
}

/**
 * What a pod carries for the result of its run, beside the request: decided from the message's
 * properties when it arrived (its `replyTo` and trace context), not part of the request hash (a
 * redelivery is the same request whatever these say).
 */
export interface PodRouting {
  /** The queue the result goes to (policy/result-queue.ts). */
  readonly resultQueue?: string;
  /** The message's W3C traceparent (message/trace-context.ts). */
  readonly traceparent?: string;
}

/**
 * The pod for a policy-checked request. Pure: same input, same pod, on every replica.
 *
 * `metadata.namespace` is left unset on purpose: the namespace belongs to the cluster chosen
 * later, and the API server fills it in from the create call's path (setting it here and
 * choosing another cluster would make the create fail with "namespace does not match").
 *
 * Precedence of metadata: the message's labels < the operator's `pod.labels` < podbus's own
 * labels; the operator's `pod.annotations` < podbus's own annotations. Policy already refuses
 * messages that try to set reserved keys, so the order only matters as a last line of defence.
 */
export function buildPod(
  request: ChallengeRequest,
  options: PodBuildOptions,
  routing: PodRouting = {},
): V1Pod {
  const { pod } = options;
  const names = containerNames(request.challengeId, request.containers);
  const podSecurity = podSecurityContext(pod.securityContext);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podNameForMessageId(request.messageId),
      labels: {
        ...request.labels,
        ...pod.labels,
        [LABEL_MESSAGE_ID]: labelValueFor(request.messageId),
        [LABEL_CHALLENGE_ID]: labelValueFor(request.challengeId),
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
      },
      annotations: {
        ...pod.annotations,
        [ANNOTATION_MESSAGE_ID]: request.messageId,
        [ANNOTATION_CHALLENGE_ID]: request.challengeId,
        [ANNOTATION_REQUEST_HASH]: requestHash(request),
        ...(routing.resultQueue !== undefined && { [ANNOTATION_REPLY_TO]: routing.resultQueue }),
        ...(routing.traceparent !== undefined && { [ANNOTATION_TRACEPARENT]: routing.traceparent }),
      },
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
      activeDeadlineSeconds:
        request.activeDeadlineSeconds ?? options.policy.defaultActiveDeadlineSeconds,
      automountServiceAccountToken: pod.automountServiceAccountToken,
      enableServiceLinks: pod.enableServiceLinks,
      ...(pod.priorityClassName !== '' && { priorityClassName: pod.priorityClassName }),
      ...(podSecurity && { securityContext: podSecurity }),
      containers: request.containers.map((c, i) => container(c, names[i] ?? '', options)),
    },
  };
}

function container(request: ContainerRequest, name: string, options: PodBuildOptions): V1Container {
  const security = options.pod.securityContext;
  const resources = effectiveResources(request.resources, options.policy.resources.defaults);
  return {
    name,
    image: request.image,
    imagePullPolicy: options.pod.imagePullPolicy,
    ...(request.command && { command: [...request.command] }),
    ...(request.args && { args: [...request.args] }),
    ...(request.env.length > 0 && { env: request.env.map((e) => ({ ...e })) }),
    resources: {
      requests: { ...resources.requests },
      limits: { ...resources.limits },
    },
    securityContext: {
      privileged: false,
      allowPrivilegeEscalation: security.allowPrivilegeEscalation,
      ...(security.dropAllCapabilities && { capabilities: { drop: ['ALL'] } }),
      ...(security.readOnlyRootFilesystem && { readOnlyRootFilesystem: true }),
    },
  };
}

function podSecurityContext(security: SecuritySettings): V1PodSecurityContext | undefined {
  const context: V1PodSecurityContext = {
    ...(security.runAsNonRoot && { runAsNonRoot: true }),
    ...(security.seccompProfile !== 'none' && {
      seccompProfile: { type: security.seccompProfile },
    }),
  };
  return Object.keys(context).length > 0 ? context : undefined;
}
