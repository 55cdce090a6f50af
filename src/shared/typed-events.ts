/**
 * A typed event emitter: `Events` maps each event name to the type of its payload, so a
 * subscriber and the code that emits agree on every field at compile time (BullMQ's
 * `WorkerListener` is the model). Two views of one emitter: the part that reports holds an
 * `EventSink`, subscribers get an `EventSource`; neither knows the other.
 *
 * Listeners run synchronously, in the order they subscribed, when the event is emitted. They
 * must not throw: as with Node's EventEmitter, a throw reaches the code that emitted, exactly as
 * if it had called the listener itself.
 */
export interface EventSource<Events> {
  /** Calls `listener` with every `event` from now on; the returned function unsubscribes. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void;
}

export interface EventSink<Events> {
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
}

export class Emitter<Events> implements EventSource<Events>, EventSink<Events> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    // A listener subscribed twice is called twice: each subscription is its own.
    const own = (payload: Events[K]) => listener(payload);
    set.add(own);
    return () => set.delete(own);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event) as Set<(payload: Events[K]) => void> | undefined;
    if (set === undefined) return;
    for (const listener of [...set]) listener(payload);
  }
}
