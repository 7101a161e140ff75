/**
 * LAKE_STORAGE=azure with Entra ID (AZURE_AUTH, no account key) against Azurite over https with `--oauth basic`:
 * the configuration path of services/delta-exporter and `adpipe export`, bearer tokens from a TokenCredential (the
 * test identity provider's, in place of the @azure/identity credential AZURE_AUTH names). Azurite checks each
 * token's issuer, audience and lifetime (not its signature: that is the Kafka test's job).
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { loadEnv } from "@adpipe/config";
import {
  isLakeError,
  type LakeError,
  lakeEnvSchema,
  lakeSettingsFromEnv,
  openObjectStore,
} from "@adpipe/lake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../support/index.js";
import { TestIdentityProvider } from "../../support/test-idp.js";
import { type Azurite, startAzurite } from "./support.js";

let azurite: Azurite;
let idp: TestIdentityProvider;
let dir: string;
let env: Record<string, string>;
const container = uniqueName("entra").slice(0, 60).replace(/-+$/, "");

beforeAll(async () => {
  [azurite, idp, dir] = await Promise.all([
    startAzurite({ oauth: true }),
    TestIdentityProvider.start(),
    mkdtemp(join(tmpdir(), "adpipe-entra-")),
  ]);
  const caFile = join(dir, "azurite-ca.pem");
  writeFileSync(caFile, azurite.caPem ?? "");
  env = {
    LAKE_STORAGE: "azure",
    AZURE_STORAGE_ACCOUNT: "devstoreaccount1",
    AZURE_STORAGE_CONTAINER: container,
    AZURE_STORAGE_ENDPOINT: azurite.blobEndpoint,
    AZURE_STORAGE_CA_FILE: caFile,
    AZURE_STORAGE_CREATE_CONTAINER: "true",
    LAKE_PATH: "lake",
    AZURE_AUTH: "workload-identity",
    AZURE_CLIENT_ID: "0f3b5a4c-1d2e-4f60-8a9b-0c1d2e3f4a5b",
    AZURE_TENANT_ID: "00000000-0000-4000-8000-000000000001",
    AZURE_FEDERATED_TOKEN_FILE: caFile,
  };
}, 120_000);

afterAll(async () => {
  await azurite?.stop();
  await idp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function location() {
  return lakeSettingsFromEnv(loadEnv(lakeEnvSchema, env)).location;
}

describe("Delta lake storage on Azure Blob with Entra ID (Azurite, https, --oauth basic)", () => {
  it("reads the no-key settings as Entra ID and works with bearer tokens: create, put-if-absent, list, get, delete", async () => {
    const settings = location();
    expect(settings).toMatchObject({
      storage: "azure",
      credentials: { kind: "entra-id", account: "devstoreaccount1", auth: { mode: "workload-identity" } },
    });
    const credential = idp.credential();
    const store = await openObjectStore(settings, { credential });
    expect(await store.putIfAbsent("_delta_log/00000000000000000000.json", Buffer.from("first\n"))).toBe(
      true,
    );
    expect(await store.putIfAbsent("_delta_log/00000000000000000000.json", Buffer.from("second\n"))).toBe(
      false,
    );
    await store.put("part-0.parquet", Buffer.from("PAR1"));
    expect((await store.list("")).map((o) => o.path)).toEqual([
      "_delta_log/00000000000000000000.json",
      "part-0.parquet",
    ]);
    expect(Buffer.from((await store.get("_delta_log/00000000000000000000.json")) ?? []).toString()).toBe(
      "first\n",
    );
    await store.delete("part-0.parquet");
    expect(await store.get("part-0.parquet")).toBeNull();
    expect(credential.requests).toBeGreaterThanOrEqual(1);
    // Every request carried a token for Storage: the SDK asked for https://storage.azure.com/.default.
    expect(idp.issued.at(-1)?.audience).toBe("https://storage.azure.com");
  });

  it.each([
    [
      "an expired token",
      { expiredClaim: true },
      /HTTP 403: Lifetime validation failed\. The token is expired/,
    ],
    [
      "a token for another resource",
      { audience: "https://other.servicebus.windows.net" },
      /HTTP 403: Invalid token audience/,
    ],
  ] as const)("refuses %s with a clear storage error and no token in it", async (_name, options, reason) => {
    const before = idp.issued.length;
    const credential = idp.credential(options);
    const error = await openObjectStore(location(), { credential })
      .then((store) => store.get("_delta_log/00000000000000000000.json"))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isLakeError(error)).toBe(true);
    const message = (error as LakeError).message;
    expect(message).toMatch(/refused the credential/);
    expect(message).toMatch(reason);
    // Neither the message nor what a logger would serialize (the cause) carries the token.
    const serialized =
      JSON.stringify({ message, cause: (error as LakeError).cause }) + inspect(error, { depth: 10 });
    expect(idp.issued.length).toBeGreaterThan(before);
    for (const { token } of idp.issued.slice(before)) expect(serialized).not.toContain(token.split(".")[2]);
  });

  it("bearer tokens are never sent over plain http", () => {
    expect(() =>
      lakeSettingsFromEnv(loadEnv(lakeEnvSchema, { ...env, AZURE_STORAGE_ENDPOINT: "http://127.0.0.1:1/a" })),
    ).toThrow(/AZURE_STORAGE_ENDPOINT: Entra ID tokens are sent over https only/);
  });
});
