import { imageName, normaliseRegistry, splitRegistry } from './image-reference.js';
import type { ImageReference } from './image-reference.js';

// The image allowlist: patterns over `registry/repository` (tags and digests are not part of
// the match, so pinning a digest never escapes the list).
//
//   *                                  every image (allowed, but must be written explicitly)
//   myacr.azurecr.io/challenges/*      any repository directly under challenges/
//   ghcr.io/org/**                     anything under ghcr.io/org/, at any depth (`**` is only
//                                      allowed as a whole component: `ghcr.io/org**` is refused)
//   docker.io/library/nginx            exactly nginx from Docker Hub (also written `nginx`)
//   *.azurecr.io/challenges/web        `*` never crosses a "/", so it stays within one component
//
// Patterns are normalised like image references: no registry means Docker Hub (`nginx` ->
// `docker.io/library/nginx`, `myorg/*` -> `docker.io/myorg/*`, `docker.io/*` -> the official
// images). A wildcard registry needs a dot (`*.azurecr.io/...`): a pattern whose first
// component is a bare `*` is read as a Docker Hub repository, the stricter of the two meanings.
export interface ImageAllowlist {
  readonly patterns: readonly string[];
  /** The first pattern that allows the image, or undefined. */
  match(reference: ImageReference): string | undefined;
}

const ALLOW_ALL = new Set(['*', '**']);
const PATTERN_CHARACTERS = /^[A-Za-z0-9._\-/:*[\]]+$/;

/** Why `pattern` cannot be used, or undefined when it is fine. */
export function imagePatternProblem(pattern: string): string | undefined {
  if (ALLOW_ALL.has(pattern)) return undefined;
  if (pattern === '') return 'an empty pattern matches nothing';
  if (pattern.includes('@')) {
    return `"${pattern}" has a digest; patterns match registry/repository only`;
  }
  if (!PATTERN_CHARACTERS.test(pattern)) {
    return `"${pattern}" may only contain letters, digits, ".", "_", "-", "/", ":" and "*"`;
  }
  if (pattern.lastIndexOf(':') > pattern.lastIndexOf('/')) {
    return `"${pattern}" has a tag; patterns match registry/repository only (drop ":${pattern.slice(
      pattern.lastIndexOf(':') + 1,
    )}")`;
  }
  const { path } = splitRegistry(pattern);
  if (path.toLowerCase() !== path) return `the repository part of "${pattern}" must be lower-case`;
  if (path === '' || path.split('/').some((c) => c === '')) {
    return `"${pattern}" has an empty path component`;
  }
  return partialDoubleStar(pattern);
}

/**
 * `**` crosses "/", so inside a component it reaches sibling repositories: `registry/path**`
 * allows `registry/path-evil/miner` as well as `registry/path/web`. It must be a whole component.
 */
function partialDoubleStar(pattern: string): string | undefined {
  const components = pattern.split('/');
  const index = components.findIndex((c) => c.includes('**') && c !== '**');
  if (index < 0) return undefined;
  const component = components[index]!;
  const whole = components
    .map((c, i) => (i === index ? c.replace(/\*{2,}/g, '/**/') : c))
    .join('/')
    .replace(/\/{2,}/g, '/')
    .replace(/^\/|\/$/g, '');
  const sibling =
    index === components.length - 1 && /^[^*]+\*\*$/.test(component)
      ? ` such as "${[...components.slice(0, index), `${component.slice(0, -2)}-other`, 'image'].join('/')}"`
      : '';
  return (
    `"${pattern}": "**" must be a whole path component, as in "${whole}"; inside ` +
    `"${component}" it would also match sibling repositories${sibling}`
  );
}

/** Compiles validated patterns once (configuration time); throws on an invalid pattern. */
export function compileImageAllowlist(patterns: readonly string[]): ImageAllowlist {
  const compiled = patterns.map((pattern) => {
    const problem = imagePatternProblem(pattern);
    if (problem) throw new Error(`invalid image pattern: ${problem}`);
    return { pattern, regex: patternToRegExp(pattern) };
  });
  return {
    patterns: [...patterns],
    match(reference) {
      const name = imageName(reference);
      return compiled.find((c) => c.regex.test(name))?.pattern;
    },
  };
}

function patternToRegExp(pattern: string): RegExp {
  if (ALLOW_ALL.has(pattern)) return /^/;
  const { registry, path } = splitRegistry(pattern);
  const repository =
    registry === 'docker.io' && !path.includes('/') && !path.includes('**')
      ? `library/${path}`
      : path;
  const full = `${normaliseRegistry(registry)}/${repository}`;
  const source = full
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${source}$`);
}
