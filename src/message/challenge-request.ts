/**
 * A challenge message after parsing and normalisation: camelCase, defaults for absent optional
 * lists filled in (`env: []`, `labels: {}`), `null` treated as absent, quantities as strings.
 * Both wire forms (the seed's PascalCase and camelCase) normalise to this one shape, so the
 * pod builder and the request hash never see the difference.
 */
export interface ChallengeRequest {
  /** The Service Bus messageId as a string: the pod's identity. */
  readonly messageId: string;
  readonly challengeId: string;
  readonly containers: readonly ContainerRequest[];
  /** Preferred cluster name, when the sender asked for one. */
  readonly cluster?: string;
  /** Labels the sender wants on the pod (checked by policy). */
  readonly labels: Readonly<Record<string, string>>;
  /** Requested deadline; the policy default applies when absent. */
  readonly activeDeadlineSeconds?: number;
}

export interface ContainerRequest {
  /** Image reference exactly as sent (policy normalises a copy for matching). */
  readonly image: string;
  /** Container name chosen by the sender (a DNS-1123 label); podbus generates one otherwise. */
  readonly name?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env: readonly EnvVar[];
  readonly resources?: ResourceRequest;
}

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

export type ResourceName = 'cpu' | 'memory';

/** Kubernetes quantities as strings, e.g. `{ cpu: '500m', memory: '128Mi' }`. */
export type ResourceList = Readonly<Partial<Record<ResourceName, string>>>;

export interface ResourceRequest {
  readonly requests?: ResourceList;
  readonly limits?: ResourceList;
}

/** Which wire form a message used; kept for logs and for phrasing errors in the sender's terms. */
export type MessageForm = 'seed' | 'camelCase';
