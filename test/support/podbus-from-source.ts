import { fileURLToPath } from 'node:url';

/**
 * Node arguments that run the podbus CLI from its TypeScript sources, the way `bin/podbus.js`
 * runs the build: spawn `process.execPath` with these, then the command and its flags. For
 * tests that need podbus as a separate process (signals, kill -9, several replicas, its own
 * NODE_EXTRA_CA_CERTS), with no build step.
 */
export const PODBUS_FROM_SOURCE: readonly string[] = [
  '--import',
  fileURLToPath(new URL('./ts-hooks.mjs', import.meta.url)),
  '--experimental-transform-types',
  '--conditions=podbus-source',
  '--disable-warning=ExperimentalWarning',
  fileURLToPath(new URL('../integration/local/run-podbus.ts', import.meta.url)),
];
