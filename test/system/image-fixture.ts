// Shared setup for the system tests that run podbus's container image.
//
// prepareDocker()     runs scripts/ensure-docker.sh and scripts/build-base-image.sh (installs and
//                     starts dockerd, builds the local node:24-bookworm-slim) and throws when
//                     either fails: the image tests fail, they never skip.
// buildPodbusImage()  builds the Dockerfile at the repository root with testcontainers
//                     (GenericContainer.fromDockerfile) as `podbus:test`, once per test file;
//                     the layer cache makes a second file's build take seconds.
// buildEmulatorImage(name)  the same for an emulator package's image (packages/Dockerfile),
//                     as `podbus-<name>:test`.
// podbusContainer()   a GenericContainer for that image, hardened like deploy/worker's
//                     Deployment: read-only root filesystem, tmpfs /tmp, all capabilities
//                     dropped, no-new-privileges.
// runToCompletion()   runs a one-shot command (--help, node -e ...) and returns exit code and
//                     output.
//
// Ryuk, testcontainers' reaper, is an image from Docker Hub, which cannot be pulled where
// podbus is tested; TESTCONTAINERS_RYUK_DISABLED=true is set here (unless already set), so every
// test must stop the containers it starts (afterAll/finally).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type Dockerode from 'dockerode';
import {
  GenericContainer,
  StartupCheckStrategy,
  getContainerRuntimeClient,
  type StartupStatus,
} from 'testcontainers';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const IMAGE_TAG = 'podbus:test';
/** The uid:gid the Dockerfile's USER line sets; deploy/worker's runAsUser must match. */
export const IMAGE_USER = '10001:10001';

/** Generous: on a fresh machine this installs docker.io, debootstraps and runs npm ci twice. */
export const IMAGE_SETUP_TIMEOUT_MS = 15 * 60_000;

function runScript(script: string, args: string[] = []): void {
  const started = Date.now();
  const result = spawnSync(path.join(repoRoot, 'scripts', script), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: IMAGE_SETUP_TIMEOUT_MS,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(
      `scripts/${script} failed (${result.error?.message ?? `exit ${String(result.status)}`}):\n${output}`,
    );
  }
  console.log(`scripts/${script} (${Date.now() - started} ms)\n${output}`);
}

/** Makes sure a Docker engine runs and the local base image exists. Throws otherwise. */
export function prepareDocker(): void {
  runScript('ensure-docker.sh');
  runScript('build-base-image.sh');
}

/** What to build: a tag, and the Dockerfile (repository root as context) with its arguments. */
export interface ImageSpec {
  readonly tag: string;
  readonly dockerfile?: string;
  readonly args?: Readonly<Record<string, string>>;
}

export const PODBUS_IMAGE: ImageSpec = { tag: IMAGE_TAG };

export type EmulatorName = 'servicebus-emulator' | 'kubernetes-emulator';

export function emulatorImage(name: EmulatorName): ImageSpec {
  return {
    tag: `podbus-${name}:test`,
    dockerfile: 'packages/Dockerfile',
    args: { EMULATOR: name },
  };
}

export interface PodbusImage {
  tag: string;
  id: string;
  sizeBytes: number;
  buildMs: number;
  /** The image's Config (User, Entrypoint, Cmd, Labels, ...); @types/dockerode lacks StopSignal. */
  config: Dockerode.ImageInspectInfo['Config'] & { StopSignal?: string };
}

const built = new Map<string, Promise<PodbusImage>>();

/** Builds an image (once per test file and tag). */
export function buildImage(spec: ImageSpec): Promise<PodbusImage> {
  let image = built.get(spec.tag);
  if (image === undefined) {
    image = withBuildLock(() => build(spec));
    built.set(spec.tag, image);
  }
  return image;
}

/** Builds the repository's Dockerfile as podbus:test (once per test file). */
export function buildPodbusImage(): Promise<PodbusImage> {
  return buildImage(PODBUS_IMAGE);
}

/** Builds an emulator package's image as podbus-<name>:test (once per test file). */
export function buildEmulatorImage(name: EmulatorName): Promise<PodbusImage> {
  return buildImage(emulatorImage(name));
}

/**
 * One image build at a time across jest's parallel workers (each test file builds): the
 * second waits, then gets every layer from the cache in seconds instead of competing for the
 * two cores with its own `npm ci`. The lock is a directory holding the owner's pid; a lock whose
 * owner is gone is taken over.
 */
async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = path.join(tmpdir(), 'podbus-image-build.lock');
  const deadline = Date.now() + IMAGE_SETUP_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = lockOwner(lock);
      if (owner === 'gone') continue; // released meanwhile: try again at once
      if (owner === 'orphaned' || (typeof owner === 'number' && !processAlive(owner))) {
        rmSync(lock, { recursive: true, force: true });
      } else if (Date.now() > deadline) {
        throw new Error(`${lock} is held by pid ${owner}`, { cause: error });
      } else {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The pid holding the lock; 'orphaned' when none was written for a minute; 'gone' if released. */
function lockOwner(lock: string): number | 'orphaned' | 'pending' | 'gone' {
  try {
    const pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
    if (pid > 0) return pid;
  } catch {
    // not written yet, or released
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > 60_000 ? 'orphaned' : 'pending';
  } catch {
    return 'gone';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Extra CAs for npm inside the build: the same rule (and value) as scripts/build-image.sh. */
function buildCaCerts(): string {
  const explicit = process.env.PODBUS_BUILD_CA_FILE;
  if (explicit !== undefined && explicit !== '') return readFileSync(explicit, 'utf8');
  const dir = '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((name) => name.endsWith('.crt'))
    .sort()
    .map((name) => readFileSync(path.join(dir, name), 'utf8'))
    .join('')
    .replace(/\n+$/, ''); // byte-identical to "$(cat ...)" so both share the layer cache
}

function gitRevision(): string {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

async function build(spec: ImageSpec): Promise<PodbusImage> {
  const started = Date.now();
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const buildArgs = {
    ...spec.args,
    VERSION: pkg.version,
    REVISION: gitRevision(),
    CREATED: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    BUILD_CA_CERTS: buildCaCerts(),
  };
  // Build under a unique tag, then move the wanted tag onto it. testcontainers does not report
  // build errors (it only checks that the tag exists afterwards), so building straight onto
  // the tag would let a stale image from an earlier run pass for a failed build.
  const [repo, tag] = spec.tag.split(':') as [string, string];
  const attempt = `${repo}:${tag}-${process.pid}-${Date.now()}`;
  const dockerfile = spec.dockerfile ?? 'Dockerfile';
  const client = await getContainerRuntimeClient();
  try {
    await GenericContainer.fromDockerfile(repoRoot, dockerfile)
      .withBuildArgs(buildArgs)
      .build(attempt, { deleteOnExit: false });
  } catch (error) {
    throw new Error(
      `building ${dockerfile} failed (${error instanceof Error ? error.message : String(error)}); ` +
        `the builder's own output:\n${explainBuildFailure(dockerfile, buildArgs)}`,
      { cause: error },
    );
  }
  const docker = client.container.dockerode;
  const previous = await docker
    .getImage(spec.tag)
    .inspect()
    .then((i) => i.Id)
    .catch(() => undefined);
  const image = docker.getImage(attempt);
  await image.tag({ repo, tag });
  await image.remove({ noprune: true }); // only untags: the wanted tag still points at it
  const info = await docker.getImage(spec.tag).inspect();
  if (previous !== undefined && previous !== info.Id) {
    // The last run's image of this tag, now untagged, with its own metadata layers (labels onwards,
    // which differ per build date); pruning stops at the first layer this build shares, so the
    // cache stays. Kept if a container still uses it.
    await docker
      .getImage(previous)
      .remove()
      .catch(() => undefined);
  }
  const result: PodbusImage = {
    tag: spec.tag,
    id: info.Id,
    sizeBytes: info.Size,
    buildMs: Date.now() - started,
    config: info.Config,
  };
  console.log(
    `built ${spec.tag} (${info.Id.slice(7, 19)}) in ${result.buildMs} ms, ` +
      `size ${(info.Size / 1e6).toFixed(1)} MB`,
  );
  return result;
}

/** Re-runs the build with the docker CLI to surface the failing step (cached steps are fast). */
function explainBuildFailure(dockerfile: string, buildArgs: Record<string, string>): string {
  const args = ['build', '-f', path.join(repoRoot, dockerfile), '-t', 'podbus:test-failed'];
  for (const [key, value] of Object.entries(buildArgs)) args.push('--build-arg', `${key}=${value}`);
  args.push(repoRoot);
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout: IMAGE_SETUP_TIMEOUT_MS });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n');
  return output.slice(-40).join('\n');
}

/** GenericContainer plus the read-only root filesystem flag testcontainers does not expose. */
export class PodbusContainer extends GenericContainer {
  withReadOnlyRootFilesystem(readOnly = true): this {
    this.hostConfig.ReadonlyRootfs = readOnly;
    return this;
  }
}

/** The image run the way deploy/worker runs it (read-only root, tmpfs /tmp, no capabilities). */
export function podbusContainer(image: string = IMAGE_TAG): PodbusContainer {
  return new PodbusContainer(image)
    .withReadOnlyRootFilesystem()
    .withTmpFs({ '/tmp': 'rw,nosuid,nodev,size=64m' })
    .withDroppedCapabilities('ALL')
    .withSecurityOpt('no-new-privileges');
}

/** Startup check for one-shot commands: done as soon as the container has exited, any code. */
class ExitedStartupCheck extends StartupCheckStrategy {
  override async checkStartupState(
    dockerClient: Dockerode,
    containerId: string,
  ): Promise<StartupStatus> {
    const info = await dockerClient.getContainer(containerId).inspect();
    return info.State.Running || info.State.Paused ? 'PENDING' : 'SUCCESS';
  }
}

export interface Completed {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Starts the container, waits until it exits, returns its exit code and output, removes it. */
export async function runToCompletion(
  container: GenericContainer,
  timeoutMs = 60_000,
): Promise<Completed> {
  const started = await container
    .withWaitStrategy(new ExitedStartupCheck())
    .withStartupTimeout(timeoutMs)
    .start();
  try {
    const client = await getContainerRuntimeClient();
    const handle = client.container.getById(started.getId());
    const info = await handle.inspect();
    const raw = (await handle.logs({ stdout: true, stderr: true, follow: false })) as unknown;
    return { exitCode: info.State.ExitCode, ...demux(Buffer.from(raw as Buffer)) };
  } finally {
    await started.stop({ remove: true });
  }
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) into stdout and stderr. */
function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const frame = buffer.subarray(offset + 8, offset + 8 + size);
    (stream === 2 ? err : out).push(frame);
    offset += 8 + size;
  }
  return {
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** `docker compose` (v2 plugin) or `docker-compose` (v1, Debian's package), whichever works. */
export function findComposeCli(): string[] | undefined {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    const [command, ...args] = candidate;
    const probe = spawnSync(command ?? '', [...args, 'version'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}
