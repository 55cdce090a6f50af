import type { ImageAllowlist } from './image-allowlist.js';
import { imageName, parseImageReference } from './image-reference.js';

const LISTED_PATTERNS = 5;

/** Why `image` may not run under `allowlist`, or undefined when it may. */
export function imageAllowedProblem(image: string, allowlist: ImageAllowlist): string | undefined {
  const parsed = parseImageReference(image);
  if (!parsed.ok) return parsed.problem;
  if (allowlist.match(parsed.reference) !== undefined) return undefined;
  const name = imageName(parsed.reference);
  const shown = allowlist.patterns.slice(0, LISTED_PATTERNS).join(', ');
  const more = allowlist.patterns.length - LISTED_PATTERNS;
  return (
    `"${image}" is not allowed: ${name} matches none of the allowed image patterns ` +
    `(${shown}${more > 0 ? `, and ${more} more` : ''})`
  );
}
