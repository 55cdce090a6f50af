import { describe, expect, it } from '@jest/globals';

import type { ChallengeRequest } from '../../../src/message/challenge-request.js';
import { shortHash } from '../../../src/message/names.js';
import { requestHash } from '../../../src/message/request-hash.js';
import { buildPod } from '../../../src/pod/build-pod.js';
import type { PodBuildOptions } from '../../../src/pod/build-pod.js';
import type { PodSettings } from '../../../src/pod/pod-settings.js';
import { TEST_POLICY_SETTINGS } from '../policy/test-policy.js';
import { TEST_POD_SETTINGS } from './test-pod-settings.js';

function options(pod: Partial<PodSettings> = {}): PodBuildOptions {
  return { pod: { ...TEST_POD_SETTINGS, ...pod }, policy: TEST_POLICY_SETTINGS };
}

const seedRequest: ChallengeRequest = {
  messageId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
  challengeId: 'web101',
  containers: [
    { image: 'myacr.azurecr.io/challenges/web:1', env: [] },
    { image: 'nginx', env: [] },
  ],
  labels: {},
};

describe('buildPod', () => {
  it('carries the result queue and traceparent as annotations, outside the request hash', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const routed = buildPod(seedRequest, options(), { resultQueue: 'team-a-results', traceparent });
    const plain = buildPod(seedRequest, options());
    expect(routed.metadata?.annotations).toEqual({
      ...plain.metadata?.annotations,
      'podbus.io/reply-to': 'team-a-results',
      'podbus.io/traceparent': traceparent,
    });
    // A redelivery with another replyTo or trace is still the same request.
    expect(routed.metadata?.annotations?.['podbus.io/request-hash']).toBe(requestHash(seedRequest));
    expect({ ...routed, metadata: undefined }).toEqual({ ...plain, metadata: undefined });
  });

  it("builds the seed's pod, hardened, with podbus's metadata", () => {
    expect(buildPod(seedRequest, options())).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
        labels: {
          messageId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
          challengeId: 'web101',
          'app.kubernetes.io/managed-by': 'podbus',
        },
        annotations: {
          'podbus.io/message-id': '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
          'podbus.io/challenge-id': 'web101',
          'podbus.io/request-hash': requestHash(seedRequest),
        },
      },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        activeDeadlineSeconds: 3600,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        containers: ['web101-01', 'web101-02'].map((name, i) => ({
          name,
          image: seedRequest.containers[i]?.image,
          imagePullPolicy: 'Always',
          resources: {
            requests: { cpu: '100m', memory: '128Mi' },
            limits: { cpu: '1', memory: '512Mi' },
          },
          securityContext: {
            privileged: false,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
        })),
      },
    });
  });

  it('leaves the namespace to the cluster the worker picks', () => {
    expect(buildPod(seedRequest, options()).metadata?.namespace).toBeUndefined();
  });

  it('sanitises names and label values but keeps the originals in annotations', () => {
    const request: ChallengeRequest = {
      ...seedRequest,
      messageId: '{3F2504E0-4F89-41D3-9A0C-0305E82C3301}',
      challengeId: 'Web 101!',
    };
    const pod = buildPod(request, options());
    expect(pod.metadata?.name).toBe(
      `3f2504e0-4f89-41d3-9a0c-0305e82c3301-${shortHash(request.messageId)}`,
    );
    expect(pod.metadata?.labels?.messageId).toBe(
      `3F2504E0-4F89-41D3-9A0C-0305E82C3301-${shortHash(request.messageId)}`,
    );
    expect(pod.metadata?.labels?.challengeId).toBe(`Web-101-${shortHash('Web 101!')}`);
    expect(pod.metadata?.annotations?.['podbus.io/message-id']).toBe(request.messageId);
    expect(pod.metadata?.annotations?.['podbus.io/challenge-id']).toBe('Web 101!');
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['web-101-01', 'web-101-02']);
  });

  it('carries the optional container fields and the requested deadline', () => {
    const request: ChallengeRequest = {
      messageId: 'm',
      challengeId: 'c',
      containers: [
        {
          image: 'nginx',
          name: 'web',
          command: ['sh'],
          args: ['-c', 'echo'],
          env: [{ name: 'A', value: '1' }],
          resources: { requests: { cpu: '1500m' }, limits: { memory: '1Gi' } },
        },
      ],
      labels: {},
      activeDeadlineSeconds: 120,
    };
    const pod = buildPod(request, options());
    expect(pod.spec?.activeDeadlineSeconds).toBe(120);
    expect(pod.spec?.containers[0]).toMatchObject({
      name: 'web',
      command: ['sh'],
      args: ['-c', 'echo'],
      env: [{ name: 'A', value: '1' }],
      resources: {
        requests: { cpu: '1500m', memory: '128Mi' },
        limits: { cpu: '1500m', memory: '1Gi' },
      },
    });
  });

  it('never lets message or operator labels override podbus labels', () => {
    const request: ChallengeRequest = {
      ...seedRequest,
      labels: { team: 'blue', messageId: 'spoofed', 'app.kubernetes.io/managed-by': 'me' },
    };
    const pod = buildPod(
      request,
      options({
        labels: { team: 'ops', challengeId: 'spoofed' },
        annotations: { 'podbus.io/request-hash': 'spoofed', note: 'x' },
      }),
    );
    expect(pod.metadata?.labels).toEqual({
      team: 'ops',
      messageId: seedRequest.messageId,
      challengeId: 'web101',
      'app.kubernetes.io/managed-by': 'podbus',
    });
    expect(pod.metadata?.annotations?.['podbus.io/request-hash']).toBe(requestHash(request));
    expect(pod.metadata?.annotations?.note).toBe('x');
  });

  it('applies every configurable pod setting', () => {
    const pod = buildPod(
      seedRequest,
      options({
        imagePullPolicy: 'IfNotPresent',
        terminationGracePeriodSeconds: 5,
        automountServiceAccountToken: true,
        enableServiceLinks: true,
        priorityClassName: 'challenges',
        securityContext: {
          runAsNonRoot: true,
          seccompProfile: 'none',
          allowPrivilegeEscalation: true,
          dropAllCapabilities: false,
          readOnlyRootFilesystem: true,
        },
      }),
    );
    expect(pod.spec).toMatchObject({
      terminationGracePeriodSeconds: 5,
      automountServiceAccountToken: true,
      enableServiceLinks: true,
      priorityClassName: 'challenges',
      securityContext: { runAsNonRoot: true },
    });
    expect(pod.spec?.securityContext?.seccompProfile).toBeUndefined();
    expect(pod.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
    expect(pod.spec?.containers[0]?.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: true,
      readOnlyRootFilesystem: true,
    });
  });

  it('omits the pod securityContext when nothing is set', () => {
    const pod = buildPod(
      seedRequest,
      options({
        securityContext: { ...TEST_POD_SETTINGS.securityContext, seccompProfile: 'none' },
      }),
    );
    expect(pod.spec).not.toHaveProperty('securityContext');
  });

  it('is pure: same input, same pod, and the input is not modified', () => {
    const frozen = JSON.parse(JSON.stringify(seedRequest)) as ChallengeRequest;
    const a = buildPod(frozen, options());
    const b = buildPod(frozen, options());
    expect(a).toEqual(b);
    expect(frozen).toEqual(seedRequest);
    const limits = a.spec?.containers[0]?.resources?.limits;
    if (limits) limits.cpu = '9';
    expect(buildPod(frozen, options()).spec?.containers[0]?.resources?.limits?.cpu).toBe('1');
  });
});
