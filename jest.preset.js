// What every jest project in this repository shares (the podbus projects in jest.config.js and
// each package's own jest.config.js). Jest runs the TypeScript sources as native ES modules
// (see README, "Why ESM"): @kubernetes/client-node 2.x ships only ESM, so the whole project is
// ESM and jest runs under `node --experimental-vm-modules`. ts-jest only transpiles (type
// checking is `npm run lint`), which keeps a test run fast.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

export const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      { useESM: true, tsconfig: join(root, 'tsconfig.json'), diagnostics: false },
    ],
  },
  testEnvironment: 'node',
  // `podbus-source` resolves @podbus/*-emulator to their TypeScript sources (package.json
  // "exports"), so tests need no build; `node` and `node-addons` are jest's own defaults.
  testEnvironmentOptions: { customExportConditions: ['podbus-source', 'node', 'node-addons'] },
  setupFilesAfterEnv: [join(root, 'jest.fuzz-seed.js')],
};

export const testTimeout = 60_000;
