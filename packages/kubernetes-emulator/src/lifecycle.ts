/**
 * Simulated scheduler and kubelet for one cluster's single node.
 *
 * A pod is created Pending and unscheduled; after `scheduleMs` it is bound to the node if the
 * node runs fewer than `nodeCapacityPods` non-terminal pods, otherwise it gets the condition
 * PodScheduled=False/Unschedulable and waits (FIFO) until a slot frees. Bound pods start after
 * `startMs` and their containers exit after `runMs`, unless the image convention says
 * otherwise (see containerOutcome in images.ts). Each step records the Events the scheduler and
 * the kubelet record (events.ts). All timers live in one min-heap with a single Node timer,
 * so 50,000 waiting pods cost no timers at all.
 */
import { goDuration, type EventKind, type EventRecorder } from './events.js';
import {
  containerOutcome,
  imageId,
  imageSizeBytes,
  normalizeImage,
  pullErrorMessage,
  type ContainerOutcome,
} from './images.js';
import { deletePod, type PodTerminator } from './pod-deletion.js';
import { defaultPullPolicy, podResourceType } from './pods.js';
import { rfc3339, type ClusterState } from './state.js';
import type { CollectionListener, JsonObject, StoredObject, WatchEvent } from './store.js';
import type { PodPhase, SetPodPhaseOptions } from './types.js';

export const NODE_IP = '172.18.0.2';

/** Labels of the cluster's single node (nodeSelector is matched against them). */
export function nodeLabels(nodeName: string): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'node-role.kubernetes.io/control-plane': '',
  };
}
type Action =
  'schedule' | 'accept' | 'start' | 'exit' | 'pullBackOff' | 'restart' | 'deadline' | 'remove';

interface TimerEntry {
  due: number;
  seq: number;
  key: string;
  gen: number;
  action: Action;
  container?: number;
}

/** Per-pod simulation state, kept only for pods that are not finished. */
interface PodRecord {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  gen: number;
  stage: 'unscheduled' | 'waiting' | 'bound' | 'running' | 'terminal';
  bound: boolean;
  outcomes: ContainerOutcome[];
  restartPolicy: string;
  /** Per container: terminated with this exit code (undefined while running). */
  exited: (number | undefined)[];
  restarts: number[];
  pullAttempts: number;
  manual: boolean;
  /** Being stopped for a graceful delete with this grace period (seconds). */
  stoppingGrace: number | undefined;
  /** False when the pod's nodeSelector does not match the node: never schedulable. */
  fits: boolean;
  containers: { name: string; image: string; pullPolicy: string }[];
  activeDeadlineSeconds: number | undefined;
}

class TimerHeap {
  private readonly heap: TimerEntry[] = [];
  get size(): number {
    return this.heap.length;
  }
  peek(): TimerEntry | undefined {
    return this.heap[0];
  }
  push(e: TimerEntry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p] as TimerEntry, h[i] as TimerEntry)) break;
      [h[p], h[i]] = [h[i] as TimerEntry, h[p] as TimerEntry];
      i = p;
    }
  }
  pop(): TimerEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l] as TimerEntry, h[m] as TimerEntry)) m = l;
        if (r < h.length && less(h[r] as TimerEntry, h[m] as TimerEntry)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i] as TimerEntry, h[m] as TimerEntry];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.heap.length = 0;
  }
}

function less(a: TimerEntry, b: TimerEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

export class PodLifecycle implements CollectionListener, PodTerminator {
  private readonly records = new Map<string, PodRecord>();
  /** Unschedulable pods waiting for a free slot, oldest first. */
  private readonly waiting = new Map<string, string>();
  private readonly timers = new TimerHeap();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private seq = 0;
  private boundCount = 0;
  private ipCounter: number;
  private stopped = false;

  /** Images the node has pulled (IfNotPresent pulls each once). */
  private readonly pulledImages = new Set<string>();

  constructor(
    private readonly state: ClusterState,
    private readonly events: EventRecorder,
  ) {
    this.ipCounter = 2 + state.random.int(200);
    state.collection(podResourceType).listeners.add(this);
  }

  get capacity(): number {
    return this.state.config.nodeCapacityPods;
  }

  /** Non-terminal pods bound to the node. */
  get boundPods(): number {
    return this.boundCount;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timers.clear();
    this.state.collection(podResourceType).listeners.delete(this);
  }

  onEvent(event: WatchEvent): void {
    const obj = event.object;
    const key = `${obj.namespace}/${obj.name}`;
    if (event.type === 'ADDED') {
      if (this.records.has(key)) return;
      this.track(obj, event.parsed);
    } else if (event.type === 'DELETED') {
      this.forget(key);
    } else if (event.type === 'MODIFIED') {
      const rec = this.records.get(key);
      const phase = obj.fields['status.phase'];
      if (rec && rec.stage !== 'terminal' && phase !== undefined && TERMINAL.has(phase)) {
        // Status forced by someone else (status subresource): stop simulating this pod.
        this.finish(rec);
      }
    }
  }

  private makeRecord(obj: StoredObject, parsed?: JsonObject): PodRecord {
    const pod = parsed ?? obj.parse();
    const spec = (pod.spec ?? {}) as JsonObject;
    const containers = (spec.containers as JsonObject[] | undefined) ?? [];
    return {
      key: `${obj.namespace}/${obj.name}`,
      namespace: obj.namespace,
      name: obj.name,
      uid: obj.uid,
      gen: 0,
      stage: 'unscheduled',
      bound: false,
      outcomes: containers.map((c) => containerOutcome(c, this.state.config.lifecycle.runMs)),
      restartPolicy: (spec.restartPolicy as string | undefined) ?? 'Always',
      exited: containers.map(() => undefined),
      restarts: containers.map(() => 0),
      pullAttempts: 0,
      manual: false,
      stoppingGrace: undefined,
      fits: this.fits(spec),
      containers: containers.map((c) => ({
        name: String(c.name),
        image: String(c.image),
        pullPolicy:
          typeof c.imagePullPolicy === 'string'
            ? c.imagePullPolicy
            : defaultPullPolicy(String(c.image)),
      })),
      activeDeadlineSeconds:
        typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds : undefined,
    };
  }

  private track(obj: StoredObject, parsed?: JsonObject): void {
    const phase = obj.fields['status.phase'];
    if (phase !== undefined && TERMINAL.has(phase)) return;
    const rec = this.makeRecord(obj, parsed);
    this.records.set(rec.key, rec);
    const nodeName = obj.fields['spec.nodeName'];
    if (nodeName) {
      // Bound at creation (spec.nodeName set by the client): no scheduler involved.
      if (nodeName !== this.state.config.nodeName) return; // no kubelet for other nodes
      rec.bound = true;
      rec.stage = 'bound';
      this.boundCount++;
      this.after(rec, 0, 'accept');
      return;
    }
    this.after(rec, this.state.config.lifecycle.scheduleMs, 'schedule');
  }

  private fits(spec: JsonObject): boolean {
    const selector = spec.nodeSelector as Record<string, string> | undefined;
    if (!selector) return true;
    const labels = nodeLabels(this.state.config.nodeName);
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  }

  private forget(key: string): void {
    const rec = this.records.get(key);
    this.waiting.delete(key);
    if (!rec) return;
    this.records.delete(key);
    rec.gen++;
    if (rec.bound && rec.stage !== 'terminal') this.release();
  }

  /** A node slot freed: schedule the oldest waiting pod. */
  private release(): void {
    this.boundCount = Math.max(0, this.boundCount - 1);
    this.scheduleWaiting();
  }

  private scheduleWaiting(): void {
    let free = this.capacity - this.boundCount;
    if (free <= 0 || this.waiting.size === 0) return;
    const pods = this.state.collection(podResourceType);
    for (const [key, uid] of this.waiting) {
      if (free <= 0) break;
      this.waiting.delete(key);
      const slash = key.indexOf('/');
      const obj = pods.get(key.slice(0, slash), key.slice(slash + 1));
      if (!obj || obj.uid !== uid) continue;
      const rec = this.makeRecord(obj);
      // Reserve the slot now so a burst of frees does not over-schedule.
      rec.bound = true;
      this.boundCount++;
      free--;
      this.records.set(key, rec);
      this.after(rec, Math.min(this.state.config.lifecycle.scheduleMs, 50), 'schedule');
    }
  }

  private after(rec: PodRecord, ms: number, action: Action, container?: number): void {
    if (this.stopped) return;
    const entry: TimerEntry = {
      due: Date.now() + Math.max(0, ms),
      seq: this.seq++,
      key: rec.key,
      gen: rec.gen,
      action,
    };
    if (container !== undefined) entry.container = container;
    this.timers.push(entry);
    this.arm();
  }

  private arm(): void {
    const next = this.timers.peek();
    if (!next || this.stopped) return;
    if (this.timer && next.due >= this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = next.due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.due - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = Date.now();
    let budget = 2000; // keep each tick short; the rest runs on the next tick
    while (budget-- > 0) {
      const next = this.timers.peek();
      if (!next || next.due > now) break;
      this.timers.pop();
      const rec = this.records.get(next.key);
      if (!rec || rec.gen !== next.gen) continue;
      try {
        this.run(rec, next);
      } catch {
        // A pod that vanished or changed shape mid-flight is simply no longer simulated.
      }
    }
    const next = this.timers.peek();
    if (next) {
      if (budget <= 0) {
        this.timerDue = now;
        this.timer = setTimeout(() => this.fire(), 0);
        this.timer.unref();
      } else this.arm();
    }
  }

  /** The pod as event recorders reference it; undefined when it is gone or replaced. */
  private reference(rec: PodRecord) {
    const pod = this.state.collection(podResourceType).get(rec.namespace, rec.name);
    if (!pod || pod.uid !== rec.uid) return undefined;
    return {
      namespace: rec.namespace,
      name: rec.name,
      uid: rec.uid,
      resourceVersion: String(pod.rv),
    };
  }

  private kubeletEvent(
    rec: PodRecord,
    type: EventKind,
    reason: string,
    message: string,
    container?: string,
  ): void {
    const ref = this.reference(rec);
    if (ref) this.events.kubelet(ref, type, reason, message, container);
  }

  private schedulerEvent(
    rec: PodRecord,
    type: EventKind,
    reason: string,
    message: string,
    action: 'Binding' | 'Scheduling',
  ): void {
    const ref = this.reference(rec);
    if (ref) this.events.scheduler(ref, type, reason, message, action);
  }

  /**
   * What the kubelet's image manager records before it can create a container: the pull
   * (Pulling/Pulled, or "already present" for IfNotPresent and Never once the node has it).
   */
  private recordPull(rec: PodRecord, index: number): void {
    const c = rec.containers[index];
    if (!c) return;
    const ref = normalizeImage(c.image);
    const present = this.pulledImages.has(ref) || c.pullPolicy === 'Never';
    if (present && c.pullPolicy !== 'Always') {
      this.kubeletEvent(
        rec,
        'Normal',
        'Pulled',
        `Container image "${c.image}" already present on machine`,
        c.name,
      );
      return;
    }
    this.kubeletEvent(rec, 'Normal', 'Pulling', `Pulling image "${c.image}"`, c.name);
    const took = goDuration(Math.max(1, this.state.config.lifecycle.startMs / 2));
    this.kubeletEvent(
      rec,
      'Normal',
      'Pulled',
      `Successfully pulled image "${c.image}" in ${took} (${took} including waiting). Image size: ${imageSizeBytes(c.image)} bytes.`,
      c.name,
    );
    this.pulledImages.add(ref);
  }

  /** Pull (if needed), Created and Started: what starting container `index` records. */
  private recordContainerStart(rec: PodRecord, index: number): void {
    const name = rec.containers[index]?.name;
    if (name === undefined) return;
    this.recordPull(rec, index);
    this.kubeletEvent(rec, 'Normal', 'Created', `Created container ${name}`, name);
    this.kubeletEvent(rec, 'Normal', 'Started', `Started container ${name}`, name);
  }

  /** `Stopping container <name>` for each container still running (graceful stop, deadline). */
  private recordKilling(rec: PodRecord): void {
    if (rec.stage !== 'running') return;
    rec.containers.forEach((c, i) => {
      if (rec.exited[i] === undefined)
        this.kubeletEvent(rec, 'Normal', 'Killing', `Stopping container ${c.name}`, c.name);
    });
  }

  /** Reads the pod, lets `mutate` change it, stores it. Skips pods that changed identity. */
  private write(rec: PodRecord, mutate: (pod: JsonObject, nowIso: string) => void): boolean {
    const c = this.state.collection(podResourceType);
    const prev = c.get(rec.namespace, rec.name);
    if (!prev || prev.uid !== rec.uid) {
      this.forget(rec.key);
      return false;
    }
    const pod = prev.parse();
    mutate(pod, rfc3339(Date.now()));
    this.state.replace(podResourceType, pod, prev);
    return true;
  }

  /** Status-only write (most kubelet updates): splices the status, no full re-serialization. */
  private writeStatus(
    rec: PodRecord,
    mutate: (status: JsonObject, nowIso: string) => void,
  ): boolean {
    const c = this.state.collection(podResourceType);
    const prev = c.get(rec.namespace, rec.name);
    if (!prev || prev.uid !== rec.uid) {
      this.forget(rec.key);
      return false;
    }
    const now = rfc3339(Date.now());
    this.state.replaceStatus(podResourceType, prev, (status) => mutate(status, now));
    return true;
  }

  private run(rec: PodRecord, t: TimerEntry): void {
    switch (t.action) {
      case 'schedule':
        return this.doSchedule(rec);
      case 'accept':
        return this.doAccept(rec);
      case 'start':
        return this.doStart(rec);
      case 'exit':
        return this.doExit(rec, t.container ?? 0);
      case 'restart':
        return this.doRestart(rec, t.container ?? 0);
      case 'pullBackOff':
        return this.doPullBackOff(rec);
      case 'deadline':
        return this.doDeadline(rec);
      case 'remove':
        return this.doRemove(rec);
    }
  }

  private doSchedule(rec: PodRecord): void {
    const pod = this.state.collection(podResourceType).get(rec.namespace, rec.name);
    if (!pod || pod.uid !== rec.uid) return this.forget(rec.key);
    const deleting = pod.body.includes('"deletionTimestamp"');
    if (deleting) return;
    if (!rec.fits) {
      // Never schedulable on this node (nodeSelector is immutable): nothing left to simulate.
      this.markUnschedulable(
        rec,
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
      );
      this.records.delete(rec.key);
      rec.gen++;
      return;
    }
    if (!rec.bound) {
      if (this.boundCount >= this.capacity) {
        // Wait for a free slot (FIFO) without a record: 50,000 waiting pods cost a map entry each.
        rec.stage = 'waiting';
        this.waiting.set(rec.key, rec.uid);
        this.markUnschedulable(
          rec,
          '0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
        );
        this.records.delete(rec.key);
        rec.gen++;
        return;
      }
      rec.bound = true;
      this.boundCount++;
    }
    rec.stage = 'bound';
    const bound = this.write(rec, (p, now) => {
      (p.spec as JsonObject).nodeName = this.state.config.nodeName;
      const status = (p.status ?? {}) as JsonObject;
      status.conditions = [
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      ];
      p.status = status;
    });
    if (bound)
      this.schedulerEvent(
        rec,
        'Normal',
        'Scheduled',
        `Successfully assigned ${rec.namespace}/${rec.name} to ${this.state.config.nodeName}`,
        'Binding',
      );
    this.after(rec, Math.min(this.state.config.lifecycle.startMs / 2, 50), 'accept');
  }

  private markUnschedulable(rec: PodRecord, message: string): void {
    this.schedulerEvent(rec, 'Warning', 'FailedScheduling', message, 'Scheduling');
    this.writeStatus(rec, (status, now) => {
      status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: now,
          reason: 'Unschedulable',
          message,
        },
      ];
    });
  }

  private containerNames(p: JsonObject): { name: string; image: string }[] {
    const containers = ((p.spec as JsonObject).containers as JsonObject[] | undefined) ?? [];
    return containers.map((c) => ({ name: String(c.name), image: String(c.image) }));
  }

  private baseConditions(
    now: string,
    ready: boolean,
    reason?: string,
    message?: string,
  ): JsonObject[] {
    const notReady = (type: string): JsonObject => {
      const c: JsonObject = { type, status: 'False', lastProbeTime: null, lastTransitionTime: now };
      if (reason) c.reason = reason;
      if (message) c.message = message;
      return c;
    };
    return [
      {
        type: 'PodReadyToStartContainers',
        status: ready ? 'True' : 'False',
        lastProbeTime: null,
        lastTransitionTime: now,
      },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      ready
        ? { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: now }
        : notReady('Ready'),
      ready
        ? { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: now }
        : notReady('ContainersReady'),
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
    ];
  }

  private doAccept(rec: PodRecord): void {
    const ok = this.writeStatus(rec, (status, now) => {
      const names = rec.containers;
      status.phase = 'Pending';
      status.conditions = this.baseConditions(
        now,
        false,
        'ContainersNotReady',
        `containers with unready status: [${names.map((n) => n.name).join(' ')}]`,
      );
      status.hostIP = NODE_IP;
      status.hostIPs = [{ ip: NODE_IP }];
      status.startTime = now;
      status.containerStatuses = names.map((c) => ({
        name: c.name,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: c.image,
        imageID: '',
        started: false,
      }));
    });
    if (!ok) return;
    rec.stage = 'bound';
    if (rec.activeDeadlineSeconds !== undefined)
      this.after(rec, rec.activeDeadlineSeconds * 1000, 'deadline');
    this.after(rec, Math.max(0, this.state.config.lifecycle.startMs - 50), 'start');
  }

  private nextPodIp(): string {
    const n = this.ipCounter++ % 65024;
    const host = (n % 254) + 1;
    const subnet = Math.floor(n / 254) % 256;
    return `10.244.${subnet}.${host}`;
  }

  private containerId(): string {
    let hex = '';
    for (let i = 0; i < 8; i++) hex += this.state.random.uint32().toString(16).padStart(8, '0');
    return `containerd://${hex}`;
  }

  private doStart(rec: PodRecord): void {
    if (rec.outcomes.some((o) => o.pullError || o.invalidImage !== undefined))
      return this.failImages(rec);
    rec.stage = 'running';
    rec.containers.forEach((_, i) => this.recordContainerStart(rec, i));
    const ip = this.nextPodIp();
    const ok = this.writeStatus(rec, (status, now) => {
      const names = rec.containers;
      status.phase = 'Running';
      status.conditions = this.baseConditions(now, true);
      status.podIP = ip;
      status.podIPs = [{ ip }];
      status.containerStatuses = names.map((c) => ({
        name: c.name,
        state: { running: { startedAt: now } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: normalizeImage(c.image),
        imageID: imageId(c.image),
        containerID: this.containerId(),
        started: true,
      }));
    });
    if (!ok) return;
    rec.outcomes.forEach((o, i) => {
      if (o.runMs !== undefined) this.after(rec, o.runMs, 'exit', i);
    });
  }

  /**
   * A container whose image cannot be had keeps the pod Pending: InvalidImageName for a
   * reference the kubelet refuses (for good), ErrImagePull then ImagePullBackOff, alternating
   * with a doubling back-off, for a registry that cannot be reached. The other containers wait.
   */
  private failImages(rec: PodRecord): void {
    const names = rec.containers;
    const waiting = names.map((c, i): JsonObject => {
      const o = rec.outcomes[i] as ContainerOutcome;
      if (o.invalidImage !== undefined) {
        this.kubeletEvent(rec, 'Warning', 'InspectFailed', o.invalidImage, c.name);
        this.kubeletEvent(rec, 'Warning', 'Failed', 'Error: InvalidImageName', c.name);
        return { reason: 'InvalidImageName', message: o.invalidImage };
      }
      if (o.pullError) {
        const message = pullErrorMessage(c.image);
        this.kubeletEvent(rec, 'Normal', 'Pulling', `Pulling image "${c.image}"`, c.name);
        this.kubeletEvent(
          rec,
          'Warning',
          'Failed',
          `Failed to pull image "${c.image}": ${message}`,
          c.name,
        );
        this.kubeletEvent(rec, 'Warning', 'Failed', 'Error: ErrImagePull', c.name);
        return { reason: 'ErrImagePull', message };
      }
      return { reason: 'PodInitializing' };
    });
    rec.pullAttempts++;
    this.writeStatus(rec, (status, now) => {
      status.containerStatuses = names.map((c, i) => ({
        name: c.name,
        state: { waiting: waiting[i] },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: c.image,
        imageID: '',
        started: false,
      }));
      status.conditions = this.baseConditions(
        now,
        false,
        'ContainersNotReady',
        `containers with unready status: [${names.map((n) => n.name).join(' ')}]`,
      );
    });
    if (rec.outcomes.some((o) => o.pullError))
      this.after(rec, this.state.config.lifecycle.startMs, 'pullBackOff');
  }

  private doPullBackOff(rec: PodRecord): void {
    const names = rec.containers;
    names.forEach((c, i) => {
      if (!rec.outcomes[i]?.pullError) return;
      this.kubeletEvent(rec, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, c.name);
      this.kubeletEvent(rec, 'Warning', 'Failed', 'Error: ImagePullBackOff', c.name);
    });
    this.writeStatus(rec, (status) => {
      const statuses = status.containerStatuses as JsonObject[] | undefined;
      for (const cs of statuses ?? []) {
        const i = names.findIndex((n) => n.name === cs.name);
        if (rec.outcomes[i]?.pullError)
          cs.state = {
            waiting: {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${names[i]?.image ?? ''}"`,
            },
          };
      }
    });
    const backoff = Math.min(
      this.state.config.lifecycle.startMs * 2 ** rec.pullAttempts,
      60 * this.state.config.lifecycle.startMs + 1000,
    );
    this.after(rec, backoff, 'start');
  }

  private doExit(rec: PodRecord, index: number): void {
    const outcome = rec.outcomes[index];
    if (!outcome || rec.exited[index] !== undefined) return;
    rec.exited[index] = outcome.exitCode;
    const restart =
      rec.restartPolicy === 'Always' ||
      (rec.restartPolicy === 'OnFailure' && outcome.exitCode !== 0);
    const allDone = rec.exited.every((e) => e !== undefined);
    let terminal: PodPhase | undefined;
    if (!restart && allDone) {
      // Never, or OnFailure with every container done: Succeeded unless one failed.
      terminal = rec.exited.every((e) => e === 0) ? 'Succeeded' : 'Failed';
    }
    this.writeStatus(rec, (status, now) => {
      const statuses = (status.containerStatuses as JsonObject[] | undefined) ?? [];
      const cs = statuses[index];
      if (cs) {
        const startedAt =
          ((cs.state as JsonObject).running as JsonObject | undefined)?.startedAt ?? now;
        const terminated = {
          exitCode: outcome.exitCode,
          reason: outcome.terminatedReason,
          startedAt,
          finishedAt: now,
          containerID: cs.containerID,
        };
        cs.ready = false;
        cs.started = false;
        if (restart) {
          cs.lastState = { terminated };
          cs.restartCount = rec.restarts[index] = (rec.restarts[index] ?? 0) + 1;
          cs.state = {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${Math.min(10 * 2 ** ((rec.restarts[index] ?? 1) - 1), 300)}s restarting failed container=${String(cs.name)} pod=${rec.name}_${rec.namespace}(${rec.uid})`,
            },
          };
        } else cs.state = { terminated };
      }
      const names = statuses.filter((s) => s.ready !== true).map((s) => String(s.name));
      if (terminal) {
        status.phase = terminal;
        status.conditions = this.baseConditions(now, false, 'PodCompleted').map((c) =>
          c.type === 'PodReadyToStartContainers' ? { ...c, status: 'False' } : c,
        );
      } else {
        status.conditions = this.baseConditions(
          now,
          false,
          'ContainersNotReady',
          `containers with unready status: [${names.join(' ')}]`,
        ).map((c) => (c.type === 'PodReadyToStartContainers' ? { ...c, status: 'True' } : c));
      }
    });
    if (terminal) return this.finish(rec);
    if (restart) {
      const name = rec.containers[index]?.name ?? '';
      this.kubeletEvent(
        rec,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${name} in pod ${rec.name}_${rec.namespace}(${rec.uid})`,
        name,
      );
      const backoff = Math.min(
        this.state.config.lifecycle.startMs * 2 ** ((rec.restarts[index] ?? 1) - 1),
        30 * this.state.config.lifecycle.startMs + 1000,
      );
      this.after(rec, backoff, 'restart', index);
    }
  }

  private doRestart(rec: PodRecord, index: number): void {
    rec.exited[index] = undefined;
    this.recordContainerStart(rec, index);
    this.writeStatus(rec, (status, now) => {
      const statuses = (status.containerStatuses as JsonObject[] | undefined) ?? [];
      const cs = statuses[index];
      if (cs) {
        cs.state = { running: { startedAt: now } };
        cs.ready = true;
        cs.started = true;
        cs.containerID = this.containerId();
      }
      const allReady = statuses.every((s) => s.ready === true);
      status.conditions = this.baseConditions(now, allReady);
    });
    const o = rec.outcomes[index];
    if (o && o.runMs !== undefined) this.after(rec, o.runMs, 'exit', index);
  }

  private doDeadline(rec: PodRecord): void {
    if (rec.stage === 'terminal') return;
    this.kubeletEvent(
      rec,
      'Normal',
      'DeadlineExceeded',
      'Pod was active on the node longer than the specified deadline',
    );
    this.recordKilling(rec);
    this.writeStatus(rec, (status, now) => {
      status.phase = 'Failed';
      status.reason = 'DeadlineExceeded';
      status.message = 'Pod was active on the node longer than the specified deadline';
      status.conditions = this.baseConditions(now, false, 'PodFailed');
      for (const cs of (status.containerStatuses as JsonObject[] | undefined) ?? []) {
        const state = (cs.state ?? {}) as JsonObject;
        if (state.terminated) continue;
        const startedAt = (state.running as JsonObject | undefined)?.startedAt;
        cs.state = {
          terminated: {
            exitCode: 137,
            reason: 'Error',
            startedAt: startedAt ?? null,
            finishedAt: now,
            ...(cs.containerID ? { containerID: cs.containerID } : {}),
          },
        };
        cs.ready = false;
        cs.started = false;
      }
    });
    this.finish(rec);
  }

  /** The pod reached a terminal phase: free its slot, stop simulating it. */
  private finish(rec: PodRecord): void {
    if (rec.stage === 'terminal') return;
    rec.stage = 'terminal';
    rec.gen++;
    this.records.delete(rec.key);
    this.waiting.delete(rec.key);
    if (rec.bound) this.release();
  }

  /**
   * Graceful deletion of a bound, running pod: removed after `terminateMs` capped by the grace
   * period. Returns false when the pod should be deleted at once (unbound or terminal).
   */
  scheduleRemoval(namespace: string, name: string, graceSeconds: number): boolean {
    const key = `${namespace}/${name}`;
    const rec = this.records.get(key);
    if (!rec || !rec.bound || rec.stage === 'terminal') return false;
    rec.manual = true;
    rec.gen++;
    if (rec.stoppingGrace === undefined) this.recordKilling(rec);
    rec.stoppingGrace = graceSeconds;
    const ms = Math.min(this.state.config.lifecycle.terminateMs, graceSeconds * 1000);
    this.after(rec, ms, 'remove');
    return true;
  }

  /**
   * The kubelet finishes a graceful delete: the stopped containers' final status (the pod turns
   * terminal, as kubelets since 1.27 report before the pod goes), then its own delete with grace
   * 0, which removes the object.
   */
  private doRemove(rec: PodRecord): void {
    const pods = this.state.collection(podResourceType);
    const prev = pods.get(rec.namespace, rec.name);
    if (!prev || prev.uid !== rec.uid) return this.forget(rec.key);
    if (rec.stage === 'running') this.writeStopped(rec);
    const current = pods.get(rec.namespace, rec.name);
    if (current && current.uid === rec.uid) deletePod(this.state, current, 0, this);
  }

  /**
   * Containers still running when a graceful delete stopped them: terminated with 143 when they
   * went within the grace period (SIGTERM), 137 when the grace period ran out (SIGKILL).
   */
  private writeStopped(rec: PodRecord): void {
    const killed = this.state.config.lifecycle.terminateMs >= (rec.stoppingGrace ?? 0) * 1000;
    this.writeStatus(rec, (status, now) => {
      const statuses = (status.containerStatuses as JsonObject[] | undefined) ?? [];
      for (const cs of statuses) {
        const running = (cs.state as JsonObject | undefined)?.running as JsonObject | undefined;
        if (!running) continue;
        cs.state = {
          terminated: {
            exitCode: killed ? 137 : 143,
            reason: 'Error',
            startedAt: running.startedAt ?? null,
            finishedAt: now,
            ...(cs.containerID ? { containerID: cs.containerID } : {}),
          },
        };
        cs.ready = false;
        cs.started = false;
      }
      const succeeded = statuses.every(
        (cs) => ((cs.state as JsonObject).terminated as JsonObject | undefined)?.exitCode === 0,
      );
      status.phase = succeeded ? 'Succeeded' : 'Failed';
      status.conditions = this.baseConditions(
        now,
        false,
        succeeded ? 'PodCompleted' : 'PodFailed',
      ).map((c) => (c.type === 'PodReadyToStartContainers' ? { ...c, status: 'False' } : c));
    });
  }

  /** Test helper: force a phase now. */
  setPhase(
    namespace: string,
    name: string,
    phase: PodPhase,
    options: SetPodPhaseOptions = {},
  ): void {
    const key = `${namespace}/${name}`;
    const c = this.state.collection(podResourceType);
    const prev = c.get(namespace, name);
    if (!prev) throw new Error(`pod ${key} not found`);
    let rec = this.records.get(key);
    if (!rec) {
      this.track(prev);
      rec = this.records.get(key);
    }
    if (rec) {
      rec.gen++;
      rec.manual = true;
      this.waiting.delete(key);
    }
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const exitCode = options.exitCode ?? (phase === 'Failed' ? 1 : 0);
    const ip = phase === 'Running' || terminal ? this.nextPodIp() : undefined;
    if (rec && (phase === 'Running' || terminal) && !rec.bound) {
      rec.bound = true;
      this.boundCount++;
    }
    const pod = prev.parse();
    const now = rfc3339(Date.now());
    const spec = pod.spec as JsonObject;
    if ((phase === 'Running' || terminal) && !spec.nodeName)
      spec.nodeName = this.state.config.nodeName;
    const status = (pod.status ?? {}) as JsonObject;
    status.phase = phase;
    if (options.reason) status.reason = options.reason;
    if (options.message) status.message = options.message;
    if (phase === 'Running' || terminal) {
      status.hostIP ??= NODE_IP;
      status.hostIPs ??= [{ ip: NODE_IP }];
      status.podIP ??= ip;
      status.podIPs ??= [{ ip: status.podIP }];
      status.startTime ??= now;
      status.conditions = this.baseConditions(
        now,
        phase === 'Running',
        terminal ? 'PodCompleted' : undefined,
      );
      status.containerStatuses = this.containerNames(pod).map((c) => ({
        name: c.name,
        state:
          phase === 'Running'
            ? { running: { startedAt: now } }
            : {
                terminated: {
                  exitCode,
                  reason: exitCode === 0 ? 'Completed' : 'Error',
                  startedAt: now,
                  finishedAt: now,
                },
              },
        lastState: {},
        ready: phase === 'Running',
        restartCount: 0,
        image: normalizeImage(c.image),
        imageID: imageId(c.image),
        containerID: this.containerId(),
        started: phase === 'Running',
      }));
    }
    pod.status = status;
    this.state.replace(podResourceType, pod, prev);
    if (rec) {
      if (terminal) this.finish(rec);
      else rec.stage = phase === 'Running' ? 'running' : rec.stage;
    }
  }
}
