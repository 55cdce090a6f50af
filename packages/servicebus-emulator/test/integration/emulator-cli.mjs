// Runs the real `servicebus-emulator` entry point from the TypeScript sources (see
// ts-hooks.mjs), exactly as bin/servicebus-emulator.js runs the compiled one.
import { main } from '../../src/cli.ts';

process.exitCode = await main(process.argv);
