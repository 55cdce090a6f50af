/**
 * core/v1 Events as the components of a real cluster record them about pods, so that
 * `kubectl describe pod`, `kubectl get events` and an events watch show what they show there:
 *
 * - the kubelet (client-go's legacy recorder): `source {component: kubelet, host}`,
 *   `firstTimestamp`/`lastTimestamp`/`count`, `eventTime: null`; a repeat of the same event
 *   (same object, container, reason and message) is folded into it, `count` + 1, as the
 *   recorder's EventCorrelator does;
 * - the scheduler (the events.k8s.io recorder, seen through core/v1): `eventTime` (a MicroTime),
 *   `action`, `reportingComponent: default-scheduler`, empty `source`, null timestamps.
 *
 * Events expire `ttlSeconds` after their last write (kube-apiserver's --event-ttl, 1 h), and
 * watches see them DELETED then, as when etcd's lease ends.
 */
import { nowMicro } from './micro-time.js';
import { podResourceType } from './pods.js';
import { eventType } from './resources.js';
import { rfc3339, type ClusterState } from './state.js';
import type { JsonObject } from './store.js';

/** The pod an event is about, as the recorder references it. */
export interface PodReference {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

export type EventKind = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** False: record nothing (heavy benchmarks). */
  record: boolean;
  ttlSeconds: number;
  nodeName: string;
}

interface Expiry {
  namespace: string;
  name: string;
  rv: number;
  at: number;
}

export class EventRecorder {
  /**
   * Per pod uid: kubelet events by correlation key -> stored event name, for count aggregation.
   * Dropped when the pod ends or goes: the kubelet records nothing that repeats after that.
   */
  private readonly folded = new Map<string, Map<string, string>>();
  private readonly expiries: Expiry[] = [];
  private head = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private sequence = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly options: EventRecorderOptions,
  ) {
    const events = state.collection(eventType);
    events.listeners.add({
      onEvent: (e) => {
        if (e.type === 'DELETED') return;
        this.expiries.push({
          namespace: e.object.namespace,
          name: e.object.name,
          rv: e.object.rv,
          at: Date.now() + options.ttlSeconds * 1000,
        });
        this.armSweeper();
      },
    });
    state.collection(podResourceType).listeners.add({
      onEvent: (e) => {
        const phase = e.object.fields['status.phase'];
        if (e.type === 'DELETED' || phase === 'Succeeded' || phase === 'Failed')
          this.folded.delete(e.object.uid);
      },
    });
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** An event the kubelet records, about the pod or (with `container`) one of its containers. */
  kubelet(
    pod: PodReference,
    type: EventKind,
    reason: string,
    message: string,
    container?: string,
  ): void {
    if (!this.options.record) return;
    const node = this.options.nodeName;
    const fieldPath = container === undefined ? undefined : `spec.containers{${container}}`;
    const key = [fieldPath ?? '', type, reason, message].join('\u0000');
    const events = this.state.collection(eventType);
    const nowIso = rfc3339(Date.now());
    let folded = this.folded.get(pod.uid);
    if (folded === undefined) {
      folded = new Map();
      this.folded.set(pod.uid, folded);
    }
    const existingName = folded.get(key);
    const existing =
      existingName === undefined ? undefined : events.get(pod.namespace, existingName);
    if (existing) {
      const event = existing.parse();
      event.count = ((event.count as number | undefined) ?? 1) + 1;
      event.lastTimestamp = nowIso;
      this.state.replace(eventType, event, existing);
      return;
    }
    const stored = this.state.insert(eventType, {
      metadata: { name: this.eventName(pod.name), namespace: pod.namespace },
      involvedObject: involvedObject(pod, fieldPath),
      reason,
      message,
      source: { component: 'kubelet', host: node },
      firstTimestamp: nowIso,
      lastTimestamp: nowIso,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: 'kubelet',
      reportingInstance: node,
    });
    folded.set(key, stored.name);
  }

  /** An event the default scheduler records (`action` Binding or Scheduling). */
  scheduler(
    pod: PodReference,
    type: EventKind,
    reason: string,
    message: string,
    action: string,
  ): void {
    if (!this.options.record) return;
    this.state.insert(eventType, {
      metadata: { name: this.eventName(pod.name), namespace: pod.namespace },
      involvedObject: involvedObject(pod, undefined),
      reason,
      message,
      source: {},
      firstTimestamp: null,
      lastTimestamp: null,
      type,
      eventTime: nowMicro(),
      action,
      reportingComponent: 'default-scheduler',
      reportingInstance: `default-scheduler-${this.options.nodeName}`,
    });
  }

  /** `<object>.<hex nanoseconds>`, as both recorders name events. */
  private eventName(objectName: string): string {
    const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000);
    return `${objectName}.${nanos.toString(16)}`;
  }

  private armSweeper(): void {
    if (this.sweeper !== undefined) return;
    const every = Math.min(this.options.ttlSeconds * 1000, 10_000);
    this.sweeper = setInterval(() => this.expire(), Math.max(every, 10));
    this.sweeper.unref();
  }

  /** Removes events whose last write is older than the TTL. */
  expire(now = Date.now()): void {
    const events = this.state.collection(eventType);
    while (this.head < this.expiries.length) {
      const e = this.expiries[this.head] as Expiry;
      if (e.at > now) break;
      this.head++;
      const obj = events.get(e.namespace, e.name);
      if (obj && obj.rv === e.rv) this.state.remove(eventType, obj);
    }
    if (this.head > 1024 && this.head * 2 > this.expiries.length) {
      this.expiries.splice(0, this.head);
      this.head = 0;
    }
  }
}

function involvedObject(pod: PodReference, fieldPath: string | undefined): JsonObject {
  const ref: JsonObject = {
    kind: 'Pod',
    namespace: pod.namespace,
    name: pod.name,
    uid: pod.uid,
    apiVersion: 'v1',
    resourceVersion: pod.resourceVersion,
  };
  if (fieldPath !== undefined) ref.fieldPath = fieldPath;
  return ref;
}

/** A duration as Go's time.Duration prints it, truncated to milliseconds (`523ms`, `1.5s`). */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  if (whole === 0) return '0s';
  if (whole < 1000) return `${whole}ms`;
  const minutes = Math.floor(whole / 60_000);
  const seconds = ((whole % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, '');
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
