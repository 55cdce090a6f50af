import type { DeadLetterSummary } from '../dead-letter-queue.js';
import { printable } from '../output/printable.js';
import { renderTable } from '../output/table.js';
import type { ChallengeStatus, ClusterReport, PlaceReport } from './challenge-status.js';
import type { ContainerReport, EventReport, PodReport } from './pod-report.js';
import type { QueuedMessage } from './queue-search.js';

/**
 * `podbus status` as text: a headline saying where the challenge is, then, like a compact
 * `kubectl describe pod`, the pod's containers and events, and where else podbus looked.
 */

export interface RenderOptions {
  /** The queue's name, as the operator knows it. */
  readonly queue: string;
  /** What time it is, for the ages of events. */
  readonly now: number;
  /** Fit tables to a terminal this wide; undefined prints every cell whole. */
  readonly maxWidth?: number;
}

const INDENT = '  ';
const LABEL_WIDTH = 14;

export function statusText(status: ChallengeStatus, options: RenderOptions): string {
  const lines = [headline(status, options)];
  const field = (label: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') {
      lines.push(`${INDENT}${`${label}:`.padEnd(LABEL_WIDTH)}${printable(value)}`);
    }
  };
  field('Challenge', status.challengeId);
  for (const pod of status.pods) podLines(pod, field, lines, options);
  field('Queue', queueText(status.queue, options.queue));
  field(
    'Dead letters',
    deadLetterText(status.deadLetterQueue, `${options.queue}/$deadletterqueue`),
  );
  field('Clusters', clustersText(status.podName, status.clusters));
  return `${lines.join('\n')}\n`;
}

/** One line: the ID, its state and the gist of it (`age: false` leaves out the pod's age). */
export function headline(
  status: ChallengeStatus,
  options: Pick<RenderOptions, 'queue'> & { readonly age?: boolean },
): string {
  return printable(headlineText(status, options));
}

function headlineText(
  status: ChallengeStatus,
  options: Pick<RenderOptions, 'queue'> & { readonly age?: boolean },
): string {
  const id = status.messageId;
  const pod = status.pods[0];
  if (pod !== undefined) {
    const age =
      pod.ageSeconds === undefined || options.age === false
        ? ''
        : `, ${formatAge(pod.ageSeconds)} old`;
    const where = `on cluster ${pod.cluster} (pod ${pod.namespace}/${pod.name}${age})`;
    const why = podWhy(pod);
    return `${id}: ${status.state} ${where}${why ? `: ${why}` : ''}`;
  }
  switch (status.state) {
    case 'dead-lettered': {
      const dead = firstOf(status.deadLetterQueue);
      const reason = dead?.deadLetterReason ?? 'no reason given';
      const description = dead?.deadLetterErrorDescription;
      return `${id}: dead-lettered: ${reason}${description ? `: ${description}` : ''}`;
    }
    case 'queued':
    case 'scheduled':
    case 'deferred': {
      const queued = firstOf(status.queue);
      const when = queued?.scheduledFor ? ` for ${queued.scheduledFor}` : '';
      return `${id}: ${status.state}${when} in ${options.queue}, no pod yet`;
    }
    case 'not-found':
      return `${id}: not found: not in ${options.queue} or its dead-letter queue, and no cluster has a pod ${status.podName} for it`;
    case 'deleted':
      return `${id}: deleted: its pod ${status.podName} was deleted`;
    default:
      return `${id}: unknown: not found where podbus could look, but not every place could be searched (below)`;
  }
}

/** The containers in a few words: `web-01 running, web-02 terminated (Error, exit 3)`. */
export function containersInBrief(pod: PodReport): string {
  return pod.containers
    .map((c) => {
      const details = [c.reason, c.exitCode === undefined ? undefined : `exit ${c.exitCode}`]
        .filter((d) => d !== undefined)
        .join(', ');
      return `${c.name} ${c.state}${details ? ` (${details})` : ''}`;
    })
    .join(', ');
}

/** Why a pod is where it is, in a few words: an exit code, a waiting reason, a message. */
function podWhy(pod: PodReport): string {
  const exits = pod.containers
    .filter((c) => c.exitCode !== undefined && c.exitCode !== 0)
    .map((c) => `${c.name} exit code ${c.exitCode}${c.reason ? ` (${c.reason})` : ''}`);
  switch (pod.state) {
    case 'failed':
      return [exits.join(', '), pod.reason !== undefined && exits.length === 0 ? pod.reason : '']
        .filter((s) => s !== '')
        .join('; ');
    case 'deadline-exceeded':
    case 'image-pull-failing':
    case 'unschedulable':
    case 'unknown':
      return [pod.reason, pod.message].filter((s) => s !== undefined).join(': ');
    default:
      return '';
  }
}

function podLines(
  pod: PodReport,
  field: (label: string, value: string | undefined) => void,
  lines: string[],
  options: RenderOptions,
): void {
  field(
    'Pod',
    [
      `${pod.cluster}/${pod.namespace}/${pod.name}`,
      pod.node && `node ${pod.node}`,
      pod.podIP && `IP ${pod.podIP}`,
    ]
      .filter(Boolean)
      .join(', '),
  );
  field(
    'Phase',
    [
      pod.phase,
      pod.createdAt && `created ${pod.createdAt}`,
      pod.startedAt && `started ${pod.startedAt}`,
      pod.finishedAt && `finished ${pod.finishedAt}`,
      pod.deletionRequestedAt && `deletion requested ${pod.deletionRequestedAt}`,
    ]
      .filter(Boolean)
      .join(', '),
  );
  if (pod.reason !== undefined || pod.message !== undefined) {
    field('Reason', [pod.reason, pod.message].filter((s) => s !== undefined).join(': '));
  }
  lines.push(`${INDENT}Containers:`);
  lines.push(indent(containersTable(pod.containers, options)));
  if (pod.eventsProblem !== undefined) {
    field('Events', pod.eventsProblem);
  } else if (pod.events.length === 0) {
    field('Events', 'none');
  } else {
    lines.push(`${INDENT}Events:`);
    lines.push(indent(eventsTable(pod.events, options)));
  }
}

function containersTable(containers: readonly ContainerReport[], options: RenderOptions): string {
  return renderTable(
    [
      { header: 'CONTAINER' },
      { header: 'STATE' },
      { header: 'REASON' },
      { header: 'EXIT', align: 'right' },
      { header: 'RESTARTS', align: 'right' },
      { header: 'MESSAGE', shrink: true, minWidth: 10 },
      { header: 'IMAGE', shrink: true, minWidth: 12 },
    ],
    containers.map((c) => [
      c.name,
      c.state,
      c.reason ?? '',
      c.exitCode === undefined ? '' : String(c.exitCode),
      String(c.restarts),
      c.message ?? '',
      c.image,
    ]),
    tableFit(options),
  );
}

function eventsTable(events: readonly EventReport[], options: RenderOptions): string {
  return renderTable(
    [
      { header: 'AGE', align: 'right' },
      { header: 'TYPE' },
      { header: 'REASON' },
      { header: 'FROM' },
      { header: 'MESSAGE', shrink: true, minWidth: 20 },
    ],
    events.map((e) => [
      e.lastSeen === undefined
        ? '?'
        : formatAge(Math.max(0, Math.floor((options.now - Date.parse(e.lastSeen)) / 1000))),
      e.type,
      e.reason,
      e.from ?? '',
      e.count > 1 ? `${e.message} (x${e.count})` : e.message,
    ]),
    tableFit(options),
  );
}

function tableFit(options: RenderOptions): { maxWidth?: number } {
  return options.maxWidth === undefined ? {} : { maxWidth: options.maxWidth - INDENT.length * 2 };
}

function indent(table: string): string {
  return table
    .trimEnd()
    .split('\n')
    .map((line) => `${INDENT}${INDENT}${line}`)
    .join('\n');
}

function queueText(place: PlaceReport<QueuedMessage>, queue: string): string {
  if (!place.searched) return `${queue} could not be searched: ${place.problem}`;
  if (place.messages.length === 0) return notThere(place, queue);
  return place.messages
    .map((m) =>
      [
        `${m.state} in ${queue}`,
        `sequence ${m.sequenceNumber}`,
        m.enqueuedTime && `enqueued ${m.enqueuedTime}`,
        m.scheduledFor && `scheduled for ${m.scheduledFor}`,
        m.deliveryCount !== undefined && `${m.deliveryCount} deliveries`,
        m.lastError && `last error: ${m.lastError}`,
      ]
        .filter(Boolean)
        .join(', '),
    )
    .join('; ');
}

function deadLetterText(place: PlaceReport<DeadLetterSummary>, dlq: string): string {
  if (!place.searched) return `${dlq} could not be searched: ${place.problem}`;
  if (place.messages.length === 0) return notThere(place, dlq);
  return place.messages
    .map((m) =>
      [
        `in ${dlq}`,
        `sequence ${m.sequenceNumber}`,
        m.enqueuedTime && `enqueued ${m.enqueuedTime}`,
        `reason ${m.deadLetterReason ?? 'none'}`,
        m.deadLetterErrorDescription,
        m.lastError && `last error: ${m.lastError}`,
        'podbus dlq show shows it',
      ]
        .filter(Boolean)
        .join(', '),
    )
    .join('; ');
}

/** "Not there", honest about a search that stopped at the peek limit. */
function notThere(place: Extract<PlaceReport<unknown>, { searched: true }>, queue: string): string {
  if (place.complete) {
    if (place.peeked === 0) return `not in ${queue} (it is empty)`;
    return `not in ${queue} (searched ${place.peeked === 1 ? 'its one message' : `all ${place.peeked} messages`})`;
  }
  return `not among the first ${place.peeked} messages of ${queue}: a peek-based search reads a queue from its oldest message and stops there (--peek-limit looks further)`;
}

function clustersText(podName: string, clusters: readonly ClusterReport[]): string {
  return clusters
    .map((c) => {
      switch (c.result) {
        case 'found':
          return `${c.name}: pod ${podName} found`;
        case 'not-found':
          return `${c.name}: no pod ${podName}`;
        case 'other-pod':
          return `${c.name}: pod ${podName} belongs to ${c.messageId === undefined ? 'something podbus did not create' : `message ${c.messageId}`}`;
        case 'unreachable':
          return `${c.name}: could not be asked: ${c.problem ?? 'no answer'}`;
      }
    })
    .join('; ');
}

function firstOf<T>(place: PlaceReport<T>): T | undefined {
  return place.searched ? place.messages[0] : undefined;
}

/** An age as kubectl shows one: 42s, 3m20s, 2h5m, 3d4h. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
}
