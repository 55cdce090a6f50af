import type { ChallengeStatus } from './challenge-status.js';
import { printable } from '../output/printable.js';
import { containersInBrief, headline, statusText, type RenderOptions } from './render.js';

/**
 * What `podbus status --watch` prints as a challenge moves on. Text: the full status first, a
 * timestamped line for every change of state or of a container (`<id>: running on cluster ...
 * | web-01 running`) and for every new Event, and the full status again at the end. JSON (`--json`): one JSON object per line (JSON Lines), the
 * status as `--json` shows it plus `ended`, each time something changed.
 */
export class WatchPrinter {
  /** Per challenge: the last change printed (a line, or JSON's signature) and the Events shown. */
  private readonly seen = new Map<string, { signature: string; events: Set<string> }>();

  constructor(
    private readonly write: (text: string) => void,
    private readonly options: {
      readonly json: boolean;
      readonly render: () => RenderOptions;
    },
  ) {}

  print(status: ChallengeStatus, ended: boolean): void {
    const before = this.seen.get(status.messageId);
    const events = before?.events ?? new Set<string>();
    const render = this.options.render();
    if (this.options.json) {
      // In JSON a new Event is a change too: scripts get the whole status each time.
      const signature = jsonSignature(status);
      this.seen.set(status.messageId, { signature, events });
      if (before?.signature !== signature || ended) {
        this.write(`${JSON.stringify({ ...status, ended })}\n`);
      }
      return;
    }
    const signature = changeLine(status, render);
    this.seen.set(status.messageId, { signature, events });
    if (before === undefined) {
      for (const key of eventKeys(status)) events.add(key);
      this.write(statusText(status, render));
      if (ended) this.write(`${printable(status.messageId)}: nothing more will happen to it\n`);
      return;
    }
    const time = clock(render.now);
    for (const pod of status.pods) {
      for (const e of pod.events) {
        const key = eventKey(e);
        if (events.has(key)) continue;
        events.add(key);
        this.write(
          `${time}  ${printable(`${status.messageId}: ${e.type} ${e.reason}: ${e.message}`)}\n`,
        );
      }
    }
    if (before.signature !== signature) this.write(`${time}  ${signature}\n`);
    if (ended) this.write(`\n${statusText(status, render)}`);
  }
}

/** A change as a person would call one: the state and where, and each container's state. */
function changeLine(status: ChallengeStatus, render: RenderOptions): string {
  const pod = status.pods[0];
  const line = headline(status, { ...render, age: false });
  return pod === undefined ? line : printable(`${line} | ${containersInBrief(pod)}`);
}

/** Everything but the ages, which change by themselves. */
function jsonSignature(status: ChallengeStatus): string {
  return JSON.stringify(status, (key, value: unknown) =>
    key === 'ageSeconds' ? undefined : value,
  );
}

function eventKeys(status: ChallengeStatus): string[] {
  return status.pods.flatMap((p) => p.events.map(eventKey));
}

function eventKey(e: { type: string; reason: string; message: string; count: number }): string {
  return `${e.type}\u0000${e.reason}\u0000${e.message}\u0000${e.count}`;
}

function clock(now: number): string {
  return `${new Date(now).toISOString().slice(11, 19)}Z`;
}
