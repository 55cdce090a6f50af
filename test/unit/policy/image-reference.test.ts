import { describe, expect, it } from '@jest/globals';

import { imageName, parseImageReference } from '../../../src/policy/image-reference.js';

function name(text: string): string {
  const result = parseImageReference(text);
  if (!result.ok) throw new Error(result.problem);
  return imageName(result.reference);
}

describe('parseImageReference', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx'],
    ['nginx:1.27', 'docker.io/library/nginx'],
    ['nginx:latest', 'docker.io/library/nginx'],
    ['library/nginx', 'docker.io/library/nginx'],
    ['docker.io/nginx', 'docker.io/library/nginx'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx'],
    ['myorg/app', 'docker.io/myorg/app'],
    ['myacr.azurecr.io/challenges/web:1.2', 'myacr.azurecr.io/challenges/web'],
    ['MyACR.AzureCR.io/challenges/web', 'myacr.azurecr.io/challenges/web'],
    ['localhost/x', 'localhost/x'],
    ['localhost:5000/x', 'localhost:5000/x'],
    ['localhost:5000/x:tag', 'localhost:5000/x'],
    ['registry:5000/team/app', 'registry:5000/team/app'],
    ['[::1]:5000/app', '[::1]:5000/app'],
    ['ghcr.io/org/sub/deep/app', 'ghcr.io/org/sub/deep/app'],
    ['a.io/x__y/a-b--c/a.b', 'a.io/x__y/a-b--c/a.b'],
  ])('normalises %p to %p', (text, expected) => {
    expect(name(text)).toBe(expected);
  });

  it('separates tags and digests from the name', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseImageReference(`ghcr.io/org/app:v1@${digest}`)).toEqual({
      ok: true,
      reference: { registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest },
    });
    expect(parseImageReference(`nginx@${digest}`)).toEqual({
      ok: true,
      reference: { registry: 'docker.io', repository: 'library/nginx', digest },
    });
  });

  it.each([
    ['', 'it is empty'],
    ['ngi nx', 'it contains whitespace'],
    ['NGINX', 'the repository "NGINX" must be lower-case'],
    ['myacr.azurecr.io/Challenges/web', 'the repository "Challenges/web" must be lower-case'],
    [
      'myacr.azurecr.io/challenges/../evil',
      '".." is not a valid repository path component (lower-case letters and digits, separated by ".", "_", "__" or "-")',
    ],
    ['myacr.azurecr.io//x', 'the repository "/x" has an empty path component'],
    ['myacr.azurecr.io/', 'the repository name is empty'],
    ['nginx:', '"" is not a valid tag'],
    ['nginx:-bad', '"-bad" is not a valid tag'],
    ['nginx@sha256:short', '"sha256:short" is not a digest such as sha256:<64 hex>'],
    ['bad_host.io/x', '"bad_host.io" is not a registry host name'],
    ['host.io:http/x', '"http" is not a registry port'],
    [
      'x/-y',
      '"-y" is not a valid repository path component (lower-case letters and digits, separated by ".", "_", "__" or "-")',
    ],
    ['a'.repeat(64).replace(/a/g, 'f'), 'a 64-hex-digit name is an image ID, not a repository'],
  ])('rejects %p: %s', (text, why) => {
    expect(parseImageReference(text)).toEqual({
      ok: false,
      problem: `"${text}" is not a valid image reference: ${why}`,
    });
  });

  it('rejects names longer than 255 characters', () => {
    const text = `r.io/${'a'.repeat(260)}`;
    expect(parseImageReference(text)).toEqual({
      ok: false,
      problem: `"${text}" is not a valid image reference: the name is longer than 255 characters`,
    });
  });
});
