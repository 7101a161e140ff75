import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEventHubsConnectionString } from "@adpipe/config";
import pg from "pg";
import { testServices, uniqueIdentifier } from "../../support/index.js";
import { freePort } from "../../support/ports.js";
import { INJECTIONS } from "../support/hostile.js";
import { producePaced } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { errorsFor, logPosition, postgresLogFile, readLogSince } from "../support/pg-log.js";
import { Pipeline } from "../support/pipeline.js";
import { PrivateRedis } from "../support/private-redis.js";
import type { ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { registeredSecrets, registerSecret, scanLogsForSecrets } from "../support/secrets.js";
import { liveStream } from "../support/streams.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

const REPORT_ROUTES = [
  "/v1/reports/spend/total",
  "/v1/reports/spend/monthly",
  "/v1/reports/spend/daily",
  "/v1/reports/spend/hourly",
  "/v1/reports/budget/trend",
  "/v1/reports/budget/changes",
  "/v1/reports/serving-status",
  "/v1/reports/spend-vs-budget",
  "/v1/advertisers",
] as const;
const REPORT_PARAMETERS = ["advertiser", "advertiser_id", "from", "to", "limit", "offset"] as const;

/** What goes through every API parameter: SQL/Lua injection strings and a few other troublemakers. */
const PAYLOADS = [
  ...INJECTIONS,
  "1 OR 1=1",
  "NULL",
  "%00",
  "\u0000",
  "2026-11-25T00:00:00Z' OR '1'='1",
  "-1",
  "99999999999999999999",
  "x".repeat(2_000),
] as const;

interface Answer {
  status: number;
  text: string;
}

class ApiClient {
  readonly statuses: Record<string, number> = {};
  readonly serverErrors: string[] = [];
  readonly leaks: string[] = [];
  requests = 0;

  constructor(private readonly baseUrl: string) {}

  async call(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    this.requests += 1;
    this.statuses[String(response.status)] = (this.statuses[String(response.status)] ?? 0) + 1;
    if (response.status >= 500)
      this.serverErrors.push(`${method} ${path.slice(0, 120)} → ${response.status} ${text.slice(0, 200)}`);
    // Answers never carry driver messages or stack traces.
    if (/syntax error|postgres|\bpg\b|ERR |at \S+ \(|node_modules/i.test(text))
      this.leaks.push(`${method} ${path.slice(0, 120)} → ${text.slice(0, 200)}`);
    return { status: response.status, text };
  }
}

const enc = encodeURIComponent;

/**
 * Scenario 7: the pipeline runs through the SASL_SSL Event Hubs emulation (a real connection string as the
 * SASL password) with debug logs; the API runs as its own process against it. The API must refuse missing
 * and wrong tokens and oversized bodies, take injection strings in every parameter as data (no 5xx, no
 * Postgres error in its database, no report widened by them), and no log line of any process of the whole run
 * may contain a connection string, password or token.
 */
export async function security(
  context: ScenarioContext & { suiteLogPosition: number },
): Promise<ScenarioResult> {
  const { profile, log } = context;
  const startedAtMs = Date.now();
  const eventHubs = testServices().eventHubs;
  if (eventHubs === null)
    throw new Error(
      "the Event Hubs emulation (SASL_SSL :9093) is not available: bash scripts/kafka.sh start",
    );
  registerSecret("Event Hubs connection string (SASL password)", eventHubs.connectionString);
  registerSecret(
    "Event Hubs SharedAccessKey",
    parseEventHubsConnectionString(eventHubs.connectionString).sharedAccessKey,
  );
  const writeToken = registerSecret("API write token", `w-${randomBytes(16).toString("hex")}`);
  const readToken = registerSecret("API read token", `r-${randomBytes(16).toString("hex")}`);
  const wrongToken = registerSecret("a wrong token sent to the API", `x-${randomBytes(16).toString("hex")}`);
  const kafkaEnv = {
    EVENT_HUB_CONNECTION_STRING: eventHubs.connectionString,
    KAFKA_SSL_CA_FILE: eventHubs.caFile,
  };
  const redis = await PrivateRedis.start();
  const pipeline = await Pipeline.create({
    scenario: "security",
    partitions: 2,
    serviceKafkaEnv: kafkaEnv,
    redisUrl: redis.url,
    ingestorEnv: { LOG_LEVEL: "debug" },
    trackerEnv: { LOG_LEVEL: "debug" },
  });
  const monitor = new LagMonitor(pipeline);
  const apiRole = uniqueIdentifier("integrity_api");
  const apiPassword = registerSecret(
    "Postgres password of the API role",
    `pw-${randomBytes(12).toString("hex")}`,
  );
  try {
    await pipeline.db.pool.query(
      `CREATE ROLE ${pg.escapeIdentifier(apiRole)} LOGIN PASSWORD ${pg.escapeLiteral(apiPassword)} IN ROLE adpipe_api`,
    );
    const records = liveStream({
      seed: profile.seed + 700,
      events: profile.security.events,
      advertisers: 20,
      runId: `sec${profile.seed}`,
      ratePerSecond: 1_000,
    });
    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    await producePaced(pipeline.kafka, pipeline.topic, records, 1_000).done;
    await pipeline.waitCaughtUp(600_000);

    const apiUrl = new URL(testServices().databaseUrl);
    apiUrl.pathname = `/${pipeline.db.name}`;
    apiUrl.username = apiRole;
    apiUrl.password = apiPassword;
    const port = await freePort();
    pipeline.children.spawn("api", {
      API_HOST: "127.0.0.1",
      API_PORT: String(port),
      DATABASE_URL: registerSecret("API DATABASE_URL", apiUrl.toString()),
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: pipeline.prefix,
      ...kafkaEnv,
      KAFKA_TOPIC: pipeline.topic,
      API_WRITE_TOKENS: `ops:${writeToken}`,
      API_READ_TOKENS: readToken,
      API_BODY_LIMIT_BYTES: "65536",
      API_WRITE_RATE_LIMIT_PER_MINUTE: "0",
      API_LAG_GROUPS: `${pipeline.ingestorGroup},${pipeline.trackerGroup}`,
      LOG_LEVEL: "debug",
    });
    const client = new ApiClient(`http://127.0.0.1:${port}`);
    await eventually(
      "the API answers /healthz",
      async () => (await client.call("GET", "/healthz")).status === 200,
      120_000,
      250,
    );
    const someone = records.find((r) => r.key !== null)?.key ?? "adv-0001";

    // Authentication: writes need a write token, reads (API_READ_TOKENS set) a read or write token.
    const auth = {
      writeWithoutToken: (
        await client.call("PUT", `/v1/advertisers/${enc(someone)}/budget`, { body: { amount: "10" } })
      ).status,
      writeWithWrongToken: (
        await client.call("PUT", `/v1/advertisers/${enc(someone)}/budget`, {
          token: wrongToken,
          body: { amount: "10" },
        })
      ).status,
      writeWithReadToken: (
        await client.call("PUT", `/v1/advertisers/${enc(someone)}/budget`, {
          token: readToken,
          body: { amount: "10" },
        })
      ).status,
      clicksWithoutToken: (await client.call("POST", "/v1/clicks", { body: [] })).status,
      readWithoutToken: (await client.call("GET", `/v1/advertisers/${enc(someone)}/serving`)).status,
      readWithWrongToken: (await client.call("GET", "/v1/reports/spend/total", { token: wrongToken })).status,
      readWithReadToken: (await client.call("GET", "/v1/reports/spend/total", { token: readToken })).status,
      readWithWriteToken: (
        await client.call("GET", `/v1/advertisers/${enc(someone)}/serving`, { token: writeToken })
      ).status,
      malformedHeader: (await client.call("GET", "/v1/reports/spend/total", { token: `${readToken} extra` }))
        .status,
    };
    // Sizes: click batches up to API_BODY_LIMIT_BYTES (64 KiB here), every other body 16 KiB; authentication first.
    const bigClicks = JSON.stringify([{ click_id: "c", padding: "p".repeat(70_000) }]);
    const size = {
      clicksOverLimit: (await client.call("POST", "/v1/clicks", { token: writeToken, rawBody: bigClicks }))
        .status,
      clicksOverLimitWithoutToken: (await client.call("POST", "/v1/clicks", { rawBody: bigClicks })).status,
      budgetOver16KiB: (
        await client.call("PUT", `/v1/advertisers/${enc(someone)}/budget`, {
          token: writeToken,
          body: { amount: "10", source: "s".repeat(17_000) },
        })
      ).status,
      batchOver16KiB: (
        await client.call("POST", "/v1/serving:batch", {
          token: readToken,
          body: { ids: Array.from({ length: 900 }, (_, i) => `id-${i}-${"x".repeat(20)}`) },
        })
      ).status,
      notJson: (
        await client.call("POST", "/v1/clicks", {
          token: writeToken,
          rawBody: "a=b",
          contentType: "application/x-www-form-urlencoded",
        })
      ).status,
    };
    log(`auth ${JSON.stringify(auth)} size ${JSON.stringify(size)}`);

    // A report before any injection: there is data, so an injection that widened a filter would show.
    const allRows = JSON.parse(
      (await client.call("GET", "/v1/reports/spend/total?limit=1000", { token: readToken })).text,
    ) as { items: unknown[] };
    const pgLog = postgresLogFile();
    const pgLogStart = logPosition(pgLog);
    const widened: string[] = [];
    for (const payload of PAYLOADS) {
      const id = enc(payload);
      await client.call("GET", `/v1/advertisers/${id}/serving`, { token: readToken });
      await client.call("GET", `/v1/serving?ids=${id},${enc(someone)}`, { token: readToken });
      await client.call("POST", "/v1/serving:batch", { token: readToken, body: { ids: [payload, someone] } });
      await client.call("GET", `/v1/advertisers/${id}/budget/audit?limit=${id}&before_id=${id}`, {
        token: readToken,
      });
      await client.call("GET", `/v1/advertisers/${id}/budget/audit?limit=5`, { token: readToken });
      await client.call("PUT", `/v1/advertisers/${id}/budget`, {
        token: writeToken,
        body: { amount: payload },
      });
      const put = await client.call("PUT", `/v1/advertisers/${id}/budget`, {
        token: writeToken,
        body: { amount: "12.5", advertiser: payload, source: payload },
      });
      if (put.status === 200) {
        await client.call("POST", `/v1/advertisers/${id}/pause`, {
          token: writeToken,
          body: { note: payload, source: payload },
        });
        await client.call("POST", `/v1/advertisers/${id}/resume`, {
          token: writeToken,
          body: { note: payload, source: payload },
        });
      }
      await client.call("POST", "/v1/clicks", {
        token: writeToken,
        body: [
          {
            event_type: "ad_click",
            click_id: payload,
            advertiser: payload,
            advertiser_id: payload,
            ad_id: payload,
            amount: payload,
            timestamp: payload,
          },
          {
            event_type: "ad_click",
            click_id: `${payload.slice(0, 100)}-ok`,
            advertiser: payload,
            advertiser_id: payload.slice(0, 128),
            ad_id: payload.slice(0, 128),
            amount: "0.25",
            timestamp: new Date().toISOString(),
          },
        ],
      });
      for (const route of REPORT_ROUTES) {
        for (const parameter of REPORT_PARAMETERS) {
          const answer = await client.call("GET", `${route}?${parameter}=${id}`, { token: readToken });
          if (answer.status === 200 && (parameter === "advertiser" || parameter === "advertiser_id")) {
            const items = (JSON.parse(answer.text) as { items?: unknown[] }).items ?? [];
            if (
              route === "/v1/reports/spend/total" &&
              items.length > 0 &&
              items.length >= allRows.items.length
            )
              widened.push(`${route}?${parameter}=${payload.slice(0, 40)} returned ${items.length} rows`);
          }
        }
      }
    }
    const pgErrors = errorsFor(readLogSince(pgLog, pgLogStart), (database) => database === pipeline.db.name);
    log(
      `${client.requests} API requests, statuses ${JSON.stringify(client.statuses)}, ${pgErrors.length} Postgres errors`,
    );

    // What the API produced (budgets, clicks with odd ids) went through both paths like any event.
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();
    const verification = await verifyPipeline(pipeline);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const exits = await stopGracefully(pipeline);

    // The whole run's logs, after every process of this scenario has exited and flushed.
    const control = mkdtempSync(join(tmpdir(), "integrity-scan-"));
    writeFileSync(join(control, "planted.log"), `{"msg":"oops","password":"${apiPassword}"}\n`);
    const controlScan = scanLogsForSecrets(control);
    rmSync(control, { recursive: true, force: true });
    const scan = scanLogsForSecrets();
    const suitePgErrors = errorsFor(readLogSince(pgLog, context.suiteLogPosition), (database) =>
      database.startsWith("adpipe_integrity_"),
    );
    return scenarioResult({
      scenario: "7-security",
      title: "auth, body limits, injection through every API parameter, secrets in logs",
      startedAtMs,
      verification,
      faults: [],
      monitor,
      extra: {
        kafka: "SASL_SSL (Event Hubs emulation) for ingestor, tracker and API",
        auth,
        size,
        apiRequests: client.requests,
        apiStatuses: client.statuses,
        serverErrors: client.serverErrors.slice(0, 20),
        responseLeaks: client.leaks.slice(0, 20),
        widenedReports: widened,
        postgresLog: pgLog,
        postgresErrorsDuringInjection: pgErrors.slice(0, 20),
        suitePostgresErrors: summarise(suitePgErrors.map((e) => e.line)),
        suiteSyntaxErrors: suitePgErrors
          .filter((e) => /ERROR:\s+syntax error/.test(e.line))
          .map((e) => `${e.line}\n${e.statement ?? ""}`),
        logFilesScanned: scan.files,
        secretsChecked: registeredSecrets().length,
        logBytesScanned: scan.bytes,
        secretFindings: scan.findings,
        secretScanControl: controlScan.findings.length,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
      },
    });
  } finally {
    monitor.stop();
    await pipeline.close();
    await redis.stop();
    const admin = new pg.Client({ connectionString: testServices().databaseUrl });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(apiRole)}`).catch(() => undefined);
    await admin.end();
  }
}

/** Error lines grouped by message (the part after "ERROR:"), with counts. */
function summarise(lines: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines) {
    const message = line
      .slice(line.indexOf("ERROR:") + 6)
      .trim()
      .replace(/"[^"]*"/g, '"…"')
      .slice(0, 120);
    out[message] = (out[message] ?? 0) + 1;
  }
  return out;
}
