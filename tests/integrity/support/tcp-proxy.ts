import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * - open: forward bytes both ways;
 * - freeze: a network partition: established connections stay open but nothing is forwarded either way,
 *   new connections are accepted and never answered;
 * - refuse: the server is down: every connection is reset and the port refuses new ones.
 */
export type ProxyMode = "open" | "freeze" | "refuse";

interface Link {
  readonly client: Socket;
  upstream: Socket | null;
}

/** A TCP proxy the suite controls, put between the services and a server (Postgres) to cut them apart. */
export class TcpProxy {
  private server: Server | null = null;
  private readonly links = new Set<Link>();
  private current: ProxyMode = "open";
  readonly stats = { accepted: 0, reset: 0 };

  private boundPort = 0;
  readonly host = "127.0.0.1";

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    proxy.boundPort = await proxy.listen(0);
    return proxy;
  }

  /** The port the services connect to (kept across a refuse/open cycle). */
  get port(): number {
    return this.boundPort;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  private listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.accept(client));
      server.once("error", reject);
      server.listen(port, this.host, () => {
        this.server = server;
        const address = server.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  }

  private accept(client: Socket): void {
    this.stats.accepted += 1;
    const link: Link = { client, upstream: null };
    this.links.add(link);
    client.on("error", () => undefined);
    client.on("close", () => {
      link.upstream?.destroy();
      this.links.delete(link);
    });
    if (this.current === "open") this.connectUpstream(link);
    else client.pause();
  }

  private connectUpstream(link: Link): void {
    const upstream = connect(this.target.port, this.target.host);
    link.upstream = upstream;
    upstream.on("error", () => link.client.destroy());
    upstream.on("close", () => link.client.destroy());
    link.client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => link.client.write(chunk));
    link.client.resume();
  }

  /** Switches the mode; going to refuse resets every connection and closes the port. */
  async setMode(mode: ProxyMode): Promise<void> {
    if (mode === this.current) return;
    const previous = this.current;
    this.current = mode;
    if (mode === "freeze") {
      for (const link of this.links) {
        link.client.pause();
        link.upstream?.pause();
      }
      return;
    }
    if (mode === "refuse") {
      for (const link of this.links) {
        this.stats.reset += 1;
        link.client.resetAndDestroy();
        link.upstream?.destroy();
      }
      this.links.clear();
      await this.closeServer();
      return;
    }
    // open
    if (previous === "refuse") await this.listen(this.port);
    for (const link of this.links) {
      if (link.upstream === null) this.connectUpstream(link);
      else {
        link.upstream.resume();
        link.client.resume();
      }
    }
  }

  private closeServer(): Promise<void> {
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server === null ? resolve() : server.close(() => resolve())));
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
    this.links.clear();
    await this.closeServer();
  }
}
