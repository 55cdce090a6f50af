import { describe, expect, it } from '@jest/globals';

import { Emitter } from '../../../src/shared/typed-events.js';

interface Events {
  ping: { readonly n: number };
  pong: { readonly text: string };
}

describe('Emitter', () => {
  it('calls the listeners of one event, in the order they subscribed, with its payload', () => {
    const events = new Emitter<Events>();
    const heard: string[] = [];
    events.on('ping', ({ n }) => heard.push(`first ${n}`));
    events.on('pong', ({ text }) => heard.push(`pong ${text}`));
    events.on('ping', ({ n }) => heard.push(`second ${n}`));
    events.emit('ping', { n: 1 });
    expect(heard).toEqual(['first 1', 'second 1']);
  });

  it('stops calling a listener once unsubscribed, and keeps two subscriptions apart', () => {
    const events = new Emitter<Events>();
    const heard: number[] = [];
    const listener = ({ n }: { n: number }) => heard.push(n);
    const first = events.on('ping', listener);
    events.on('ping', listener);
    events.emit('ping', { n: 1 });
    first();
    events.emit('ping', { n: 2 });
    expect(heard).toEqual([1, 1, 2]);
  });

  it('lets a listener unsubscribe while the event is being delivered', () => {
    const events = new Emitter<Events>();
    const heard: string[] = [];
    const off = events.on('ping', () => {
      heard.push('once');
      off();
    });
    events.on('ping', () => heard.push('always'));
    events.emit('ping', { n: 1 });
    events.emit('ping', { n: 2 });
    expect(heard).toEqual(['once', 'always', 'always']);
  });

  it('delivers nothing, and fails nothing, without listeners', () => {
    expect(() => new Emitter<Events>().emit('pong', { text: 'x' })).not.toThrow();
  });
});
