import type { Logger } from "./logger.js";
import { type OpsServer, type OpsServerOptions, startOpsServer } from "./ops-server.js";

/** Gives a resource back: closes a pool or a server, stops a consumer, clears a timer. */
export type Release = () => unknown;

interface Held {
  readonly name: string;
  readonly release: Release;
}

/**
 * What a service holds while it runs, released in the reverse order it was acquired: on stop, and also when
 * the start fails half-way, so a failed start leaves no connection, server or timer behind. A release that
 * fails is logged with the resource's name and the others still run: one stuck connection must not keep the
 * rest open.
 */
export class ResourceStack {
  private readonly held: Held[] = [];
  private released: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Acquires a resource and registers its release; the resource is returned. */
  async acquire<T>(
    name: string,
    acquire: () => T | Promise<T>,
    release: (resource: T) => unknown,
  ): Promise<T> {
    this.assertOpen(name);
    const resource = await acquire();
    this.defer(name, () => release(resource));
    return resource;
  }

  /** Registers the release of something already acquired (a timer, a loop that is running). */
  defer(name: string, release: Release): void {
    if (this.released !== undefined) {
      // Acquired while the stack was being released (a stop during start): give it back at once.
      void this.releaseOne({ name, release });
      throw new Error(`${name} was acquired after the service's resources were released`);
    }
    this.held.push({ name, release });
  }

  /** Starts the ops endpoints (/healthz, /readyz, /metrics) and registers their close. */
  opsServer(options: OpsServerOptions): Promise<OpsServer> {
    return this.acquire(
      "ops server",
      () => startOpsServer(options),
      (server) => server.close(),
    );
  }

  /** The `stop` a started service hands out: releases everything once, then logs that `service` stopped. */
  stopper(service: string): () => Promise<void> {
    let stopped: Promise<void> | undefined;
    return () => {
      stopped ??= this.release().then(() => this.logger.info({}, `${service} stopped`));
      return stopped;
    };
  }

  /**
   * Ends a start that threw: logs `message` (the caller redacts it: a driver's error can carry a connection
   * string), releases what was acquired so far, and rethrows the error.
   */
  async failedStart(service: string, error: unknown, message: string): Promise<never> {
    this.logger.error({ err: message }, `${service} failed to start`);
    await this.release();
    throw error;
  }

  /** Releases everything in reverse order, once: later calls return the same promise. Never rejects. */
  release(): Promise<void> {
    this.released ??= this.releaseAll();
    return this.released;
  }

  private assertOpen(name: string): void {
    if (this.released !== undefined)
      throw new Error(`cannot acquire ${name}: the service's resources were released`);
  }

  private async releaseAll(): Promise<void> {
    for (let next = this.held.pop(); next !== undefined; next = this.held.pop()) await this.releaseOne(next);
  }

  private async releaseOne({ name, release }: Held): Promise<void> {
    try {
      await release();
    } catch (error) {
      this.logger.warn({ err: error, resource: name }, "close failed");
    }
  }
}
