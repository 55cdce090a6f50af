/**
 * podbus's benchmark: every scenario of issue 12 side by side in one run, against both
 * emulators (each in a process of its own) with injected Kubernetes API latency. Consumers:
 * the floor (bench/consumers/floor.ts), a one-at-a-time loop like the seed's, and podbus
 * itself (`podbus run` processes). Prints a Markdown report, writes the raw results to
 * bench/results/latest.json, and with --readme regenerates the README's Performance section.
 *
 * Rounds are interleaved (every scenario once per round), figures are medians, and ratios are
 * taken within a round: the machines are shared and noisy, so absolute figures move from run
 * to run, ratios measured side by side much less.
 *
 *   npm run bench                    the full run (about 15 minutes)
 *   npm run bench -- --quick         one round of the hot path's ratios, in about a minute
 *   npm run bench -- --only REGEX    only the runs whose "scenario consumer" matches, e.g.
 *                                    --only '^100 ms, concurrency 64 (floor|podbus)$'
 *                                    (--only memory: the memory run alone)
 *   options: --rounds N, --no-memory, --memory-bursts N (a longer memory run), --readme,
 *            --out FILE
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { memoryRun } from './memory.ts';
import { benchPlan } from './plan.ts';
import { updateReadme } from './readme.ts';
import { renderReport } from './report/render.ts';
import type { BenchResults } from './report/results.ts';
import { backlogRun, pacedRun, type RunResult } from './runs.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    'memory-bursts': { type: 'string' },
    readme: { type: 'boolean', default: false },
    out: { type: 'string', default: join(here, 'results', 'latest.json') },
  },
});
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const plan = benchPlan(quick);
const only = values.only;
const selected = plan.rounds.filter(
  (s) => only === undefined || new RegExp(only).test(`${s.group} ${s.consumer}`),
);

const startedAt = new Date();
const loadAverageAtStart = loadavg()[0]!;
const runs: RunResult[] = [];
for (let round = 1; round <= rounds; round += 1) {
  for (const spec of selected) {
    const label = `round ${round}: ${spec.group}, ${spec.consumer}${spec.replicas > 1 ? ` x${spec.replicas}` : ''}`;
    const began = performance.now();
    let run: RunResult;
    if (spec.load.kind === 'backlog') {
      run = await backlogRun(spec, round);
    } else {
      const load = spec.load;
      const max = runs.find(
        (r) =>
          r.round === round && r.spec.group === load.paceGroup && r.spec.consumer === spec.consumer,
      );
      if (max === undefined) continue;
      run = await pacedRun(spec, round, max.rate * load.paceOf);
    }
    runs.push(run);
    process.stderr.write(
      `${label}: ${run.rate.toFixed(0)} msg/s, ${run.cpuMsPerMessage.toFixed(2)} CPU ms/msg` +
        `${run.latency ? `, p50 ${run.latency.p50.toFixed(0)} ms, p99 ${run.latency.p99.toFixed(0)} ms` : ''}` +
        ` (${((performance.now() - began) / 1000).toFixed(0)} s with set-up)\n`,
    );
  }
}
const memory =
  quick || values['no-memory'] || (only !== undefined && !new RegExp(only).test('memory'))
    ? undefined
    : await memoryRun(
        plan.memory.messagesPerBurst,
        Number(values['memory-bursts'] ?? plan.memory.bursts),
      );

const results: BenchResults = {
  date: startedAt.toISOString(),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    loadAverageAtStart,
  },
  quick,
  rounds,
  runs,
  ...(memory && { memory }),
};
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
console.log(renderReport(results));
process.stderr.write(
  `\nresults written to ${values.out}; the bench took ${((Date.now() - startedAt.getTime()) / 60_000).toFixed(1)} min\n`,
);
if (values.readme) await updateReadme(results);
