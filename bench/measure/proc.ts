import { readFileSync } from 'node:fs';

/** Process and machine figures from /proc (Linux), cheap enough to sample while a run goes on. */

/** USER_HZ: the unit of /proc's CPU times on every Linux the bench runs on. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) the processes have used so far, in ms. */
export function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // The fields after the command (which may hold spaces) start after its closing ')'.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Exited: its time no longer counts.
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Resident set size of the processes, summed, in bytes. */
export function rssBytes(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      kb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // Exited.
    }
  }
  return kb * 1024;
}

/** Busy and total CPU time of the whole machine so far (all cores), in ticks. */
export function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const values = cpu.map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = values[3]! + values[4]!;
  return { busy: total - idle, total };
}

/** Samples the processes' RSS until stopped; keeps the peak. */
export class RssSampler {
  peak = 0;
  private readonly pids: readonly number[];
  private readonly timer: NodeJS.Timeout;

  constructor(pids: readonly number[], intervalMs = 100) {
    this.pids = pids;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): number {
    const rss = rssBytes(this.pids);
    this.peak = Math.max(this.peak, rss);
    return rss;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
