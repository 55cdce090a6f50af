import { describe, expect, it } from '@jest/globals';

import { parseSoakOptions } from './harness/options.js';
import { verdict } from './harness/report.js';
import { runSoak } from './harness/run-soak.js';

/**
 * The CI-sized soak: the same harness and verdict as `npm run soak`, with 2,000 messages and a
 * fixed seed (replay it with the command the report prints). It fails on any duplicate pod, any
 * lost message, any valid message without its pod, any invalid one not dead-lettered with its
 * reason, and any replica that died on its own.
 */
describe('soak (CI size)', () => {
  it('2,000 messages through 3 replicas and 3 clusters under chaos: one pod each, nothing lost', async () => {
    const run = await runSoak(parseSoakOptions(['--messages', '2000', '--seed', '20261205']));
    process.stdout.write(`\n${run.text}\n`);
    expect(verdict(run.report)).toEqual([]);
    expect(run.report.tally.duplicates).toBe(0);
    expect(run.report.tally.lost).toEqual([]);
    expect(run.report.tally.pods).toBe(run.report.tally.valid);
    // The chaos did happen: a run without faults would prove nothing.
    expect(run.report.chaos.length).toBeGreaterThan(5);
  }, 600_000);
});
