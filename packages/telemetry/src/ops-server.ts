import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.js";

/** A readiness check resolves when its dependency is usable and rejects (with a reason) when not. */
export type ReadinessCheck = () => Promise<void>;

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Named readiness checks, run concurrently on every /readyz request. */
  checks?: Record<string, ReadinessCheck>;
  /** Per-check timeout so a hung dependency answers 503 instead of hanging the probe. */
  checkTimeoutMs?: number;
  logger?: Logger;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

interface CheckOutcome {
  ok: boolean;
  error?: string;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

/**
 * Serves the operational endpoints every service exposes:
 * `/healthz` (the process is alive), `/readyz` (its dependencies answer) and `/metrics` (Prometheus).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const checks = options.checks ?? {};
  const timeoutMs = options.checkTimeoutMs ?? 2_000;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { error: "method_not_allowed" });
      return;
    }
    if (path === "/healthz") {
      sendJson(res, 200, { status: "ok" });
      return;
    }
    if (path === "/readyz") {
      const names = Object.keys(checks);
      const outcomes = await Promise.all(names.map((name) => runCheck(checks[name]!, timeoutMs)));
      const report = Object.fromEntries(names.map((name, i) => [name, outcomes[i]]));
      const ready = outcomes.every((outcome) => outcome.ok);
      sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready", checks: report });
      return;
    }
    if (path === "/metrics") {
      const body = await options.registry.metrics();
      res.writeHead(200, { "content-type": options.registry.contentType });
      res.end(body);
      return;
    }
    sendJson(res, 404, { error: "not_found" });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.logger?.error({ err: error }, "ops endpoint failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal_error" });
      else res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  options.logger?.info({ port }, "ops endpoints listening (/healthz, /readyz, /metrics)");

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
