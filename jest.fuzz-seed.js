// Property-based tests (fast-check) run with one fixed seed in `npm test`: a run is the same on
// every machine, and CI never fails on a case that no change of ours brought in. To replay a
// seed a failure printed: FUZZ_SEED=<seed>; to explore cases no run has tried: FUZZ_SEED=random
// (README, "Testing"). Loaded by every jest project (jest.preset.js), before each test file.
import fc from 'fast-check';

const wanted = process.env.FUZZ_SEED ?? '20261205';
if (wanted !== 'random') {
  const seed = Number(wanted);
  if (!Number.isInteger(seed)) {
    throw new Error(`FUZZ_SEED must be an integer or "random", not ${JSON.stringify(wanted)}`);
  }
  fc.configureGlobal({ seed });
}
