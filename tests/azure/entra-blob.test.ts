/**
 * The lake's Blob storage with Microsoft Entra ID (LAKE_STORAGE=azure, AZURE_AUTH, no key) on real Azure, with the
 * @azure/identity credential AZURE_AUTH names. Needs AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_CONTAINER and AZURE_AUTH
 * (+ its variables); the identity needs Storage Blob Data Contributor on the container. Without them it fails at
 * once saying what is missing (it never skips; `.ci/run` runs it only when they are set).
 */
import { loadEnv } from "@adpipe/config";
import { lakeEnvSchema, lakeSettingsFromEnv, openObjectStore } from "@adpipe/lake";
import { describe, expect, test } from "vitest";
import { uniqueName } from "../support/index.js";

const NEEDS =
  "the Entra ID Blob test needs AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_CONTAINER and AZURE_AUTH with its variables, " +
  "and no AZURE_STORAGE_KEY / AZURE_STORAGE_CONNECTION_STRING (docs/azure.md)";
for (const name of ["AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_CONTAINER", "AZURE_AUTH"]) {
  if (!process.env[name]) throw new Error(`${NEEDS}: ${name} is not set`);
}
for (const name of ["AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING"]) {
  if (process.env[name]) throw new Error(`${NEEDS}: ${name} is set, so a key would be used`);
}

describe("Blob Storage with Entra ID on real Azure", () => {
  test("put-if-absent, get and delete with bearer tokens from the AZURE_AUTH credential", async () => {
    const settings = lakeSettingsFromEnv(
      loadEnv(lakeEnvSchema, { ...process.env, LAKE_STORAGE: "azure", LAKE_PATH: uniqueName("entra-lake") }),
    );
    expect(settings.location).toMatchObject({ storage: "azure", credentials: { kind: "entra-id" } });
    const store = await openObjectStore(settings.location);
    expect(await store.putIfAbsent("probe.json", Buffer.from("{}"))).toBe(true);
    expect(await store.putIfAbsent("probe.json", Buffer.from("{ }"))).toBe(false);
    expect(Buffer.from((await store.get("probe.json")) ?? []).toString()).toBe("{}");
    await store.delete("probe.json");
    expect(await store.get("probe.json")).toBeNull();
  }, 120_000);
});
