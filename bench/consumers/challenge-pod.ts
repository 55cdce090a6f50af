import type { V1Pod } from '@kubernetes/client-node';

/** The bench's message body: one challenge with one container, in podbus's camelCase form. */
export const CHALLENGE = {
  challengeId: 'bench',
  containers: [{ image: 'docker.io/library/busybox:1.36' }],
} as const;

/**
 * The pod the seed made of a challenge message (DESIGN.md "Origin"): named after the message
 * ID, labelled with it, one container per image. The plain consumers create this; the bench's
 * pod watch finds every consumer's pods by the `messageId` label.
 */
export function seedPod(messageId: string, body: typeof CHALLENGE): V1Pod {
  return {
    metadata: { name: messageId, labels: { messageId, challengeId: body.challengeId } },
    spec: {
      containers: body.containers.map((c, i) => ({
        name: `${body.challengeId}-${String(i + 1).padStart(2, '0')}`,
        image: c.image,
      })),
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
    },
  };
}
