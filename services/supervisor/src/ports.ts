import { createServer } from "node:net";

/** True when nothing listens on host:port (checked by listening on it for a moment). */
export function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The entries whose port is taken, in order. */
export async function busyPorts(
  wanted: readonly { name: string; port: number; host: string }[],
): Promise<{ name: string; port: number; host: string }[]> {
  const free = await Promise.all(wanted.map(({ port, host }) => portFree(port, host)));
  return wanted.filter((_, i) => !free[i]);
}
