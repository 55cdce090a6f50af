/**
 * `npm run soak`: proves "one pod per message, nothing lost" under failure (README, "What
 * podbus guarantees"). Prints the report and exits 0 only when the run passed; 1 when it
 * failed (the run directory with every replica's log and the chaos timeline is kept and
 * named), 2 on a bad option.
 */
import { existsSync } from 'node:fs';

import { parseSoakOptions, SoakUsageError, USAGE } from './harness/options.js';
import { runSoak } from './harness/run-soak.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
let options;
try {
  options = parseSoakOptions(argv);
} catch (error) {
  if (!(error instanceof SoakUsageError)) throw error;
  process.stderr.write(`soak: ${error.message}\n\n${USAGE}`);
  process.exit(2);
}
const run = await runSoak(options, (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`\n${run.text}\n`);
if (existsSync(run.dir)) process.stdout.write(`run directory (logs, chaos timeline): ${run.dir}\n`);
process.exit(run.passed ? 0 : 1);
