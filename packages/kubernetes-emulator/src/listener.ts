/**
 * The TCP side of one emulated cluster. A plain `net.Server` accepts connections and hands
 * them to an HTTPS (or HTTP) server that never listens itself; that indirection lets faults act
 * below TLS: `down` closes the listening socket (ECONNREFUSED) and brings it back on the same
 * port, `blackhole` keeps accepted sockets silent (the client's connect/TLS timeout fires, like
 * an AKS authorized-IP-range drop), `connectionReset` answers with a TCP RST.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export interface ListenerOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Consulted for each accepted connection. */
  connectionFault: () => 'blackhole' | 'reset' | undefined;
  onConnection?: () => void;
}

export class ClusterListener {
  private readonly net: net.Server;
  private readonly http: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private listening = false;
  private closed = false;
  port: number;

  constructor(private readonly options: ListenerOptions) {
    this.port = options.port;
    this.http = options.tls
      ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, options.handler)
      : http.createServer(options.handler);
    // Long enough that clients with their own idle timeout close first (no reuse races).
    this.http.keepAliveTimeout = 30_000;
    this.http.headersTimeout = 60_000;
    this.http.requestTimeout = 0;
    this.http.on('clientError', (err, socket) => {
      if (!socket.destroyed) socket.destroy();
      void err;
    });
    this.net = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.net.on('error', () => {});
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.options.onConnection?.();
    const fault = this.options.connectionFault();
    if (fault === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    if (fault === 'blackhole') return; // never read, never answer
    this.http.emit('connection', socket);
  }

  /** Starts listening; with port 0 picks an ephemeral port and keeps it for later `up`. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.net.once('error', onError);
      this.net.listen({ host: this.options.host, port: this.port, exclusive: true }, () => {
        this.net.off('error', onError);
        resolve();
      });
    });
    this.listening = true;
    const addr = this.net.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
    return this.port;
  }

  /** Destroys every open connection (TCP RST when `reset`). */
  dropConnections(reset = false): void {
    for (const s of this.sockets) {
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
    this.sockets.clear();
  }

  /** `down`: stop listening and drop connections; `up`: listen again on the same port. */
  async setDown(down: boolean): Promise<void> {
    if (this.closed) return;
    if (down && this.listening) {
      this.listening = false;
      const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
      this.dropConnections();
      await closed;
    } else if (!down && !this.listening) {
      await this.listen();
    }
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = this.listening
      ? new Promise<void>((resolve) => this.net.close(() => resolve()))
      : Promise.resolve();
    this.listening = false;
    this.dropConnections();
    this.http.closeAllConnections();
    await closed;
  }
}
