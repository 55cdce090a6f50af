import { beforeEach, describe, expect, test } from '@jest/globals';

import { ClusterError } from '../../../src/clusters/errors.js';
import {
  FileTokenSource,
  StaticTokenSource,
  type TokenFileSystem,
} from '../../../src/clusters/token-source.js';

/** An in-memory file: each write bumps mtime, like a real rewrite. */
class FakeFile implements TokenFileSystem {
  content: string | undefined = 'token-1\n';
  mtimeMs = 1;
  ino = 10;
  reads = 0;
  stats = 0;
  write(content: string | undefined, opts: { sameStat?: boolean } = {}) {
    this.content = content;
    if (!opts.sameStat) {
      this.mtimeMs += 1;
      this.ino += 1;
    }
  }
  async stat() {
    this.stats += 1;
    if (this.content === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return { mtimeMs: this.mtimeMs, size: this.content.length, ino: this.ino };
  }
  async readFile() {
    this.reads += 1;
    if (this.content === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return this.content;
  }
}

let file: FakeFile;
let now: number;
let source: FileTokenSource;

beforeEach(() => {
  file = new FakeFile();
  now = 0;
  source = new FileTokenSource({
    cluster: 'alpha',
    path: '/var/run/token',
    checkIntervalMs: 1000,
    fs: file,
    now: () => now,
  });
});

describe('FileTokenSource', () => {
  test('reads and trims the file once, then serves from memory within the check interval', async () => {
    expect(await source.current()).toBe('token-1');
    expect(await source.current()).toBe('token-1');
    expect(file.reads).toBe(1);
    expect(file.stats).toBe(1);
  });

  test('picks up a rotated file at the next check', async () => {
    await source.current();
    file.write('token-2');
    expect(await source.current()).toBe('token-1'); // within the interval
    now += 1000;
    expect(await source.current()).toBe('token-2');
  });

  test('does not re-read an unchanged file', async () => {
    await source.current();
    now += 5000;
    await source.current();
    expect(file.stats).toBe(2);
    expect(file.reads).toBe(1);
  });

  test('after a 401 it re-reads at once, even when stat looks unchanged', async () => {
    await source.current();
    file.write('token-2', { sameStat: true });
    expect(await source.refreshAfterUnauthorized('token-1')).toBe(true);
    expect(await source.current()).toBe('token-2');
  });

  test('after a 401 with an unchanged token: false', async () => {
    await source.current();
    expect(await source.refreshAfterUnauthorized('token-1')).toBe(false);
  });

  test('an empty or vanished file keeps the last good token', async () => {
    await source.current();
    file.write('');
    now += 1000;
    expect(await source.current()).toBe('token-1');
    file.write(undefined);
    now += 1000;
    expect(await source.current()).toBe('token-1');
    file.write('token-3');
    now += 1000;
    expect(await source.current()).toBe('token-3');
  });

  test('fails with a config error (naming the file, not a token) when there never was a token', async () => {
    file.write(undefined);
    const err = await source.current().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect(err).toMatchObject({ kind: 'config' });
    expect((err as Error).message).toContain('/var/run/token');
    file.write('   \n');
    await expect(source.current()).rejects.toMatchObject({ kind: 'config' });
  });

  test('concurrent callers share one read', async () => {
    const all = await Promise.all([source.current(), source.current(), source.current()]);
    expect(all).toEqual(['token-1', 'token-1', 'token-1']);
    expect(file.reads).toBe(1);
  });
});

describe('StaticTokenSource', () => {
  test('returns the inline token and never finds a new one', async () => {
    const s = new StaticTokenSource('abc');
    expect(await s.current()).toBe('abc');
    expect(await s.refreshAfterUnauthorized()).toBe(false);
  });
});
