/**
 * The sample challenges `podbus local` sends: each shows one thing podbus does. Images use
 * the Kubernetes emulator's conventions (packages/kubernetes-emulator/README.md): `exit-<N>` makes a
 * container exit with N, `sleep-<S>` makes it run S seconds, the registry `unreachable.example`
 * can never be pulled from.
 */
export interface SampleMessage {
  readonly messageId: string;
  /** A Buffer is sent as raw bytes (to show a body that is not JSON). */
  readonly body: unknown;
  /** What the sample demonstrates, printed next to it. */
  readonly shows: string;
  /** True when the worker should dead-letter it. */
  readonly invalid?: boolean;
  /** The outcome of its result (valid samples). */
  readonly outcome?: string;
}

/** Images the local worker allows (its policy.allowedImages). */
export const LOCAL_ALLOWED_IMAGES = [
  'docker.io/library/*',
  'ghcr.io/podbus-samples/*',
  'unreachable.example/podbus-samples/*',
];

export const SAMPLE_MESSAGES: readonly SampleMessage[] = [
  {
    messageId: 'sample-web-101',
    body: { ChallengeId: 'web-101', Containers: [{ Name: 'nginx:1.27' }] },
    shows: "the seed's PascalCase form",
    outcome: 'succeeded',
  },
  {
    messageId: 'sample-net-201',
    body: {
      challengeId: 'net-201',
      containers: [
        { image: 'ghcr.io/podbus-samples/server:sleep-4' },
        { image: 'ghcr.io/podbus-samples/client:sleep-3' },
      ],
    },
    shows: 'camelCase form, two containers',
    outcome: 'succeeded',
  },
  {
    messageId: 'sample-k8s-301',
    body: {
      challengeId: 'k8s-301',
      containers: [
        {
          image: 'busybox:1.36',
          name: 'task',
          env: [{ name: 'LEVEL', value: '3' }],
          resources: { requests: { cpu: '250m', memory: '64Mi' } },
        },
      ],
      cluster: 'local-2',
      labels: { course: 'k8s-basics' },
    },
    shows: 'env, resources, labels and a preferred cluster',
    outcome: 'succeeded',
  },
  {
    messageId: 'sample-fails-401',
    body: {
      challengeId: 'fails-401',
      containers: [{ image: 'ghcr.io/podbus-samples/broken:exit-1' }],
    },
    shows: 'a challenge whose container fails (exit 1)',
    outcome: 'failed',
  },
  {
    messageId: 'sample-never-starts',
    body: {
      challengeId: 'pull-501',
      containers: [{ image: 'unreachable.example/podbus-samples/missing:1' }],
    },
    shows: 'an image that cannot be pulled: the pod never starts',
    outcome: 'image-pull-failed',
  },
  {
    messageId: 'sample-bad-image',
    body: { challengeId: 'evil-1', containers: [{ image: 'evil.example/miner:latest' }] },
    shows: 'an image outside the allowlist',
    invalid: true,
  },
  {
    messageId: 'sample-not-json',
    body: Buffer.from('{"challengeId": "oops", "containers": ['),
    shows: 'a body that is not JSON',
    invalid: true,
  },
];
