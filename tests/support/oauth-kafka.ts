import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./paths.js";
import { freePort } from "./ports.js";
import type { TestIdentityProvider } from "./test-idp.js";

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, "scripts", "kafka-oauth.sh");

/** A private broker of scripts/kafka-oauth.sh: SASL_SSL OAUTHBEARER validated against a test IdP's JWKS. */
export interface OAuthKafka {
  /** EVENT_HUB_NAMESPACE for it: `127.0.0.1:<port>` (scope https://127.0.0.1/.default). */
  readonly namespace: string;
  /** The audience the broker requires, the one that scope yields. */
  readonly audience: string;
  /** PEM of the CA its TLS certificate chains to (KAFKA_SSL_CA_FILE). */
  readonly caFile: string;
  /** Its PLAINTEXT listener, for test administration (creating topics). */
  readonly plaintextBrokers: string[];
  readonly logDir: string;
  stop(): Promise<void>;
}

export async function startOAuthKafka(
  idp: TestIdentityProvider,
  options: { jwksRefreshMs?: number; maxReauthMs?: number } = {},
): Promise<OAuthKafka> {
  const dir = await mkdtemp(join(REPO_ROOT, ".cache", "kafka-oauth-"));
  const [oauthPort, plaintextPort, controllerPort] = [await freePort(), await freePort(), await freePort()];
  const audience = "https://127.0.0.1";
  await run("bash", [SCRIPT, "start", dir], {
    timeout: 300_000,
    env: {
      ...process.env,
      KAFKA_OAUTH_JWKS_URL: idp.jwksUrl,
      KAFKA_OAUTH_ISSUER: idp.issuer,
      KAFKA_OAUTH_AUDIENCE: audience,
      KAFKA_OAUTH_PORT: String(oauthPort),
      KAFKA_PLAINTEXT_PORT: String(plaintextPort),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
      KAFKA_OAUTH_JWKS_REFRESH_MS: String(options.jwksRefreshMs ?? 10_000),
      KAFKA_OAUTH_MAX_REAUTH_MS: String(options.maxReauthMs ?? 3_600_000),
      KAFKA_OWNER_PID: String(process.pid),
    },
  });
  return {
    namespace: `127.0.0.1:${oauthPort}`,
    audience,
    caFile: join(dir, "tls", "ca.pem"),
    plaintextBrokers: [`127.0.0.1:${plaintextPort}`],
    logDir: join(dir, "logs"),
    async stop() {
      await run("bash", [SCRIPT, "stop", dir], { timeout: 120_000 });
    },
  };
}
