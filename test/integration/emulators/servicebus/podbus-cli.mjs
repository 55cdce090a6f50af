// Runs the real `podbus` entry point from the TypeScript sources (see ts-hooks.mjs), exactly as
// bin/podbus.js runs the compiled one.
import { main } from '../../../../src/main.ts';

process.exitCode = await main(process.argv);
