import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';

import rhea from 'rhea';
import type { Connection, Delivery, EventContext, Message, Receiver, Sender } from 'rhea';

import { CONDITION, SECTION, amqpTypes, outcomes } from './amqp.js';
import { scanSections } from './amqp-scan.js';
import type { Broker, BrokerLogger } from './broker.js';
import { ClaimSet, type ClaimCheck } from './cbs.js';
import { FORCED_CLOSE_DESCRIPTION } from './faults.js';
import type { FaultState } from './faults.js';
import type { CbsAuthority } from './cbs.js';
import { LockTokens } from './lock-token.js';
import { handleManagementRequest, OPERATIONS } from './management.js';
import { MessageFormatError, decodeGuarded } from './message-codec.js';
import type { ManagementResponse } from './management.js';
import { ConsumerLink } from './receiver-link.js';
import type { LinkFaults, OutcomeKind } from './receiver-link.js';
import { MAX_MESSAGE_SIZE, ProducerLink } from './sender-link.js';
import type { TransferContext } from './sender-link.js';
import type { Queue } from './queue.js';
import type { SeededRandom } from './random.js';
import { isPlainMessage, keepTransfersUndecoded } from './raw-transfers.js';
import type { Right } from './rights.js';
import { settle } from './settle.js';

/**
 * The AMQP 1.0 listener: accepts connections (SASL ANONYMOUS, as the SDK offers), routes each
 * link by its address to `$cbs`, an entity's `$management`, or the queue itself, and keeps one
 * bad peer from affecting anybody else: protocol errors close only that connection (with an AMQP
 * error when the framing still allows one), failures inside a link close only that link.
 */
export interface AmqpServerOptions {
  broker: Broker;
  cbs: CbsAuthority;
  logger: BrokerLogger;
  host: string;
  port: number;
  faults: FaultState;
}

/** An open client connection, as the control endpoint lists it. */
export interface ConnectionInfo {
  id: number;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** The client's AMQP container id (from its open frame). */
  containerId: string | undefined;
  /** Links by role of the client: senders (to queues), receivers (from queues), others. */
  links: { senders: number; receivers: number; other: number };
}

type LinkHandler =
  | { kind: 'cbs-requests' }
  | { kind: 'management-requests'; queue: Queue; entity: string }
  | { kind: 'producer'; producer: ProducerLink }
  | { kind: 'consumer'; consumer: ConsumerLink }
  | { kind: 'reply' };

interface ConnectionState {
  readonly id: number;
  readonly connection: Connection;
  readonly socket: Socket;
  readonly claims: ClaimSet;
  readonly replyLinks: Map<string, Sender>;
  readonly links: Map<Sender | Receiver, LinkHandler>;
  /** What each queue or $management link needs to stay attached: a live claim with a right. */
  readonly covers: Map<Sender | Receiver, LinkCover>;
  /** Fires when the next claim expires, to detach the links it covered alone. */
  claimExpiry: NodeJS.Timeout | undefined;
  closed: boolean;
}

interface LinkCover {
  readonly path: string;
  readonly right: Right | undefined;
}

/** rhea's connection object as the server uses it (parts missing from its typings). */
interface ServerConnection extends Connection {
  accept(socket: Socket): ServerConnection;
}

const CONTAINER_ID = 'podbus-servicebus-emulator';
const SESSION_BUFFER = { outgoing: 65536, incoming: 4096 };

export class AmqpServer {
  private readonly server: Server;
  private tlsServer: TlsServer | undefined;
  private readonly container = rhea.create_container({ id: CONTAINER_ID });
  private readonly connections = new Set<ConnectionState>();
  private readonly tokens = new LockTokens();
  private nextConnectionId = 1;
  private listening = false;

  constructor(private readonly options: AmqpServerOptions) {
    // last line of defence: rhea emits unhandled link/session errors on the container
    this.container.on('error', (error: unknown) => {
      this.options.logger.warn('servicebus emulator: unhandled AMQP error', describe(error));
    });
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (error) => {
      if (this.listening) this.options.logger.error('servicebus emulator: listener error', error);
    });
  }

  async listen(): Promise<number> {
    const port = await listenOn(this.server, this.options.port, this.options.host);
    this.listening = true;
    return port;
  }

  /**
   * Opens the AMQPS listener: TLS with `credentials`, then the same AMQP as the plain port (the
   * SDK uses it when the connection string has no `UseDevelopmentEmulator`).
   */
  async listenTls(port: number, credentials: { cert: string; key: string }): Promise<number> {
    const server = createTlsServer(
      { cert: credentials.cert, key: credentials.key, minVersion: 'TLSv1.2' },
      (socket) => this.accept(socket),
    );
    server.on('tlsClientError', (error) => {
      this.options.logger.info('servicebus emulator: TLS handshake failed', describe(error));
    });
    const bound = await listenOn(server, port, this.options.host);
    server.on('error', (error) => {
      this.options.logger.error('servicebus emulator: TLS listener error', error);
    });
    this.tlsServer = server;
    return bound;
  }

  async close(): Promise<void> {
    this.listening = false;
    const tlsClosed = new Promise<void>((resolve) =>
      this.tlsServer ? this.tlsServer.close(() => resolve()) : resolve(),
    );
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const state of [...this.connections]) {
      try {
        state.connection.close({
          condition: CONDITION.connectionForced,
          description: 'The emulator is shutting down.',
        });
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, this.connections.size > 0 ? 50 : 0));
    for (const state of [...this.connections]) state.socket.destroy();
    await closed;
    await tlsClosed;
  }

  /** The open client connections. */
  connectionInfo(): ConnectionInfo[] {
    return [...this.connections].map((state) => {
      const links = { senders: 0, receivers: 0, other: 0 };
      for (const handler of state.links.values()) {
        if (handler.kind === 'producer') links.senders++;
        else if (handler.kind === 'consumer') links.receivers++;
        else links.other++;
      }
      const remote = (
        state.connection as unknown as { remote?: { open?: { container_id?: string } } }
      ).remote;
      return {
        id: state.id,
        remoteAddress: state.socket.remoteAddress,
        remotePort: state.socket.remotePort,
        containerId: remote?.open?.container_id,
        links,
      };
    });
  }

  /** Drops connections now (fault injection): all, one chosen by `pick`, or one by id. */
  dropConnections(
    target: 'all' | 'one' | number,
    how: 'reset' | 'close',
    pick: SeededRandom,
  ): number[] {
    const open = [...this.connections].filter((c) => !c.closed);
    let chosen: ConnectionState[];
    if (target === 'all') chosen = open;
    else if (target === 'one')
      chosen = open.length === 0 ? [] : [open[pick.between(0, open.length - 1)] as ConnectionState];
    else chosen = open.filter((c) => c.id === target);
    for (const state of chosen) this.drop(state, how);
    return chosen.map((c) => c.id);
  }

  /**
   * Drops one connection: `reset` resets the TCP connection at once, so whatever the emulator
   * has not written yet is lost (as in a network failure); `close` closes it with
   * `amqp:connection:forced` after what is already queued.
   */
  private drop(state: ConnectionState, how: 'reset' | 'close'): void {
    if (state.closed) return;
    this.options.logger.info(
      `servicebus emulator: fault injection drops connection ${state.id} (${how})`,
    );
    if (how === 'close') {
      try {
        state.connection.close({
          condition: CONDITION.connectionForced,
          description: FORCED_CLOSE_DESCRIPTION,
        });
      } catch {
        // already closing
      }
      setTimeout(() => state.socket.destroy(), 1_000).unref();
    } else {
      state.socket.resetAndDestroy();
    }
    this.forget(state);
  }

  private linkFaults(state: ConnectionState): LinkFaults {
    return { state: this.options.faults, drop: (how) => this.drop(state, how) };
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const connection = (
      this.container as unknown as { create_connection(o: object): ServerConnection }
    ).create_connection({
      container_id: CONTAINER_ID,
      autoaccept: false,
      autosettle: false,
      treat_modified_as_released: false,
      session_buffer_size: SESSION_BUFFER,
      properties: { product: 'podbus-servicebus-emulator' },
    });
    const state: ConnectionState = {
      id: this.nextConnectionId++,
      connection,
      socket,
      claims: new ClaimSet(),
      replyLinks: new Map(),
      links: new Map(),
      covers: new Map(),
      claimExpiry: undefined,
      closed: false,
    };
    this.connections.add(state);
    keepTransfersUndecoded(connection);
    this.wire(state);
    socket.on('close', () => {
      this.forget(state);
      // rhea learns of a closed socket from 'end' or 'error' only; a socket we reset or destroy
      // emits neither, and its heartbeat timers would go on
      (connection as unknown as { eof(): void }).eof();
    });
    connection.accept(socket);
  }

  private wire(state: ConnectionState): void {
    const c = state.connection;
    const guard =
      (name: string, fn: (ctx: EventContext) => void) =>
      (ctx: EventContext): void => {
        try {
          fn(ctx);
        } catch (error) {
          this.linkFailure(state, ctx, name, error);
        }
      };
    c.on('connection_open', () => undefined);
    c.on('session_open', () => undefined);
    c.on(
      'sender_open',
      guard('attach', (ctx) => this.onClientReceiverAttach(state, ctx.sender as Sender)),
    );
    c.on(
      'receiver_open',
      guard('attach', (ctx) => this.onClientSenderAttach(state, ctx.receiver as Receiver)),
    );
    c.on(
      'message',
      guard('transfer', (ctx) => this.onMessage(state, ctx)),
    );
    const pump = guard('flow', (ctx) => this.consumerOf(state, ctx.sender)?.pump());
    c.on('sender_flow', pump);
    c.on('sendable', pump);
    c.on(
      'sender_draining',
      guard('drain', (ctx) => this.consumerOf(state, ctx.sender)?.drain()),
    );
    for (const kind of ['accepted', 'rejected', 'released', 'modified', 'settled'] as const) {
      c.on(
        kind,
        guard('disposition', (ctx) =>
          this.consumerOf(state, ctx.sender)?.onOutcome(
            kind as OutcomeKind,
            ctx.delivery as Delivery,
          ),
        ),
      );
    }
    const linkClosed = (ctx: EventContext): void =>
      this.dropLink(state, ctx.sender ?? ctx.receiver);
    c.on('sender_close', linkClosed);
    c.on('receiver_close', linkClosed);
    c.on('sender_error', linkClosed);
    c.on('receiver_error', linkClosed);
    const sessionClosed = (ctx: EventContext): void => {
      for (const link of [...state.links.keys()]) {
        if (link.session === ctx.session) this.dropLink(state, link);
      }
    };
    c.on('session_close', sessionClosed);
    c.on('session_error', sessionClosed);
    c.on('connection_close', () => this.forget(state));
    c.on('connection_error', () => this.forget(state));
    c.on('disconnected', () => this.forget(state));
    // malformed input: rhea throws while reading a frame and reports it here, then ends the socket
    const protocolFailure = (error: unknown): void => this.connectionFailure(state, error);
    c.on('protocol_error', protocolFailure);
    c.on('error', protocolFailure);
  }

  // ---- attach ----------------------------------------------------------------------------

  /** The client attaches a receiver: our end sends (queue messages or replies). */
  private onClientReceiverAttach(state: ConnectionState, link: Sender): void {
    const remote = link as unknown as RemoteTermini;
    const address = remote.source?.address;
    const route = parseAddress(address);
    if (route.kind === 'cbs' || route.kind === 'management') {
      if (route.kind === 'management' && !this.entityExists(route.entity)) {
        this.refuseNotFound(link, route.entity);
        return;
      }
      echoTermini(link);
      localAttach(link).snd_settle_mode = 1; // replies go out settled
      state.replyLinks.set(link.name, link);
      const target = remote.target?.address;
      if (typeof target === 'string' && target.length > 0) state.replyLinks.set(target, link);
      state.links.set(link, { kind: 'reply' });
      return;
    }
    const queue = this.options.broker.resolve(route.entity);
    if (!queue) {
      this.refuseNotFound(link, route.entity);
      return;
    }
    const access = this.access(state, route.entity, 'Listen');
    if (access !== 'ok') {
      this.refuseUnauthorized(link, route.entity, access, 'Listen');
      return;
    }
    const filter = (remote.source as { filter?: Record<string, unknown> } | undefined)?.filter;
    if (filter && Object.keys(filter).some((k) => k.includes('session-filter'))) {
      this.refuse(
        link,
        CONDITION.notImplemented,
        'Sessions are not supported by the podbus emulator.',
      );
      return;
    }
    echoTermini(link);
    const peekLock = remote.rcv_settle_mode === 1;
    localAttach(link).snd_settle_mode = peekLock ? 0 : 1;
    localAttach(link).rcv_settle_mode = peekLock ? 1 : 0;
    const consumer = new ConsumerLink(
      link,
      queue,
      this.options.broker,
      this.tokens,
      peekLock,
      this.linkFaults(state),
    );
    state.links.set(link, { kind: 'consumer', consumer });
    state.covers.set(link, { path: route.entity, right: 'Listen' });
    this.options.broker.addConsumer(queue, consumer);
  }

  /** The client attaches a sender: our end receives (messages or requests). */
  private onClientSenderAttach(state: ConnectionState, link: Receiver): void {
    const remote = link as unknown as RemoteTermini;
    const route = parseAddress(remote.target?.address);
    if (route.kind === 'cbs') {
      echoTermini(link);
      state.links.set(link, { kind: 'cbs-requests' });
      return;
    }
    const queue = this.options.broker.resolve(route.entity);
    if (!queue) {
      this.refuseNotFound(link, route.entity);
      return;
    }
    const claimPath = route.kind === 'management' ? `${route.entity}/$management` : route.entity;
    // $management takes any right to attach; each of its operations needs its own (below).
    const right = route.kind === 'management' ? undefined : 'Send';
    const access = this.access(state, claimPath, right);
    if (access !== 'ok') {
      this.refuseUnauthorized(link, claimPath, access, right);
      return;
    }
    if (route.kind === 'management') {
      echoTermini(link);
      state.links.set(link, { kind: 'management-requests', queue, entity: route.entity });
      state.covers.set(link, { path: claimPath, right });
      return;
    }
    if (queue.isDeadLetterQueue) {
      this.refuse(
        link,
        CONDITION.notAllowed,
        `Cannot send messages to the dead-letter queue '${queue.name}'.`,
      );
      return;
    }
    echoTermini(link);
    localAttach(link).max_message_size = MAX_MESSAGE_SIZE;
    localAttach(link).rcv_settle_mode = 0;
    state.links.set(link, {
      kind: 'producer',
      producer: new ProducerLink(queue, this.options.broker),
    });
    state.covers.set(link, { path: claimPath, right });
  }

  private entityExists(path: string): boolean {
    return this.options.broker.resolve(path) !== undefined;
  }

  private access(state: ConnectionState, path: string, right: Right | undefined): ClaimCheck {
    if (this.options.cbs.acceptsAnyToken) return 'ok';
    return state.claims.check(path.toLowerCase(), Date.now(), right);
  }

  /**
   * "When a token expires, Service Bus promptly drops all links on the connection to the
   * respective entity" (the service's AMQP guide): a client must put a new token before then.
   * One timer per connection, set for the next claim expiry.
   */
  private watchClaimExpiry(state: ConnectionState): void {
    clearTimeout(state.claimExpiry);
    state.claimExpiry = undefined;
    if (this.options.cbs.acceptsAnyToken) return;
    const next = state.claims.nextExpiry(Date.now());
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - Date.now()) + 1, 2 ** 31 - 1);
    state.claimExpiry = setTimeout(() => {
      if (state.closed) return;
      this.dropUncoveredLinks(state);
      this.watchClaimExpiry(state);
    }, delay);
    state.claimExpiry.unref();
  }

  private dropUncoveredLinks(state: ConnectionState): void {
    for (const [link, cover] of [...state.covers]) {
      if (this.access(state, cover.path, cover.right) === 'ok') continue;
      try {
        link.close({
          condition: CONDITION.unauthorized,
          description: `Unauthorized access. The token for 'sb://localhost/${cover.path}' has expired: put a new token on $cbs before it expires.`,
        });
      } catch {
        // already closing
      }
      this.dropLink(state, link);
    }
  }

  private refuseNotFound(link: Sender | Receiver, entity: string): void {
    this.refuse(
      link,
      CONDITION.notFound,
      `The messaging entity 'sb://localhost/${entity}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`,
    );
  }

  private refuseUnauthorized(
    link: Sender | Receiver,
    entity: string,
    access: Exclude<ClaimCheck, 'ok'>,
    right: Right | undefined,
  ): void {
    this.refuse(
      link,
      CONDITION.unauthorized,
      access === 'missing-right'
        ? missingRight(right ?? 'Listen', entity)
        : `Unauthorized access to '${entity}': put a valid token for it on $cbs before attaching.`,
    );
  }

  /** Attach with a null terminus, then detach with the error (how the service refuses). */
  private refuse(link: Sender | Receiver, condition: string, description: string): void {
    link.close({ condition, description });
  }

  // ---- transfers -------------------------------------------------------------------------

  private onMessage(state: ConnectionState, ctx: EventContext): void {
    const receiver = ctx.receiver as Receiver;
    const handler = state.links.get(receiver);
    const delivery = ctx.delivery as Delivery;
    if (!handler) {
      settle(delivery, outcomes.released());
      return;
    }
    switch (handler.kind) {
      case 'producer': {
        handler.producer.onTransfer(ctx as unknown as TransferContext);
        const drop = this.options.faults.connectionDropAfterEvent();
        if (drop !== undefined) this.drop(state, drop);
        return;
      }
      case 'cbs-requests': {
        const request = this.decodeRequest(state, ctx, handler.kind);
        if (!request) return;
        settle(delivery, outcomes.accepted());
        // Verifying an Entra ID token may fetch the issuer's keys; replies are matched by
        // correlation id, so they need not keep the requests' order.
        void this.options.cbs.handle(request, state.claims).then(
          (response) => {
            if (state.closed) return;
            this.watchClaimExpiry(state);
            this.reply(state, request, {
              'status-code': amqpTypes.wrap_int(response.statusCode),
              'status-description': response.description,
            });
          },
          (error: unknown) => this.options.logger.error('servicebus emulator: $cbs failed', error),
        );
        return;
      }
      case 'management-requests': {
        const request = this.decodeRequest(state, ctx, handler.kind);
        if (!request) return;
        settle(delivery, outcomes.accepted());
        const needed = managementRight(request);
        const access = this.access(state, `${handler.entity}/$management`, needed);
        if (access !== 'ok') {
          this.replyManagement(state, request, {
            statusCode: 401,
            description: missingRight(needed, `${handler.entity}/$management`),
            errorCondition: CONDITION.unauthorized,
          });
          return;
        }
        const broker = this.options.broker;
        const response = handleManagementRequest(
          {
            queue: handler.queue,
            tokens: this.tokens,
            maxMessageSize: MAX_MESSAGE_SIZE,
            commit: () => broker.commit(),
          },
          request,
        );
        broker.commit();
        this.replyManagement(state, request, response);
        if (response.closeLink) {
          receiver.close({ condition: response.errorCondition, description: response.description });
          this.dropLink(state, receiver);
        }
        return;
      }
      default:
        settle(
          delivery,
          outcomes.rejected(CONDITION.notAllowed, 'this link does not take messages'),
        );
    }
  }

  /**
   * A `$cbs` or `$management` request, decoded with guards. An undecodable one is rejected with
   * `amqp:decode-error` and, when its properties still say where to, answered with status 400.
   */
  private decodeRequest(
    state: ConnectionState,
    ctx: EventContext,
    kind: 'cbs-requests' | 'management-requests',
  ): Message | undefined {
    const format = (ctx as unknown as { format?: number }).format;
    if (!isPlainMessage(format)) {
      throw new LinkFailure(CONDITION.decodeError, 'requests must be plain AMQP messages');
    }
    const bytes = ctx.message as unknown as Buffer;
    try {
      return decodeGuarded(bytes, 'the request') as unknown as Message;
    } catch (error) {
      if (!(error instanceof MessageFormatError)) throw error;
      settle(ctx.delivery as Delivery, outcomes.rejected(CONDITION.decodeError, error.message));
      const addressing = requestAddressing(bytes);
      if (addressing) {
        if (kind === 'management-requests') {
          this.replyManagement(state, addressing, {
            statusCode: 400,
            description: error.message,
            errorCondition: CONDITION.decodeError,
          });
        } else {
          this.reply(state, addressing, {
            'status-code': amqpTypes.wrap_int(400),
            'status-description': error.message,
          });
        }
      }
      return undefined;
    }
  }

  private replyManagement(
    state: ConnectionState,
    request: Message,
    response: ManagementResponse,
  ): void {
    const props: Record<string, unknown> = {
      statusCode: amqpTypes.wrap_int(response.statusCode),
      statusDescription: response.description,
    };
    if (response.errorCondition) props.errorCondition = response.errorCondition;
    this.reply(state, request, props, response.body);
  }

  private reply(
    state: ConnectionState,
    request: Message,
    applicationProperties: Record<string, unknown>,
    body?: Record<string, unknown>,
  ): void {
    const replyTo = request.reply_to as string | undefined;
    const link = replyTo === undefined ? undefined : state.replyLinks.get(replyTo);
    if (!link || !link.is_open()) {
      this.options.logger.warn(
        `servicebus emulator: no reply link '${String(replyTo)}'; response dropped`,
      );
      return;
    }
    const response: Message = { application_properties: applicationProperties, body: null };
    if (request.message_id !== undefined) response.correlation_id = request.message_id;
    if (replyTo !== undefined) response.to = replyTo;
    if (body !== undefined) response.body = body;
    link.send(response);
  }

  // ---- bookkeeping -----------------------------------------------------------------------

  private consumerOf(state: ConnectionState, link: Sender | undefined): ConsumerLink | undefined {
    if (!link) return undefined;
    const handler = state.links.get(link);
    return handler?.kind === 'consumer' ? handler.consumer : undefined;
  }

  private dropLink(state: ConnectionState, link: Sender | Receiver | undefined): void {
    if (!link) return;
    const handler = state.links.get(link);
    if (!handler) return;
    state.links.delete(link);
    state.covers.delete(link);
    if (handler.kind === 'consumer') handler.consumer.close();
    if (handler.kind === 'reply') {
      for (const [key, value] of state.replyLinks) if (value === link) state.replyLinks.delete(key);
    }
  }

  private forget(state: ConnectionState): void {
    if (state.closed) return;
    state.closed = true;
    clearTimeout(state.claimExpiry);
    for (const link of [...state.links.keys()]) this.dropLink(state, link);
    state.replyLinks.clear();
    this.connections.delete(state);
  }

  /** A failure inside one link's handling: detach that link with an AMQP error. */
  private linkFailure(
    state: ConnectionState,
    ctx: EventContext,
    during: string,
    error: unknown,
  ): void {
    const link = (ctx.sender ?? ctx.receiver) as Sender | Receiver | undefined;
    const condition = error instanceof LinkFailure ? error.condition : CONDITION.internalError;
    const description =
      error instanceof LinkFailure
        ? error.message
        : `The emulator failed handling a ${during}: ${(error as Error)?.message ?? String(error)}`;
    this.options.logger.warn(
      `servicebus emulator: closing link after ${during} failure`,
      describe(error),
    );
    const delivery = ctx.delivery as Delivery | undefined;
    try {
      if (delivery && !(delivery as unknown as { settled: boolean }).settled) {
        settle(delivery, outcomes.rejected(condition, description));
      }
    } catch {
      // the delivery is already gone
    }
    if (link) {
      try {
        link.close({ condition, description });
      } catch {
        // already closing
      }
      this.dropLink(state, link);
    }
  }

  /** Undecodable input on the connection: close it with an AMQP error where possible. */
  private connectionFailure(state: ConnectionState, error: unknown): void {
    this.options.logger.warn(
      `servicebus emulator: closing connection ${state.id}`,
      describe(error),
    );
    const c = state.connection as unknown as {
      is_open(): boolean;
      local: { close: { error?: unknown } };
      _write_close(): void;
    };
    try {
      if (c.is_open()) {
        // rhea ends the socket right after this callback; write the close frame now
        c.local.close.error = {
          condition: CONDITION.decodeError,
          description: `malformed AMQP frame: ${describe(error)}`,
        };
        c._write_close();
      }
    } catch {
      // the socket is already unusable
    }
    this.forget(state);
  }
}

/** `message_id` and `reply_to` of a request whose body cannot be decoded, if they can be. */
function requestAddressing(bytes: Buffer): Message | undefined {
  try {
    const props = scanSections(bytes).find((span) => span.code === SECTION.properties);
    if (!props) return undefined;
    const decoded = decodeGuarded(bytes.subarray(props.start, props.end), 'the properties');
    if (typeof decoded.reply_to !== 'string') return undefined;
    return { message_id: decoded.message_id, reply_to: decoded.reply_to } as Message;
  } catch {
    return undefined;
  }
}

function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Thrown by handlers to close the link with a specific condition. */
export class LinkFailure extends Error {
  constructor(
    readonly condition: string,
    message: string,
  ) {
    super(message);
  }
}

interface RemoteTermini {
  source?: { address?: string; filter?: Record<string, unknown> };
  target?: { address?: string };
  rcv_settle_mode?: number;
  snd_settle_mode?: number;
}

function echoTermini(link: Sender | Receiver): void {
  const remote = link as unknown as RemoteTermini & {
    remote: { attach?: { source?: object; target?: object } };
  };
  const attach = remote.remote.attach as { source?: never; target?: never } | undefined;
  if (attach?.source) link.set_source(attach.source);
  if (attach?.target) link.set_target(attach.target);
  const local = localAttach(link);
  if (remote.snd_settle_mode !== undefined) local.snd_settle_mode = remote.snd_settle_mode;
  if (remote.rcv_settle_mode !== undefined) local.rcv_settle_mode = remote.rcv_settle_mode;
}

/** The attach frame rhea will send for our end of a link (filled in before it goes out). */
function localAttach(link: Sender | Receiver): Record<string, unknown> {
  return (link as unknown as { local: { attach: Record<string, unknown> } }).local.attach;
}

export type Route =
  { kind: 'cbs' } | { kind: 'management'; entity: string } | { kind: 'entity'; entity: string };

/** `$cbs`, `<entity>/$management`, or an entity path; URIs are reduced to their path. */
export function parseAddress(address: unknown): Route {
  let path = typeof address === 'string' ? address.trim() : '';
  const scheme = path.indexOf('://');
  if (scheme >= 0) {
    path = path.slice(scheme + 3);
    const slash = path.indexOf('/');
    path = slash >= 0 ? path.slice(slash + 1) : '';
  }
  path = path.replace(/^\/+|\/+$/g, '').toLowerCase();
  if (path === '$cbs') return { kind: 'cbs' };
  if (path.endsWith('/$management')) {
    return { kind: 'management', entity: path.slice(0, -'/$management'.length) };
  }
  return { kind: 'entity', entity: path };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The right a `$management` operation needs: scheduling sends, everything else here receives. */
function managementRight(request: Message): Right {
  const operation = (request.application_properties as Record<string, unknown> | undefined)
    ?.operation;
  return operation === OPERATIONS.schedule || operation === OPERATIONS.cancelScheduled
    ? 'Send'
    : 'Listen';
}

/** The service's refusal when a token is valid but its principal lacks the right. */
function missingRight(right: Right, entity: string): string {
  const now = new Date().toISOString().replace(/\.\d+Z$/, '');
  return `Unauthorized access. '${right}' claim(s) are required to perform this operation. Resource: 'sb://localhost/${entity}'. TrackingId:${randomUUID().replaceAll('-', '')}_G1, SystemTracker:NoSystemTracker, Timestamp:${now}`;
}
