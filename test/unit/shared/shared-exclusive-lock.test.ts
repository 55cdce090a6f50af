import { describe, expect, it } from '@jest/globals';

import { SharedExclusiveLock } from '../../../src/shared/shared-exclusive-lock.js';

/** A task the test finishes by hand, recording when it started and ended. */
function taskRecorder() {
  const log: string[] = [];
  const finishers = new Map<string, (fail?: Error) => void>();
  const task = (name: string) => () =>
    new Promise<string>((resolve, reject) => {
      log.push(`start ${name}`);
      finishers.set(name, (fail) => {
        log.push(`end ${name}`);
        if (fail) reject(fail);
        else resolve(name);
      });
    });
  const finish = async (name: string, fail?: Error) => {
    finishers.get(name)!(fail);
    // Let the lock's continuations run.
    await new Promise((r) => setImmediate(r));
  };
  return { log, task, finish };
}

const settled = () => new Promise((r) => setImmediate(r));

describe('SharedExclusiveLock', () => {
  it('runs shared tasks together', async () => {
    const lock = new SharedExclusiveLock();
    const { log, task, finish } = taskRecorder();
    const all = Promise.all(['a', 'b', 'c'].map((n) => lock.shared(task(n))));
    await settled();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    for (const n of ['b', 'a', 'c']) await finish(n);
    await expect(all).resolves.toEqual(['a', 'b', 'c']);
  });

  it('starts an exclusive task only when every earlier task has ended, and nothing beside it', async () => {
    const lock = new SharedExclusiveLock();
    const { log, task, finish } = taskRecorder();
    void lock.shared(task('s1'));
    void lock.shared(task('s2'));
    void lock.exclusive(task('x'));
    void lock.shared(task('s3'));
    void lock.exclusive(task('y'));
    await settled();
    expect(log).toEqual(['start s1', 'start s2']);
    await finish('s1');
    expect(log.at(-1)).toBe('end s1');
    await finish('s2');
    expect(log.slice(-2)).toEqual(['end s2', 'start x']);
    await finish('x');
    // s3 asked before y: it runs first, and y waits for it.
    expect(log.slice(-2)).toEqual(['end x', 'start s3']);
    await finish('s3');
    expect(log.slice(-2)).toEqual(['end s3', 'start y']);
  });

  it('does not let later shared tasks overtake a waiting exclusive one', async () => {
    const lock = new SharedExclusiveLock();
    const { log, task, finish } = taskRecorder();
    void lock.shared(task('s1'));
    void lock.exclusive(task('x'));
    for (const n of ['s2', 's3']) void lock.shared(task(n));
    await settled();
    expect(log).toEqual(['start s1']);
    await finish('s1');
    await finish('x');
    expect(log).toEqual(['start s1', 'end s1', 'start x', 'end x', 'start s2', 'start s3']);
  });

  it('passes a failure on and goes on with the next task', async () => {
    const lock = new SharedExclusiveLock();
    const { log, task, finish } = taskRecorder();
    const failing = lock.exclusive(task('x'));
    const next = lock.shared(task('s'));
    await settled();
    await finish('x', new Error('broker said no'));
    await expect(failing).rejects.toThrow('broker said no');
    expect(log).toEqual(['start x', 'end x', 'start s']);
    await finish('s');
    await expect(next).resolves.toBe('s');
  });
});
