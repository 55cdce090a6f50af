// Runs the real podbus entry point from the TypeScript sources (see ts-hooks.mjs), as
// bin/podbus.js runs the compiled one, so process-level behaviour is tested without a build.
import { main } from '../../../src/main.js';

process.exitCode = await main(process.argv);
