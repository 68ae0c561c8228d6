/**
 * A fault-injecting TCP proxy for one directed inter-node link: node A dials B through it (A's
 * `peerUrls` name the proxy), so it carries A's Raft messages and requests to B and B's answers on
 * those connections. WebSocket runs over TCP, so the proxy works on bytes and never parses frames.
 *
 * Modes (`setMode`):
 * - `pass`: bytes flow both ways at once.
 * - `blackhole`: like packets dropped on the wire, with TCP retransmitting them once the link heals:
 *   nothing flows either way (reading from both sockets is paused, so nothing is lost or reordered and
 *   memory stays bounded by the kernel's buffers); new connections are accepted but not forwarded.
 *   When the link heals, what was held flows on — unless an endpoint timed out and closed meanwhile.
 * - `cut`: every connection is reset now and new ones are reset at once (connection refused).
 * - `slow`: every chunk is delivered `delayMs` (plus up to `jitterMs`) late, in order.
 *
 * Invariants: bytes of one direction are written in the order they were read; a chunk is never
 * dropped or duplicated while both sockets are open; `close()` destroys every socket and resolves once
 * the listener is closed. Listens on 127.0.0.1 only.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type LinkMode = { readonly kind: 'pass' } | { readonly kind: 'blackhole' } | { readonly kind: 'cut' } | { readonly kind: 'slow'; readonly delayMs: number; readonly jitterMs: number };

export const PASS: LinkMode = { kind: 'pass' };

/** One direction of one proxied connection: from `source` to `sink`, with a delay queue. */
class Pipe {
  private readonly queue: Array<{ readonly atMs: number; readonly chunk: Buffer }> = [];
  private lastDueMs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** A 'drain' listener is waiting on the sink (the source is paused until it fires). */
  private awaitingDrain = false;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly link: LinkProxy,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    const mode = this.link.mode;
    const delay = mode.kind === 'slow' ? mode.delayMs + Math.floor(Math.random() * (mode.jitterMs + 1)) : 0;
    if (delay === 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    // In order: a chunk is never due before the one ahead of it.
    const dueMs = Math.max(this.lastDueMs, Date.now() + delay);
    this.lastDueMs = dueMs;
    this.queue.push({ atMs: dueMs, chunk });
    this.schedule();
  }

  private write(chunk: Buffer): void {
    this.link.bytesForwarded += chunk.length;
    if (!this.sink.destroyed && !this.sink.write(chunk) && !this.awaitingDrain) {
      // Backpressure: stop reading until the sink drains (unless a blackhole paused us anyway). One
      // listener however many writes (the delay queue's too) found the sink full meanwhile.
      this.awaitingDrain = true;
      this.source.pause();
      this.sink.once('drain', () => {
        this.awaitingDrain = false;
        if (this.link.mode.kind !== 'blackhole') this.source.resume();
      });
    }
  }

  private schedule(): void {
    if (this.timer !== undefined || this.link.mode.kind === 'blackhole') return;
    const head = this.queue[0];
    if (head === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, head.atMs - Date.now()));
  }

  /** Writes every chunk that is due; called again on heal. */
  pump(): void {
    if (this.link.mode.kind === 'blackhole') return;
    const now = Date.now();
    while (this.queue.length > 0 && (this.queue[0] as { atMs: number }).atMs <= now) this.write((this.queue.shift() as { chunk: Buffer }).chunk);
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Proxied {
  readonly client: Socket;
  upstream: Socket | undefined;
  readonly pipes: Pipe[];
}

export class LinkProxy {
  mode: LinkMode = PASS;
  /** Connections accepted since start (for tests and the summary). */
  accepted = 0;
  bytesForwarded = 0;
  private readonly connections = new Set<Proxied>();

  private constructor(
    private readonly server: Server,
    /** Where it forwards to. */
    readonly targetPort: number,
    /** e.g. "1->2". */
    readonly name: string,
  ) {}

  /**
   * Starts a proxy on 127.0.0.1 (`port` 0: any free port) forwarding to 127.0.0.1:`targetPort`.
   * `avoidPorts`: ports chosen for others but not bound yet (the nodes' listen ports, from `freePorts`,
   * which releases them at once); a free port the OS hands out from among them is given back and
   * another taken, so the proxy never takes the port its node is about to listen on.
   */
  static async start(options: { readonly targetPort: number; readonly port?: number; readonly name?: string; readonly avoidPorts?: Iterable<number> }): Promise<LinkProxy> {
    const avoid = new Set(options.avoidPorts ?? []);
    const held: Server[] = []; // ports to avoid that the OS handed out: kept bound until the end, so it cannot hand them out again
    try {
      for (;;) {
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(options.port ?? 0, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        if (options.port === undefined && avoid.has((server.address() as { port: number }).port)) {
          held.push(server);
          continue;
        }
        const proxy = new LinkProxy(server, options.targetPort, options.name ?? `->${options.targetPort}`);
        server.on('connection', (socket) => proxy.accept(socket));
        return proxy;
      }
    } finally {
      await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.connections.size;
  }

  setMode(mode: LinkMode): void {
    this.mode = mode;
    if (mode.kind === 'cut') {
      for (const c of [...this.connections]) this.drop(c, true);
      return;
    }
    for (const c of this.connections) {
      if (mode.kind === 'blackhole') {
        c.client.pause();
        c.upstream?.pause();
      } else {
        if (c.upstream === undefined) this.connectUpstream(c);
        c.client.resume();
        c.upstream?.resume();
        for (const p of c.pipes) p.pump();
      }
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.connections]) this.drop(c, false);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.setNoDelay(true);
    client.on('error', () => {});
    if (this.mode.kind === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const c: Proxied = { client, upstream: undefined, pipes: [] };
    this.connections.add(c);
    client.once('close', () => this.drop(c, false));
    if (this.mode.kind === 'blackhole') client.pause();
    else this.connectUpstream(c);
  }

  private connectUpstream(c: Proxied): void {
    if (c.upstream !== undefined || c.client.destroyed) return;
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    c.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => {});
    upstream.once('close', () => this.drop(c, false));
    c.pipes.push(new Pipe(c.client, upstream, this), new Pipe(upstream, c.client, this));
    if (this.mode.kind === 'blackhole') {
      c.client.pause();
      upstream.pause();
    } else c.client.resume();
  }

  private drop(c: Proxied, reset: boolean): void {
    if (!this.connections.delete(c)) return;
    for (const p of c.pipes) p.stop();
    for (const s of [c.client, c.upstream]) {
      if (s === undefined || s.destroyed) continue;
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
