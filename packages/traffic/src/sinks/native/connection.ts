import { connect, type Socket } from "node:net";

interface Pending {
  resolve: (body: Buffer) => void;
  reject: (error: Error) => void;
}

/**
 * One plaintext TCP connection to a Kafka broker that sends framed requests and matches the responses by
 * correlation id. Requests are written in order on one connection, and a broker handles one connection's
 * requests in order: records of a partition keep their order even with several requests in flight.
 */
export class BrokerConnection {
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private buffered: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly connectTimeoutMs = 5_000,
  ) {}

  async open(): Promise<void> {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connecting to ${this.host}:${this.port} timed out`));
      }, this.connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error(`connection to ${this.host}:${this.port} closed`)));
    this.socket = socket;
  }

  /** Sends a framed request; resolves with the response body (after the correlation id), or at once without one. */
  request(frame: Buffer, correlationId: number, expectResponse: boolean): Promise<Buffer> {
    const socket = this.socket;
    if (socket === undefined || this.failure !== undefined) {
      return Promise.reject(this.failure ?? new Error("not connected"));
    }
    if (!expectResponse) {
      return new Promise((resolve, reject) => {
        socket.write(frame, (error) => (error ? reject(error) : resolve(Buffer.alloc(0))));
      });
    }
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject });
      socket.write(frame);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const correlationId = this.buffered.readInt32BE(4);
      const body = this.buffered.subarray(8, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const waiter = this.pending.get(correlationId);
      this.pending.delete(correlationId);
      waiter?.resolve(body);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.failure ??= new Error("connection closed");
    if (socket === undefined || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.end();
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 2_000).unref();
    });
  }
}
