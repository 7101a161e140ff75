import { createServer } from "node:net";

const HOST = "127.0.0.1";

/** A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it, so parallel runs do not collide). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** True when `port` can be listened on at 127.0.0.1 right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * A random base in [from, to) on a multiple of `step` above `from` whose ports (`portsOf(base)`) are all free:
 * a private cluster's listeners, placed below Linux' ephemeral range so the OS never hands them out meanwhile.
 */
export async function freeBasePort(options: {
  from: number;
  to: number;
  step: number;
  portsOf: (base: number) => number[];
  what: string;
}): Promise<number> {
  const slots = Math.floor((options.to - options.from) / options.step);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = options.from + options.step * Math.floor(Math.random() * slots);
    if ((await Promise.all(options.portsOf(base).map(portFree))).every(Boolean)) return base;
  }
  throw new Error(`no free range of ports for ${options.what}`);
}
