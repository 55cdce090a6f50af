import type { ConsumerKind } from '../consumers/consumers.ts';
import type { MemoryResult } from '../memory.ts';
import { RATE_LIMIT, RATE_LIMIT_GROUP } from '../plan.ts';
import { median } from '../measure/stats.ts';
import type { RunResult } from '../runs.ts';
import type { BenchResults } from './results.ts';

/**
 * The bench's report as Markdown: what `npm run bench` prints and what the README's
 * Performance section is made of. Figures are medians over the rounds; ratios are taken
 * within a round (side by side, on the same machine at the same moment), then their median.
 */
export function renderReport(results: BenchResults): string {
  const rows = summarise(results.runs);
  return [
    header(results),
    throughputTable(
      rows.filter((r) => !r.group.startsWith('scale-out') && r.group !== RATE_LIMIT_GROUP),
    ),
    scaleOutTable(rows.filter((r) => r.group.startsWith('scale-out'))),
    rateLimitTable(rows.filter((r) => r.group === RATE_LIMIT_GROUP)),
    memorySection(results),
    goalsSection(results, rows),
  ]
    .filter((part) => part !== '')
    .map(wrapProse)
    .join('\n\n');
}

/** Paragraphs and list items wrapped at 100 columns like the rest of the README; tables not. */
function wrapProse(block: string): string {
  return block
    .split('\n')
    .map((line) => {
      if (line.startsWith('|')) return line;
      const indent = line.startsWith('- ') ? '  ' : '';
      const lines: string[] = [];
      let current = '';
      for (const word of line.split(' ')) {
        if (current !== '' && current.length + 1 + word.length > 100) {
          lines.push(current);
          current = indent + word;
        } else current = current === '' ? word : `${current} ${word}`;
      }
      return [...lines, current].join('\n');
    })
    .join('\n');
}

interface Row {
  readonly group: string;
  readonly consumer: ConsumerKind;
  readonly latencyMs: number;
  readonly concurrency: number;
  readonly replicas: number;
  readonly runs: readonly RunResult[];
  readonly rate: number;
  readonly vsFloor: number;
  readonly vsLittle: number;
  readonly vsScaledSingle: number;
  readonly cpuMsPerMessage: number;
  readonly machineBusy: number;
  readonly rssPeakMb: number;
  readonly p50: number;
  readonly p99: number;
}

function summarise(runs: readonly RunResult[]): Row[] {
  const keyOf = (r: RunResult) => `${r.spec.group}|${r.spec.consumer}|${r.spec.replicas}`;
  const byKey = new Map<string, RunResult[]>();
  for (const run of runs) byKey.set(keyOf(run), [...(byKey.get(keyOf(run)) ?? []), run]);
  const sameRound = (run: RunResult, test: (other: RunResult) => boolean) =>
    runs.find((o) => o.round === run.round && test(o));
  return [...byKey.values()].map((group) => {
    const { spec } = group[0]!;
    const ratio = (other: (run: RunResult) => RunResult | undefined, scale = 1) =>
      median(
        group.flatMap((run) => {
          const o = other(run);
          return o ? [run.rate / (o.rate * scale)] : [];
        }),
      );
    const little =
      spec.latencyMs > 0 ? (spec.concurrency * spec.replicas * 1000) / spec.latencyMs : Number.NaN;
    return {
      group: spec.group,
      consumer: spec.consumer,
      latencyMs: spec.latencyMs,
      concurrency: spec.concurrency,
      replicas: spec.replicas,
      runs: group,
      rate: median(group.map((r) => r.rate)),
      vsFloor: ratio((run) =>
        sameRound(run, (o) => o.spec.group === spec.group && o.spec.consumer === 'floor'),
      ),
      vsLittle: median(group.map((r) => r.rate / little)),
      vsScaledSingle: ratio(
        (run) => sameRound(run, (o) => o.spec.group === spec.group && o.spec.replicas === 1),
        spec.replicas,
      ),
      cpuMsPerMessage: median(group.map((r) => r.cpuMsPerMessage)),
      machineBusy: median(group.map((r) => r.machineBusy)),
      rssPeakMb: median(group.map((r) => r.rssPeakBytes / 2 ** 20)),
      p50: median(group.flatMap((r) => (r.latency ? [r.latency.p50] : []))),
      p99: median(group.flatMap((r) => (r.latency ? [r.latency.p99] : []))),
    };
  });
}

function header(results: BenchResults): string {
  const m = results.machine;
  return (
    `Measured on ${results.date.slice(0, 10)} with \`npm run bench${results.quick ? ' -- --quick' : ''}\`: ` +
    `${m.cpus} CPUs (${m.model}), Node ${m.node}, 1-minute load average ${m.loadAverageAtStart.toFixed(1)} ` +
    `at the start; ${results.rounds} interleaved round${results.rounds === 1 ? '' : 's'}, medians. ` +
    'Both emulators run in processes of their own (two clusters unless said), every consumer ' +
    'in its own; every Kubernetes API request waits the injected latency. _floor_: ' +
    '[bench/consumers/floor.ts](bench/consumers/floor.ts), receive -> create -> complete with ' +
    "the same two SDKs; _one-at-a-time_: the seed's loop. msg/s: pods created per second while " +
    "draining a backlog, from 10% to 100% of it; CPU: the consumer's own; machine: all of it, " +
    'every process, both cores; p50/p99: enqueue -> pod at the API server, sent at half the ' +
    "consumer's maximum. podbus runs with its rate limit off (`qps: 0`, the floor has none) " +
    'except in the rate-limit rows.' +
    (results.quick
      ? ' **A quick run** (one round, a third of the messages, the hot path only, no memory run): ' +
        'read its ratios; `npm run bench -- --readme` measures every scenario.'
      : '')
  );
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const align = head.map((_, i) => (i < 2 ? '---' : '---:'));
  return [line(head), line(align), ...rows.map(line)].join('\n');
}

const fixed = (n: number, digits = 0) => (Number.isNaN(n) ? '—' : n.toFixed(digits));
const times = (n: number) => (Number.isNaN(n) ? '—' : `${n.toFixed(2)}x`);
const percent = (n: number) => (Number.isNaN(n) ? '—' : `${Math.round(n * 100)}%`);

function throughputTable(rows: readonly Row[]): string {
  return table(
    [
      'scenario',
      'consumer',
      'concurrency',
      'msg/s',
      'vs floor',
      "vs Little's bound",
      'CPU ms/msg',
      'machine busy',
      'p50 ms',
      'p99 ms',
      'RSS MB',
    ],
    rows.map((r) => [
      r.group,
      r.consumer,
      String(r.concurrency),
      fixed(r.rate),
      r.consumer === 'floor' ? '1.00x' : times(r.vsFloor),
      times(r.vsLittle),
      fixed(r.cpuMsPerMessage, 2),
      percent(r.machineBusy),
      fixed(r.p50),
      fixed(r.p99),
      fixed(r.rssPeakMb),
    ]),
  );
}

function scaleOutTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  return (
    `**Scale-out** (${rows[0]!.group.replace('scale-out, ', '')}): podbus processes as competing ` +
    'consumers on one queue.\n\n' +
    table(
      ['replicas', 'msg/s', 'vs N x one', "vs Little's bound", 'CPU ms/msg', 'machine busy'],
      rows.map((r) => [
        String(r.replicas),
        fixed(r.rate),
        times(r.vsScaledSingle),
        times(r.vsLittle),
        fixed(r.cpuMsPerMessage, 2),
        percent(r.machineBusy),
      ]),
    )
  );
}

/** Creates per second on the busiest cluster, over the run's window (median over rounds). */
function clusterRate(row: Row, pick: 'rate' | 'maxInOneSecond'): number {
  return median(row.runs.map((run) => Math.max(...run.perCluster.map((c) => c[pick]))));
}

function rateLimitTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  return (
    `**Rate limit** (each replica \`qps: ${RATE_LIMIT.qps}\`, \`burst: ${RATE_LIMIT.burst}\` on the one ` +
    'cluster, no latency, a backlog far above the limit): creates per second that reach the API ' +
    "server, once the first 10% of the backlog and every replica's burst are through.\n\n" +
    table(
      ['replicas', 'creates/s', 'limit (replicas x qps)', 'most in one second'],
      rows.map((r) => [
        String(r.replicas),
        fixed(clusterRate(r, 'rate'), 1),
        String(r.replicas * RATE_LIMIT.qps),
        fixed(clusterRate(r, 'maxInOneSecond')),
      ]),
    )
  );
}

const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;

function memorySection(results: BenchResults): string {
  const m = results.memory;
  const starts = singleStarts(results);
  const lines: string[] = [];
  if (starts.length > 0) {
    lines.push(
      `**Start to ready** (spawn -> \`/readyz\` 200, one process alone): median ${fixed(median(starts))} ms, ` +
        `at most ${fixed(Math.max(...starts))} ms over ${starts.length} starts.`,
    );
  }
  if (m !== undefined) {
    const bursts = m.bursts
      .map(
        (b, i) =>
          `after burst ${i + 1}: RSS ${mb(b.rss)} (peak ${mb(b.rssPeak)}; ${mb(b.afterGc.rss)} after the GC), heap ${mb(b.afterGc.heapUsed)}, ` +
          `${fixed(b.cpuMsPerMessage, 2)} CPU ms/msg`,
      )
      .join('; ');
    lines.push(
      `**Memory** (one podbus process, shipped defaults, \`NODE_OPTIONS=${m.nodeOptions}\` as in ` +
        `the Deployment, bursts of ${m.messagesPerBurst.toLocaleString('en')} queued messages whose ` +
        'pods are deleted once created, as cleanup would; heap after a full GC): ' +
        `idle RSS ${mb(m.idle.rss)} (heap ${mb(m.idle.afterGc.heapUsed)} used of ${mb(m.idle.afterGc.heapTotal)}, ` +
        `external ${mb(m.idle.afterGc.external)}); ${bursts}. Heap kept per message from the first burst ` +
        `to the last: ${fixed(m.heapGrowthPerMessage, 1)} bytes.`,
    );
    lines.push(importsTable(m));
  }
  return lines.join('\n\n');
}

/** Where the idle RSS comes from: the worker's imports, each alone over bare Node. */
function importsTable(m: MemoryResult): string {
  const { bare, modules } = m.imports;
  return (
    `**What the idle memory is made of**: bare Node takes RSS ${mb(bare.rss)} (heap ${mb(bare.heapUsed)}); ` +
    'each module below is imported alone into a fresh process with the same `NODE_OPTIONS` ' +
    '(after a full GC, less bare Node). Dependencies they share count in each, so the rows ' +
    'overlap; the first row is the whole worker.\n\n' +
    table(
      ['module', 'RSS', 'heap', 'external'],
      modules.map((i) => [`\`${i.module}\``, mb(i.rss), mb(i.heapUsed), mb(i.external)]),
    )
  );
}

function singleStarts(results: BenchResults): number[] {
  return [
    ...results.runs.filter((r) => r.spec.replicas === 1).flatMap((r) => r.readyMs),
    ...(results.memory ? [results.memory.readyMs] : []),
  ];
}

interface Goal {
  readonly goal: string;
  readonly met: boolean | undefined;
  readonly figure: string;
}

function goalsSection(results: BenchResults, rows: readonly Row[]): string {
  const goals = evaluateGoals(results, rows);
  if (goals.length === 0) return '';
  return (
    '**Goals** (issue 12):\n\n' +
    goals
      .map(
        (g) =>
          `- ${g.met === undefined ? 'not measured' : g.met ? 'met' : '**not met**'}: ${g.goal}: ${g.figure}`,
      )
      .join('\n')
  );
}

/** A machine this busy has no core left: more concurrency or replicas cannot add throughput. */
const CPU_BOUND = 0.9;

export function evaluateGoals(results: BenchResults, rows: readonly Row[]): Goal[] {
  const goals: Goal[] = [];
  const find = (group: string, consumer: ConsumerKind, replicas = 1) =>
    rows.find((r) => r.group === group && r.consumer === consumer && r.replicas === replicas);
  const latencyBound = find('100 ms, concurrency 64', 'podbus');
  if (latencyBound) {
    goals.push({
      goal: 'at 100 ms and concurrency 64, at least 0.9x the floor',
      met: latencyBound.vsFloor >= 0.9,
      figure: `${times(latencyBound.vsFloor)} (${fixed(latencyBound.rate)} msg/s)`,
    });
  }
  const curve = [8, 32, 64].map((c) => find(`100 ms, concurrency ${c}`, 'podbus'));
  if (curve.every((r) => r !== undefined)) {
    const grows = curve.every(
      (r, i) => i === 0 || r.rate > curve[i - 1]!.rate || curve[i - 1]!.machineBusy >= CPU_BOUND,
    );
    goals.push({
      goal: 'at 100 ms, throughput grows with concurrency (8 -> 32 -> 64) until the CPU binds',
      met: grows,
      figure: curve
        .map(
          (r) =>
            `${fixed(r.rate)} msg/s (${times(r.vsLittle)} of Little's bound, machine ${percent(r.machineBusy)})`,
        )
        .join(' -> '),
    });
  }
  const cpuBound = find('no latency, concurrency 8', 'podbus');
  if (cpuBound) {
    goals.push({
      goal: 'with no latency, at least 1.0x the floor',
      met: cpuBound.vsFloor >= 1,
      figure: `${times(cpuBound.vsFloor)} (${fixed(cpuBound.rate)} msg/s)`,
    });
  }
  const paced = rows.find((r) => r.consumer === 'podbus' && r.group.includes('paced'));
  if (paced) {
    goals.push({
      goal: `p99 enqueue -> pod within 25 ms of the injected ${paced.latencyMs} ms at half the maximum load`,
      met: paced.p99 <= paced.latencyMs + 25,
      figure: `p50 ${fixed(paced.p50)} ms, p99 ${fixed(paced.p99)} ms at ${fixed(paced.rate)} msg/s`,
    });
  }
  const scale = rows.filter((r) => r.group.startsWith('scale-out') && r.replicas > 1);
  if (scale.length > 0) {
    const ok = scale.every((r) => r.vsScaledSingle >= 0.9 || r.machineBusy >= CPU_BOUND);
    goals.push({
      goal: 'N replicas reach at least 0.9x N times one replica, until the cores bind',
      met: ok,
      figure: scale
        .map(
          (r) =>
            `${r.replicas}: ${times(r.vsScaledSingle)} (machine ${percent(r.machineBusy)}${r.machineBusy >= CPU_BOUND ? ', CPU-bound' : ''})`,
        )
        .join(', '),
    });
  }
  for (const r of rows.filter((row) => row.group === RATE_LIMIT_GROUP)) {
    const limit = r.replicas * RATE_LIMIT.qps;
    goals.push({
      goal: `${r.replicas} replica${r.replicas === 1 ? '' : 's'} with qps ${RATE_LIMIT.qps} send at most ${limit} creates/s (+5%) to the cluster`,
      met: clusterRate(r, 'rate') <= limit * 1.05,
      figure: `${fixed(clusterRate(r, 'rate'), 1)} creates/s, at most ${fixed(clusterRate(r, 'maxInOneSecond'))} in one second`,
    });
  }
  const m = results.memory;
  if (m) {
    // The highest of the bursts: the first may leave less behind than later ones.
    const after = Math.max(...m.bursts.map((b) => b.rss));
    const peak = Math.max(...m.bursts.map((b) => b.rssPeak));
    goals.push({
      goal: `RSS after each ${m.messagesPerBurst.toLocaleString('en')}-message burst at most idle + 64 MB`,
      met: after <= m.idle.rss + 64 * 2 ** 20,
      figure: `idle ${mb(m.idle.rss)}, after ${mb(after)} (+${mb(after - m.idle.rss)}), peak during a burst ${mb(peak)}`,
    });
    goals.push({
      goal: 'no heap growth per message (full GC after each burst)',
      met: Math.abs(m.heapGrowthPerMessage * m.messagesPerBurst) < 2 ** 20,
      figure:
        `${fixed(m.heapGrowthPerMessage, 1)} bytes per message over ${m.bursts.length} bursts; RSS ` +
        `after a full GC ${m.bursts.map((b) => mb(b.afterGc.rss)).join(' -> ')}`,
    });
  }
  const starts = singleStarts(results);
  if (starts.length > 0) {
    goals.push({
      goal: 'start to ready under 1.5 s',
      met: median(starts) < 1_500,
      figure: `median ${fixed(median(starts))} ms, max ${fixed(Math.max(...starts))} ms`,
    });
  }
  return goals;
}
