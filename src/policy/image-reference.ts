/**
 * Container image references, parsed and normalised the way Docker and containerd do
 * (github.com/distribution/reference, ParseNormalizedNamed), so the allowlist matches what the
 * kubelet will actually pull:
 *   nginx                         -> docker.io/library/nginx
 *   nginx:1.27                    -> docker.io/library/nginx (tag 1.27)
 *   myorg/app                     -> docker.io/myorg/app
 *   index.docker.io/myorg/app     -> docker.io/myorg/app
 *   localhost:5000/x@sha256:...   -> localhost:5000/x (digest kept apart)
 * A reference the kubelet would reject (uppercase repository, "..", empty components) is
 * refused here rather than lower-cased or cleaned up: matching a cleaned-up name would check a
 * different string from the one that is pulled.
 */
export interface ImageReference {
  /** Registry host[:port], lower-cased (DNS names are case-insensitive). */
  readonly registry: string;
  /** Repository path within the registry, e.g. `library/nginx`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export type ImageReferenceResult =
  | { readonly ok: true; readonly reference: ImageReference }
  | { readonly ok: false; readonly problem: string };

export const DOCKER_HUB = 'docker.io';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

/** `registry/repository`: the string allowlist patterns are matched against. */
export function imageName(reference: ImageReference): string {
  return `${reference.registry}/${reference.repository}`;
}

export function parseImageReference(text: string): ImageReferenceResult {
  const invalid = (why: string): ImageReferenceResult => ({
    ok: false,
    problem: `"${text}" is not a valid image reference: ${why}`,
  });
  if (text === '') return invalid('it is empty');
  if (/\s/.test(text)) return invalid('it contains whitespace');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return invalid(`"${digest}" is not a digest such as sha256:<64 hex>`);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return invalid(`"${tag}" is not a valid tag`);
  }

  const split = splitRegistry(rest);
  const registryProblem = checkRegistry(split.registry);
  if (registryProblem) return invalid(registryProblem);
  const pathProblem = checkPath(split.path);
  if (pathProblem) return invalid(pathProblem);
  if (split.registry === DOCKER_HUB && IMAGE_ID.test(split.path)) {
    return invalid('a 64-hex-digit name is an image ID, not a repository');
  }

  const registry = normaliseRegistry(split.registry);
  const repository =
    registry === DOCKER_HUB && !split.path.includes('/') ? `library/${split.path}` : split.path;
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    return invalid(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  return {
    ok: true,
    reference: {
      registry,
      repository,
      ...(tag !== undefined && { tag }),
      ...(digest !== undefined && { digest }),
    },
  };
}

/**
 * Docker's rule: the first component names a registry when it contains "." or ":", is
 * "localhost", or has an upper-case letter (repositories are lower-case); otherwise the whole
 * name is a Docker Hub repository.
 */
export function splitRegistry(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { registry: DOCKER_HUB, path: name };
  const first = name.slice(0, slash);
  const isRegistry =
    first.includes('.') ||
    first.includes(':') ||
    first === 'localhost' ||
    first.toLowerCase() !== first;
  return isRegistry
    ? { registry: first, path: name.slice(slash + 1) }
    : { registry: DOCKER_HUB, path: name };
}

export function normaliseRegistry(registry: string): string {
  const lower = registry.toLowerCase();
  return lower === 'index.docker.io' ? DOCKER_HUB : lower;
}

function checkRegistry(registry: string): string | undefined {
  const colon = registry.startsWith('[') ? registry.indexOf(']:') + 1 : registry.indexOf(':');
  const host = colon > 0 ? registry.slice(0, colon) : registry;
  const port = colon > 0 ? registry.slice(colon + 1) : undefined;
  if (port !== undefined && !PORT.test(port)) return `"${port}" is not a registry port`;
  if (IPV6_HOST.test(host)) return undefined;
  if (!host.split('.').every((c) => DOMAIN_COMPONENT.test(c))) {
    return `"${registry}" is not a registry host name`;
  }
  return undefined;
}

function checkPath(path: string): string | undefined {
  if (path === '') return 'the repository name is empty';
  for (const component of path.split('/')) {
    if (PATH_COMPONENT.test(component)) continue;
    if (component.toLowerCase() !== component && PATH_COMPONENT.test(component.toLowerCase())) {
      return `the repository "${path}" must be lower-case`;
    }
    return component === ''
      ? `the repository "${path}" has an empty path component`
      : `"${component}" is not a valid repository path component (lower-case letters and digits, separated by ".", "_", "__" or "-")`;
  }
  return undefined;
}
