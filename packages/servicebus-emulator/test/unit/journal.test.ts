import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { Journal, JournalError, journalFilePath } from '../../src/journal.js';
import { StoredMessage } from '../../src/queue.js';

function message(seq: number, extra: Partial<StoredMessage> = {}): StoredMessage {
  const m = new StoredMessage(
    seq,
    1_000 + seq,
    seq === 2 ? 5_000 : undefined,
    seq === 3 ? { 'x-opt-partition-key': 'pk', when: new Date(7) } : undefined,
    seq,
    `id-${seq}`,
  );
  Object.assign(m, extra);
  return m;
}

describe('Journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'podbus-sb-journal-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays enqueues, removals and updates', () => {
    const j = Journal.open(dir);
    j.rewrite([]);
    for (const seq of [1, 2, 3, 4]) j.appendEnqueue('q', message(seq), Buffer.from(`bare-${seq}`));
    j.appendEnqueue('q/$deadletterqueue', message(1), Buffer.from('dead'));
    j.appendRemove('q', 1);
    j.appendUpdate('q', message(2, { deliveryCount: 2, deferred: true }));
    j.appendUpdate('q', message(3, { deliveryCount: 1 }), Buffer.from('rewritten'));
    j.commit();
    j.close();

    const again = Journal.open(dir);
    const replay = again.replay();
    again.close();
    const q = replay.queues.get('q') ?? [];
    expect(q.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(q[0]).toMatchObject({
      deliveryCount: 2,
      deferred: true,
      ttlMs: 5_000,
      messageId: 'id-2',
    });
    expect(q[1]?.bare.toString()).toBe('rewritten');
    expect(q[1]?.annotations).toEqual({ 'x-opt-partition-key': 'pk', when: new Date(7) });
    expect(q[2]).toMatchObject({
      deliveryCount: 0,
      deferred: false,
      enqueuedAt: 1_004,
      originalSeq: 4,
    });
    expect(replay.queues.get('q/$deadletterqueue')?.map((e) => e.bare.toString())).toEqual([
      'dead',
    ]);
    expect(replay.cursors.get('q')).toBe(5);
  });

  it('nothing reaches the file before commit', () => {
    const j = Journal.open(dir);
    j.rewrite([]);
    const size = statSync(journalFilePath(dir)).size;
    j.appendEnqueue('q', message(1), Buffer.from('x'));
    expect(statSync(journalFilePath(dir)).size).toBe(size);
    j.commit();
    expect(statSync(journalFilePath(dir)).size).toBeGreaterThan(size);
    j.close();
  });

  it('drops a torn last record and keeps everything before it', () => {
    const j = Journal.open(dir);
    j.rewrite([]);
    j.appendEnqueue('q', message(1), Buffer.from('one'));
    j.appendEnqueue('q', message(2), Buffer.from('two'));
    j.commit();
    j.close();
    appendFileSync(journalFilePath(dir), Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 1, 1]));
    const again = Journal.open(dir);
    const replay = again.replay();
    again.close();
    expect(replay.queues.get('q')?.map((e) => e.bare.toString())).toEqual(['one', 'two']);
    expect(replay.discardedBytes).toBe(10);
  });

  it('stops at a record whose checksum does not match', () => {
    const j = Journal.open(dir);
    j.rewrite([]);
    j.appendEnqueue('q', message(1), Buffer.from('one'));
    j.commit();
    j.close();
    const file = journalFilePath(dir);
    const good = statSync(file).size;
    appendFileSync(file, Buffer.from([4, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 2, 0, 0, 0]));
    const again = Journal.open(dir);
    const replay = again.replay();
    again.close();
    expect(replay.queues.get('q')).toHaveLength(1);
    expect(replay.discardedBytes).toBe(statSync(file).size - good);
  });

  it('a snapshot rewrite keeps only live messages and the sequence cursor', () => {
    const j = Journal.open(dir);
    j.rewrite([]);
    for (let seq = 1; seq <= 50; seq++) j.appendEnqueue('q', message(seq), Buffer.alloc(100, seq));
    for (let seq = 1; seq <= 49; seq++) j.appendRemove('q', seq);
    j.commit();
    const before = statSync(journalFilePath(dir)).size;
    const live = message(50, { deliveryCount: 3 });
    j.rewrite([
      {
        path: 'q',
        cursor: 51,
        messages: [{ message: live, bare: Buffer.alloc(100, 50), deferred: false }],
      },
    ]);
    expect(statSync(journalFilePath(dir)).size).toBeLessThan(before / 10);
    j.close();
    const again = Journal.open(dir);
    const replay = again.replay();
    again.close();
    expect(replay.queues.get('q')?.map((e) => [e.seq, e.deliveryCount])).toEqual([[50, 3]]);
    expect(replay.cursors.get('q')).toBe(51);
  });

  it('refuses a data directory another emulator holds, and takes over a stale lock', () => {
    const j = Journal.open(dir);
    expect(() => Journal.open(dir)).toThrow(JournalError);
    j.close();
    Journal.open(dir).close();
    writeFileSync(join(dir, 'servicebus-journal.lock'), '999999999\n'); // no such process
    const taken = Journal.open(dir);
    taken.close();
    writeFileSync(join(dir, 'servicebus-journal.lock'), `${process.ppid}\n`); // alive: the runner
    expect(() => Journal.open(dir)).toThrow(/in use by another emulator \(pid/);
  });
});
