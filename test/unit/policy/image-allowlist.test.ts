import { describe, expect, it } from '@jest/globals';

import { compileImageAllowlist, imagePatternProblem } from '../../../src/policy/image-allowlist.js';
import { parseImageReference } from '../../../src/policy/image-reference.js';

function allows(patterns: string[], image: string): boolean {
  const parsed = parseImageReference(image);
  if (!parsed.ok) throw new Error(parsed.problem);
  return compileImageAllowlist(patterns).match(parsed.reference) !== undefined;
}

describe('image allowlist', () => {
  it('"*" allows every valid image', () => {
    for (const image of ['nginx', 'evil.io/x/y/z:1', 'localhost:5000/a']) {
      expect(allows(['*'], image)).toBe(true);
    }
  });

  it('an empty list allows nothing', () => {
    expect(allows([], 'nginx')).toBe(false);
  });

  it('"*" stays within one path component', () => {
    const list = ['myacr.azurecr.io/challenges/*'];
    expect(allows(list, 'myacr.azurecr.io/challenges/web')).toBe(true);
    expect(allows(list, 'myacr.azurecr.io/challenges/web:2')).toBe(true);
    expect(allows(list, 'MYACR.azurecr.io/challenges/web')).toBe(true);
    expect(allows(list, 'myacr.azurecr.io/challenges/web/nested')).toBe(false);
    expect(allows(list, 'myacr.azurecr.io/challengesx/web')).toBe(false);
    expect(allows(list, 'myacr.azurecr.io/other/web')).toBe(false);
    expect(allows(list, 'evil.io/myacr.azurecr.io/challenges/web')).toBe(false);
    expect(allows(list, 'myacr.azurecr.io.evil.io/challenges/web')).toBe(false);
  });

  it('"**" matches any depth below its prefix, not the prefix alone or a sibling', () => {
    const list = ['ghcr.io/org/**'];
    expect(allows(list, 'ghcr.io/org/a')).toBe(true);
    expect(allows(list, 'ghcr.io/org/a/b/c:tag')).toBe(true);
    expect(allows(list, 'ghcr.io/organisation/a')).toBe(false);
    expect(allows(list, 'ghcr.io/org')).toBe(false);
  });

  it('normalises Docker Hub names on both sides', () => {
    expect(allows(['docker.io/library/nginx'], 'nginx')).toBe(true);
    expect(allows(['docker.io/library/nginx'], 'nginx:1.27-alpine')).toBe(true);
    expect(allows(['nginx'], 'docker.io/library/nginx')).toBe(true);
    expect(allows(['nginx'], 'index.docker.io/library/nginx:latest')).toBe(true);
    expect(allows(['nginx'], 'nginxinc/nginx-unprivileged')).toBe(false);
    expect(allows(['myorg/*'], 'myorg/app')).toBe(true);
    expect(allows(['myorg/*'], 'docker.io/myorg/app')).toBe(true);
    expect(allows(['docker.io/*'], 'redis')).toBe(true);
    expect(allows(['docker.io/*'], 'someone/redis')).toBe(false);
    expect(allows(['docker.io/**'], 'someone/redis')).toBe(true);
  });

  it('ignores tags and digests when matching, so a digest cannot sneak past', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    expect(allows(['docker.io/library/nginx'], `nginx@${digest}`)).toBe(true);
    expect(allows(['docker.io/library/nginx'], `evil/nginx@${digest}`)).toBe(false);
  });

  it('matches registries with ports and wildcard registries', () => {
    expect(allows(['localhost:5000/**'], 'localhost:5000/x')).toBe(true);
    expect(allows(['localhost:5000/**'], 'localhost:5001/x')).toBe(false);
    expect(allows(['localhost:5000/**'], 'localhost/x')).toBe(false);
    expect(allows(['*.azurecr.io/challenges/*'], 'team1.azurecr.io/challenges/web')).toBe(true);
    expect(allows(['*.azurecr.io/challenges/*'], 'evil.io/challenges/web')).toBe(false);
  });

  it('reports which pattern allowed an image', () => {
    const parsed = parseImageReference('ghcr.io/org/x');
    if (!parsed.ok) throw new Error(parsed.problem);
    expect(compileImageAllowlist(['nginx', 'ghcr.io/org/**']).match(parsed.reference)).toBe(
      'ghcr.io/org/**',
    );
  });
});

describe('imagePatternProblem', () => {
  it.each([
    [
      'nginx:1.27',
      '"nginx:1.27" has a tag; patterns match registry/repository only (drop ":1.27")',
    ],
    [
      `nginx@sha256:${'a'.repeat(64)}`,
      `"nginx@sha256:${'a'.repeat(64)}" has a digest; patterns match registry/repository only`,
    ],
    ['', 'an empty pattern matches nothing'],
    ['my acr/x', '"my acr/x" may only contain letters, digits, ".", "_", "-", "/", ":" and "*"'],
    ['myacr.io/Challenges/*', 'the repository part of "myacr.io/Challenges/*" must be lower-case'],
    ['myacr.io//x', '"myacr.io//x" has an empty path component'],
    [
      'myacr.azurecr.io/challenges**',
      '"myacr.azurecr.io/challenges**": "**" must be a whole path component, as in "myacr.azurecr.io/challenges/**"; inside "challenges**" it would also match sibling repositories such as "myacr.azurecr.io/challenges-other/image"',
    ],
    [
      'ghcr.io/org/**x/web',
      '"ghcr.io/org/**x/web": "**" must be a whole path component, as in "ghcr.io/org/**/x/web"; inside "**x" it would also match sibling repositories',
    ],
  ])('refuses %p', (pattern, problem) => {
    expect(imagePatternProblem(pattern)).toBe(problem);
  });

  it.each(['*', '**', 'localhost:5000/x', 'myacr.azurecr.io/challenges/*', 'ghcr.io/org/**'])(
    'accepts %p',
    (pattern) => {
      expect(imagePatternProblem(pattern)).toBeUndefined();
    },
  );

  it('compileImageAllowlist throws on a bad pattern (config validation reports it first)', () => {
    expect(() => compileImageAllowlist(['nginx:1'])).toThrow('invalid image pattern');
  });
});
