// Keep-alive connections to one origin for the load client. A connection carries one request at a time;
// whoever holds it gets its bytes and its end through two handler slots.
import net from 'node:net';
import tls from 'node:tls';

/** Whoever currently uses a connection: gets its bytes, and hears when it closes. */
export interface ConnectionOwner {
  onData(chunk: Buffer): void;
  onGone(err: NodeJS.ErrnoException | null): void;
}

/** One socket and the request that currently owns it. */
export class Connection {
  owner: ConnectionOwner | null = null;
  closed = false;
  private lastError: NodeJS.ErrnoException | null = null;

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => this.owner?.onData(b));
    socket.on('error', (e: NodeJS.ErrnoException) => (this.lastError = e));
    socket.on('close', () => {
      this.closed = true;
      const owner = this.owner;
      this.owner = null;
      owner?.onGone(this.lastError);
    });
  }
}

/** Idle keep-alive connections to one host:port, opened on demand without limit. */
export class ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  /** Connections opened so far (a pool that keeps growing means requests keep finding every connection busy). */
  opened = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly secure: boolean,
  ) {}

  /** An idle connection (reused: true) or a new one; the caller must release() or destroy it. */
  acquire(): { conn: Connection; reused: boolean } {
    for (;;) {
      const conn = this.idle.pop();
      if (!conn) break;
      if (!conn.closed) return { conn, reused: true };
    }
    const socket = this.secure
      ? tls.connect({ host: this.host, port: this.port, ...(net.isIP(this.host) ? {} : { servername: this.host }) })
      : net.connect({ host: this.host, port: this.port });
    const conn = new Connection(socket);
    this.opened++;
    this.all.add(conn);
    socket.once('close', () => {
      this.all.delete(conn);
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return { conn, reused: false };
  }

  /** Returns a connection after a complete response. */
  release(conn: Connection): void {
    conn.owner = null;
    if (!conn.closed) this.idle.push(conn);
  }

  /** Closes every connection, idle or busy. */
  destroy(): void {
    for (const c of this.all) c.socket.destroy();
    this.idle.length = 0;
  }
}
