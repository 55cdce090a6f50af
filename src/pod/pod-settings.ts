/** How podbus shapes every pod: the `pod` section of the configuration. */
export interface PodSettings {
  /** The seed used Always (challenge images are often re-pushed under one tag). */
  readonly imagePullPolicy: ImagePullPolicy;
  /** The seed used 0: challenge pods are disposable and should stop at once. */
  readonly terminationGracePeriodSeconds: number;
  /** false: challenge code has no business talking to the Kubernetes API as the pod's account. */
  readonly automountServiceAccountToken: boolean;
  /** false: no environment variables describing the namespace's other services. */
  readonly enableServiceLinks: boolean;
  /** Priority class for challenge pods; '' leaves the cluster default. */
  readonly priorityClassName: string;
  /** Extra labels on every pod (podbus's own labels take precedence). */
  readonly labels: Readonly<Record<string, string>>;
  /** Extra annotations on every pod (podbus's own annotations take precedence). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly securityContext: SecuritySettings;
}

export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export type SeccompProfile = 'RuntimeDefault' | 'Unconfined' | 'none';

export interface SecuritySettings {
  /**
   * Off by default: many challenge images run as root, and with this on the kubelet refuses to
   * start them (CreateContainerConfigError) long after podbus created the pod. Turn it on when
   * every allowed image runs as a non-root user.
   */
  readonly runAsNonRoot: boolean;
  /** `none` omits the field (the runtime decides); RuntimeDefault blocks rare, risky syscalls. */
  readonly seccompProfile: SeccompProfile;
  readonly allowPrivilegeEscalation: boolean;
  /** Drops every Linux capability (`capabilities.drop: [ALL]`). */
  readonly dropAllCapabilities: boolean;
  /** Off by default: most challenge images write to their own filesystem. */
  readonly readOnlyRootFilesystem: boolean;
}
