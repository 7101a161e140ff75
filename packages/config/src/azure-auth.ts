import { accessSync, constants } from "node:fs";
import { inspect } from "node:util";
import type { TokenCredential } from "@azure/core-auth";
import { z } from "zod";
import { type Env, envVar, parseEnv } from "./env.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { REDACTED } from "./redact.js";

/**
 * How a process authenticates to Microsoft Entra ID (Event Hubs over OAUTHBEARER, Blob Storage):
 *  - workload-identity: AKS workload identity (a federated service-account token, no secret);
 *  - managed-identity:  the VM's / App Service's / Container App's identity (system- or user-assigned);
 *  - client-secret:     an app registration's client secret (AZURE_CLIENT_SECRET: a secret, never logged);
 *  - azure-cli:         a developer's `az login`.
 */
export const AZURE_AUTH_MODES = [
  "workload-identity",
  "managed-identity",
  "client-secret",
  "azure-cli",
] as const;
export type AzureAuthMode = (typeof AZURE_AUTH_MODES)[number];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A tenant is a GUID or a verified domain (contoso.onmicrosoft.com).
const TENANT =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9][a-z0-9.-]{1,252}[a-z0-9])$/i;

/**
 * The Entra ID variables, named as @azure/identity and the AKS workload identity webhook name them (the webhook
 * injects AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST).
 */
export const azureAuthEnvSchema = z.object({
  AZURE_AUTH: z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(AZURE_AUTH_MODES))
    .optional(),
  AZURE_TENANT_ID: z.string().trim().regex(TENANT, "expected a tenant id (GUID) or domain").optional(),
  AZURE_CLIENT_ID: z.string().trim().regex(GUID, "expected a client (application) id, a GUID").optional(),
  AZURE_CLIENT_SECRET: z.string().optional(),
  AZURE_FEDERATED_TOKEN_FILE: z.string().optional(),
  AZURE_AUTHORITY_HOST: envVar.url(["https:"]).optional(),
});
export type AzureAuthEnv = z.output<typeof azureAuthEnvSchema>;

/** Which Entra ID credential to use, checked. Safe to log: the client secret is hidden (see azureAuth()). */
export interface AzureAuth {
  readonly mode: AzureAuthMode;
  readonly tenantId?: string;
  /** The app registration / user-assigned identity. */
  readonly clientId?: string;
  /** client-secret only. Secret: hidden from JSON.stringify and util.inspect. */
  readonly clientSecret?: string;
  /** workload-identity only: the projected service-account token. */
  readonly federatedTokenFile?: string;
  /** Sovereign clouds (https://login.microsoftonline.us, ...). Default: the public cloud. */
  readonly authorityHost?: string;
}

/** The loggable view of an AzureAuth. */
export function describeAzureAuth(auth: AzureAuth): Record<string, unknown> {
  return {
    mode: auth.mode,
    ...(auth.tenantId === undefined ? {} : { tenantId: auth.tenantId }),
    ...(auth.clientId === undefined ? {} : { clientId: auth.clientId }),
    ...(auth.clientSecret === undefined ? {} : { clientSecret: REDACTED }),
    ...(auth.federatedTokenFile === undefined ? {} : { federatedTokenFile: auth.federatedTokenFile }),
    ...(auth.authorityHost === undefined ? {} : { authorityHost: auth.authorityHost }),
  };
}

/** Freezes an AzureAuth and hides its client secret from JSON.stringify and util.inspect. */
export function azureAuth(fields: AzureAuth): AzureAuth {
  const auth = { ...fields };
  Object.defineProperty(auth, "toJSON", { value: () => describeAzureAuth(auth), enumerable: false });
  Object.defineProperty(auth, inspect.custom, {
    value: (_depth: number, options: object) => inspect(describeAzureAuth(auth), options),
    enumerable: false,
  });
  return Object.freeze(auth);
}

const WEBHOOK_HINT =
  "the AKS workload identity webhook sets it when the pod has the label azure.workload.identity/use=true " +
  "and its service account the annotation azure.workload.identity/client-id";

/**
 * Checks the Entra ID variables for `usedBy` (e.g. "EVENT_HUB_NAMESPACE") and appends every problem to `issues`.
 * Returns the AzureAuth when there was none. AZURE_AUTH is required: which identity a service runs as must be a
 * decision, not whatever a credential chain happens to find first.
 */
export function azureAuthFromConfig(
  config: AzureAuthEnv,
  usedBy: string,
  issues: ConfigIssue[],
): AzureAuth | undefined {
  const before = issues.length;
  const mode = config.AZURE_AUTH;
  if (mode === undefined) {
    issues.push({
      variable: "AZURE_AUTH",
      message: `required with ${usedBy}: one of ${AZURE_AUTH_MODES.join(", ")}`,
    });
    return undefined;
  }
  const require = (variable: keyof AzureAuthEnv, why: string) => {
    if (config[variable] === undefined)
      issues.push({ variable, message: `required with AZURE_AUTH=${mode} (${why})` });
  };
  if (mode === "workload-identity") {
    require("AZURE_CLIENT_ID", WEBHOOK_HINT);
    require("AZURE_TENANT_ID", WEBHOOK_HINT);
    require("AZURE_FEDERATED_TOKEN_FILE", WEBHOOK_HINT);
    const file = config.AZURE_FEDERATED_TOKEN_FILE;
    if (file !== undefined) {
      try {
        accessSync(file, constants.R_OK);
      } catch (error) {
        const reason = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
        issues.push({
          variable: "AZURE_FEDERATED_TOKEN_FILE",
          message: `cannot read ${file} (${reason}): is the workload identity token volume mounted?`,
        });
      }
    }
  }
  if (mode === "client-secret") {
    require("AZURE_TENANT_ID", "the app registration's tenant");
    require("AZURE_CLIENT_ID", "the app registration's application id");
    require("AZURE_CLIENT_SECRET", "the app registration's client secret");
  }
  if (mode !== "client-secret" && config.AZURE_CLIENT_SECRET !== undefined) {
    issues.push({
      variable: "AZURE_CLIENT_SECRET",
      message: `only used with AZURE_AUTH=client-secret, not ${mode}: remove it (an unused secret should not be in the environment)`,
    });
  }
  if (issues.length > before) return undefined;
  return azureAuth({
    mode,
    ...(config.AZURE_TENANT_ID === undefined ? {} : { tenantId: config.AZURE_TENANT_ID }),
    ...(config.AZURE_CLIENT_ID === undefined ? {} : { clientId: config.AZURE_CLIENT_ID }),
    ...(mode === "client-secret" && config.AZURE_CLIENT_SECRET !== undefined
      ? { clientSecret: config.AZURE_CLIENT_SECRET }
      : {}),
    ...(mode === "workload-identity" && config.AZURE_FEDERATED_TOKEN_FILE !== undefined
      ? { federatedTokenFile: config.AZURE_FEDERATED_TOKEN_FILE }
      : {}),
    ...(config.AZURE_AUTHORITY_HOST === undefined ? {} : { authorityHost: config.AZURE_AUTHORITY_HOST }),
  });
}

/** Reads AZURE_AUTH and its companions from `env`; throws one ConfigError naming every bad variable. */
export function azureAuthFromEnv(env: Env = process.env, usedBy = "Entra ID authentication"): AzureAuth {
  const parsed = parseEnv(azureAuthEnvSchema, env);
  if (!parsed.ok) throw new ConfigError("invalid_env", parsed.issues);
  const issues: ConfigIssue[] = [];
  const auth = azureAuthFromConfig(parsed.value, usedBy, issues);
  if (auth === undefined) {
    const unreadable = issues.some((issue) => issue.message.startsWith("cannot read"));
    throw new ConfigError(unreadable ? "unreadable_file" : "invalid_env", issues);
  }
  return auth;
}

/**
 * The @azure/identity credential an AzureAuth names. @azure/identity (and MSAL under it) is loaded only here, so
 * deployments that use keys or plain Kafka never load it. The credential caches and refreshes tokens itself;
 * callers still decide when to ask (see @adpipe/kafka's token provider).
 */
export async function createAzureCredential(auth: AzureAuth): Promise<TokenCredential> {
  const identity = await import("@azure/identity");
  const authority = auth.authorityHost === undefined ? {} : { authorityHost: auth.authorityHost };
  switch (auth.mode) {
    case "workload-identity":
      return new identity.WorkloadIdentityCredential({
        ...authority,
        ...(auth.tenantId === undefined ? {} : { tenantId: auth.tenantId }),
        ...(auth.clientId === undefined ? {} : { clientId: auth.clientId }),
        ...(auth.federatedTokenFile === undefined ? {} : { tokenFilePath: auth.federatedTokenFile }),
      });
    case "managed-identity":
      return auth.clientId === undefined
        ? new identity.ManagedIdentityCredential(authority)
        : new identity.ManagedIdentityCredential({ ...authority, clientId: auth.clientId });
    case "client-secret":
      if (auth.tenantId === undefined || auth.clientId === undefined || auth.clientSecret === undefined) {
        throw new ConfigError("invalid_env", [
          {
            variable: "AZURE_AUTH",
            message: "client-secret needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
          },
        ]);
      }
      return new identity.ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret, authority);
    case "azure-cli":
      return new identity.AzureCliCredential(auth.tenantId === undefined ? {} : { tenantId: auth.tenantId });
  }
}
