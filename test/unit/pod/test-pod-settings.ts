import type { PodSettings } from '../../../src/pod/pod-settings.js';

/** The `pod` section as the config defaults make it. */
export const TEST_POD_SETTINGS: PodSettings = {
  imagePullPolicy: 'Always',
  terminationGracePeriodSeconds: 0,
  automountServiceAccountToken: false,
  enableServiceLinks: false,
  priorityClassName: '',
  labels: {},
  annotations: {},
  securityContext: {
    runAsNonRoot: false,
    seccompProfile: 'RuntimeDefault',
    allowPrivilegeEscalation: false,
    dropAllCapabilities: true,
    readOnlyRootFilesystem: false,
  },
};
