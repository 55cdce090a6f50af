import { readFile, stat } from 'node:fs/promises';

import { ClusterError } from './errors.js';
import { silentLogger, type ClusterLogger } from './logger.js';

/**
 * Where a cluster's bearer token comes from. Tokens rotate (projected service-account tokens
 * are rewritten by the kubelet; operators replace mounted Secrets), so a file-backed token is
 * re-read when the file changes, and once more immediately after a 401.
 */
export interface TokenSource {
  /** The token to send now. Throws `ClusterError{kind:'config'}` when none can be had. */
  current(): Promise<string>;
  /**
   * Called after a 401 with the token that was rejected. Re-reads the source (bypassing the
   * change check) and returns true when it now holds a different token worth one more try.
   */
  refreshAfterUnauthorized(rejected: string): Promise<boolean>;
}

/**
 * A token fetched from somewhere (an Entra ID credential, an exec plugin) and kept until its
 * `renewAt`: concurrent callers share one fetch, and a 401 fetches again. Subclasses say how
 * to fetch and set `token`.
 */
export abstract class FetchedTokenSource implements TokenSource {
  protected token: { value: string; renewAt: number; expiresAt: number } | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(protected readonly now: () => number) {}

  /** Fetches a new token into `token`, or throws `ClusterError{kind:'config'}`. */
  protected abstract fetchToken(): Promise<void>;

  async current(): Promise<string> {
    if (this.token === undefined || this.now() >= this.token.renewAt) await this.once();
    return this.token!.value;
  }

  async refreshAfterUnauthorized(rejected: string): Promise<boolean> {
    try {
      await this.once();
    } catch {
      return false;
    }
    return this.token !== undefined && this.token.value !== rejected;
  }

  private once(): Promise<void> {
    this.inFlight ??= this.fetchToken().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }
}

export class StaticTokenSource implements TokenSource {
  constructor(private readonly token: string) {}

  async current(): Promise<string> {
    return this.token;
  }

  async refreshAfterUnauthorized(): Promise<boolean> {
    return false;
  }
}

/** File-system seam so the rotation logic is testable without touching a disk. */
export interface TokenFileSystem {
  stat(path: string): Promise<{ mtimeMs: number; size: number; ino: number }>;
  readFile(path: string): Promise<string>;
}

export const nodeTokenFileSystem: TokenFileSystem = {
  stat: (path) => stat(path),
  readFile: (path) => readFile(path, 'utf8'),
};

export interface FileTokenSourceOptions {
  readonly cluster: string;
  readonly path: string;
  /**
   * How often, at most, the file is stat()ed for changes.
   * @defaultValue 1000
   */
  readonly checkIntervalMs?: number;
  readonly fs?: TokenFileSystem;
  readonly now?: () => number;
  readonly logger?: ClusterLogger;
}

/**
 * A token read from a file. The file is stat()ed at most every `checkIntervalMs`; when its
 * mtime, size or inode changed (an atomic rename by the kubelet changes the inode), it is read
 * again. An empty or unreadable file keeps the last good token (writers that truncate-then-
 * write are caught mid-way) and only fails when there never was one.
 */
export class FileTokenSource implements TokenSource {
  private token: string | undefined;
  private fingerprint: string | undefined;
  private lastCheck = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  private readonly fs: TokenFileSystem;
  private readonly now: () => number;
  private readonly checkIntervalMs: number;
  private readonly logger: ClusterLogger;

  constructor(private readonly options: FileTokenSourceOptions) {
    this.fs = options.fs ?? nodeTokenFileSystem;
    this.now = options.now ?? Date.now;
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.logger = options.logger ?? silentLogger;
  }

  async current(): Promise<string> {
    if (this.token === undefined || this.now() - this.lastCheck >= this.checkIntervalMs) {
      await this.once(() => this.reload(false));
    }
    if (this.token === undefined) throw this.configError('no token could be read');
    return this.token;
  }

  async refreshAfterUnauthorized(rejected: string): Promise<boolean> {
    await this.once(() => this.reload(true));
    return this.token !== undefined && this.token !== rejected;
  }

  /** Concurrent callers share one reload. */
  private async once(fn: () => Promise<void>): Promise<void> {
    this.inFlight ??= fn().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async reload(force: boolean): Promise<void> {
    this.lastCheck = this.now();
    const { path, cluster } = this.options;
    try {
      const st = await this.fs.stat(path);
      const fingerprint = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (!force && fingerprint === this.fingerprint && this.token !== undefined) return;
      const token = (await this.fs.readFile(path)).trim();
      if (token === '') {
        this.logger.warn({ cluster, tokenFile: path }, 'token file is empty; keeping last token');
        return;
      }
      if (this.token !== undefined && token !== this.token) {
        this.logger.info({ cluster, tokenFile: path }, 'token file changed; using the new token');
      }
      this.token = token;
      this.fingerprint = fingerprint;
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      this.logger.warn({ cluster, tokenFile: path, code }, 'token file unreadable');
      if (this.token === undefined) throw this.configError(`token file unreadable (${code})`);
    }
  }

  private configError(message: string): ClusterError {
    return new ClusterError({
      kind: 'config',
      cluster: this.options.cluster,
      message: `${message}: ${this.options.path}`,
    });
  }
}
