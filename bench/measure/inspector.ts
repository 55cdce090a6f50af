/**
 * A client of a podbus process's inspector (`node --inspect`): forces a full GC and reads
 * memory figures from inside the process, so the bench can tell heap that grows per message
 * from heap that garbage collection would give back.
 */
export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (message: InspectorReply) => void>();

  private readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener('message', (event) => {
      const reply = JSON.parse(String(event.data)) as InspectorReply;
      if (reply.id === undefined) return;
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    return new Inspector(socket);
  }

  /** A full, synchronous garbage collection in the process. */
  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
  }

  /** `expression` evaluated in the process's main context; its JSON-able value. */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.send('Runtime.evaluate', { expression, returnByValue: true });
    const result = reply.result as { result: { value: T }; exceptionDetails?: unknown };
    if (result.exceptionDetails !== undefined)
      throw new Error(
        `evaluating ${expression} failed: ${JSON.stringify(result.exceptionDetails)}`,
      );
    return result.result.value;
  }

  memoryUsage(): Promise<NodeJS.MemoryUsage> {
    return this.evaluate('process.memoryUsage()');
  }

  close(): void {
    this.socket.close();
  }

  private send(method: string, params: object = {}): Promise<InspectorReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) =>
        reply.error ? reject(new Error(`${method}: ${reply.error.message}`)) : resolve(reply),
      );
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }
}

interface InspectorReply {
  readonly id?: number;
  readonly result?: unknown;
  readonly error?: { message: string };
}
