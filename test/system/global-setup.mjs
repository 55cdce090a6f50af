// Jest globalSetup of the `system` project: before any system test, make sure a Docker engine
// (with a compose CLI) runs and the locally built base image exists, so the outcome of
// `npm test` does not depend on which system test file happens to run first. Both scripts
// are idempotent and fast when everything is already there; they fail loudly otherwise.
import { execFileSync } from 'node:child_process';
import { URL, fileURLToPath } from 'node:url';

export default function setupDocker() {
  for (const script of ['ensure-docker.sh', 'build-base-image.sh']) {
    execFileSync(fileURLToPath(new URL(`../../scripts/${script}`, import.meta.url)), {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
}
