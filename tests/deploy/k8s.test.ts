import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { describe, expect, test } from "vitest";
import {
  isPipeline,
  type K8sObject,
  manifestProblems,
  referencedSecretKeys,
  render,
  schemaErrors,
} from "./support/k8s.js";

const K8S = fileURLToPath(new URL("../../deploy/k8s/", import.meta.url));
const SCALING_DOC = fileURLToPath(new URL("../../docs/scaling.md", import.meta.url));

/** The KEDA lagThreshold per consumer that docs/scaling.md derives from the capacity model. */
function documentedLagThresholds(): Record<"ingestor" | "budget-tracker", number> {
  const row = /^\|\s*`lagThreshold`\s*\|\s*([\d,]+)\s*\|\s*([\d,]+)\s*\|/m.exec(
    readFileSync(SCALING_DOC, "utf8"),
  );
  if (row === null) throw new Error("docs/scaling.md has no | `lagThreshold` | <ingestor> | <tracker> | row");
  const number = (text: string | undefined) => Number((text ?? "").replaceAll(",", ""));
  return { ingestor: number(row[1]), "budget-tracker": number(row[2]) };
}
const OVERLAYS = ["local", "prod"] as const;
const rendered: Record<string, K8sObject[]> = {
  base: render(`${K8S}base`),
  local: render(`${K8S}overlays/local`),
  prod: render(`${K8S}overlays/prod`),
};

const of = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);
const container = (objects: K8sObject[], deployment: string) =>
  of(objects, "Deployment", deployment)?.spec.template.spec.containers[0];
const env = (objects: K8sObject[], deployment: string, name: string) =>
  (container(objects, deployment)?.env ?? []).find((entry: { name: string }) => entry.name === name);

describe.each(["base", ...OVERLAYS])("deploy/k8s %s", (variant) => {
  const objects = rendered[variant] ?? [];

  test("every object is valid against the pinned Kubernetes (1.27.1) and KEDA schemas", () => {
    expect(objects.length).toBeGreaterThan(10);
    expect(objects.flatMap(schemaErrors)).toEqual([]);
  });

  test("follows the project's rules (probes, resources, security, secrets, autoscaling)", () => {
    expect(manifestProblems(objects)).toEqual([]);
  });

  test("has a Deployment, Service and PDB for each service, the migration Job, NetworkPolicy and autoscalers", () => {
    const names = (kind: string) =>
      objects
        .filter((object) => object.kind === kind && isPipeline(object))
        .map((object) => object.metadata.name)
        .sort();
    expect(names("Deployment")).toEqual(["alerter", "api", "budget-tracker", "ingestor"]);
    expect(names("Service")).toEqual(["alerter", "api", "budget-tracker", "ingestor"]);
    expect(names("PodDisruptionBudget")).toEqual(["alerter", "api", "budget-tracker", "ingestor"]);
    expect(names("Job")).toEqual(["adpipe-migrate"]);
    expect(names("ScaledObject")).toEqual(["budget-tracker", "ingestor"]);
    expect(names("HorizontalPodAutoscaler")).toEqual(["alerter", "api"]);
    expect(names("NetworkPolicy").length).toBeGreaterThan(0);
  });

  test("each consumer scales as the capacity model says: up to one replica per partition, lag threshold of docs/scaling.md", () => {
    const config = objects.find((object) => object.kind === "ConfigMap")?.data ?? {};
    const partitions = Number(config.KAFKA_TOPIC_PARTITIONS);
    expect(partitions).toBeGreaterThanOrEqual(12);
    const documented = documentedLagThresholds();
    for (const name of ["ingestor", "budget-tracker"] as const) {
      const scaled = of(objects, "ScaledObject", name);
      expect(scaled?.spec.maxReplicaCount, `${name} maxReplicaCount`).toBe(partitions);
      expect(scaled?.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(scaled?.spec.minReplicaCount).toBeLessThanOrEqual(partitions);
      const trigger = scaled?.spec.triggers[0];
      expect(trigger.type).toBe("kafka");
      expect(Number(trigger.metadata.lagThreshold), `${name} lagThreshold`).toBe(documented[name]);
      expect(trigger.metadata.allowIdleConsumers).toBe("false");
    }
  });
});

describe("overlays", () => {
  test("local runs plain Kafka in the cluster and generates every Secret key the pods need", () => {
    const local = rendered.local ?? [];
    const config = local.find((object) => object.kind === "ConfigMap")?.data ?? {};
    expect(config.KAFKA_BROKERS).toBe("kafka:9092");
    const secret = local.find((object) => object.kind === "Secret");
    const keys = new Set(Object.keys(secret?.data ?? {}));
    for (const ref of referencedSecretKeys(local)) {
      expect(ref.name).toBe(secret?.metadata.name);
      if (!ref.optional) expect(keys, `${ref.key} missing from the local Secret`).toContain(ref.key);
    }
    expect(keys.has("EVENT_HUB_CONNECTION_STRING")).toBe(false);
    expect(of(local, "Deployment", "kafka")).toBeDefined();
    expect(of(local, "Job", "create-topic")).toBeDefined();
    for (const scaled of local.filter((object) => object.kind === "ScaledObject")) {
      expect(scaled.spec.triggers[0].metadata.bootstrapServers).toBe(
        "kafka.adpipe-local.svc.cluster.local:9092",
      );
    }
  });

  test("prod reaches Event Hubs with workload identity (no key anywhere) and scales on lag up to the hub's partitions", () => {
    const prod = rendered.prod ?? [];
    const config = prod.find((object) => object.kind === "ConfigMap")?.data ?? {};
    expect(config.KAFKA_BROKERS).toBeUndefined();
    expect(config).toMatchObject({ AZURE_AUTH: "workload-identity", EVENT_HUB_NAME: config.KAFKA_TOPIC });
    expect(config.EVENT_HUB_NAMESPACE).toMatch(/^[a-z][a-z0-9-]+\.servicebus\.windows\.net$/);
    expect(prod.some((object) => object.kind === "Secret")).toBe(false);
    const account = of(prod, "ServiceAccount", "adpipe");
    expect(account?.metadata.annotations?.["azure.workload.identity/client-id"]).toMatch(/^[0-9a-f-]{36}$/);
    for (const name of ["ingestor", "budget-tracker", "api", "alerter"]) {
      const template = of(prod, "Deployment", name)?.spec.template;
      expect(template.metadata.labels["azure.workload.identity/use"]).toBe("true");
      expect(template.spec.serviceAccountName).toBe("adpipe");
      expect(env(prod, name, "EVENT_HUB_CONNECTION_STRING")).toBeUndefined();
      expect(container(prod, name)?.image).toMatch(/^[\w./-]+:\d+\.\d+\.\d+$/);
    }
    // No Secret key any pod or scaler reads is an Event Hubs key.
    expect(referencedSecretKeys(prod).map((ref) => ref.key)).not.toEqual(
      expect.arrayContaining([
        expect.stringMatching(/EVENT_HUB_CONNECTION_STRING|SASL_USERNAME|SharedAccess/),
      ]),
    );

    // What the services make of it: the configuration the webhook completes (client id from the annotation)
    // is an OAUTHBEARER connection to the namespace with the workload identity credential.
    const dir = mkdtempSync(join(tmpdir(), "adpipe-k8s-"));
    try {
      const tokenFile = join(dir, "azure-identity-token");
      writeFileSync(tokenFile, "projected-token");
      const connection = kafkaConnectionFromEnv(
        {
          ...config,
          AZURE_CLIENT_ID: account?.metadata.annotations?.["azure.workload.identity/client-id"],
          AZURE_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
          AZURE_FEDERATED_TOKEN_FILE: tokenFile,
        },
        { clientId: "adpipe-ingestor" },
      );
      expect(connection).toMatchObject({
        flavor: "event-hubs",
        brokers: [`${config.EVENT_HUB_NAMESPACE}:9093`],
        ssl: true,
        topic: config.KAFKA_TOPIC,
      });
      expect(connection.oauth?.auth.mode).toBe("workload-identity");
      expect(connection.oauth?.scope).toBe(`https://${config.EVENT_HUB_NAMESPACE}/.default`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const partitions = Number(config.KAFKA_TOPIC_PARTITIONS);
    for (const scaled of prod.filter((object) => object.kind === "ScaledObject")) {
      const trigger = scaled.spec.triggers[0];
      expect(scaled.spec.maxReplicaCount).toBe(partitions);
      expect(trigger.metadata).toMatchObject({ sasl: "oauthbearer", tls: "enable" });
      expect(trigger.metadata.bootstrapServers).toBe(`${config.EVENT_HUB_NAMESPACE}:9093`);
      expect(trigger.authenticationRef.name).toBe("event-hubs-kafka");
    }
    const auth = of(prod, "TriggerAuthentication", "event-hubs-kafka");
    expect(
      auth?.spec.secretTargetRef.map((ref: { parameter: string; name: string }) => [ref.parameter, ref.name]),
    ).toEqual([
      ["username", "adpipe-keda-entra"],
      ["password", "adpipe-keda-entra"],
      ["oauthTokenEndpointUri", "adpipe-keda-entra"],
      ["scopes", "adpipe-keda-entra"],
    ]);
    expect(of(prod, "HorizontalPodAutoscaler", "api")?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    for (const object of prod)
      expect(
        object.kind === "Namespace" || object.metadata.namespace === "adpipe",
        object.metadata.name,
      ).toBe(true);
  });

  test("no file under deploy/k8s holds an Event Hubs key", () => {
    for (const variant of ["base", ...OVERLAYS]) {
      for (const object of rendered[variant] ?? [])
        expect(JSON.stringify(object)).not.toMatch(/SharedAccessKey=[^.;<]/);
    }
    expect(readFileSync(`${K8S}overlays/local/local-secrets.env`, "utf8")).not.toMatch(
      /SharedAccessKey|EVENT_HUB/,
    );
  });
});

describe("the manifest validators catch mistakes", () => {
  const broken = (change: (objects: K8sObject[]) => void) => {
    const copy = structuredClone(rendered.prod ?? []);
    change(copy);
    return copy;
  };

  test("the schema check rejects wrong types and missing required fields", () => {
    const objects = broken((copy) => {
      const deployment = of(copy, "Deployment", "api");
      deployment!.spec.template.spec.containers[0].ports[0].containerPort = "http";
      delete of(copy, "ScaledObject", "ingestor")!.spec.scaleTargetRef;
    });
    const errors = objects.flatMap(schemaErrors);
    expect(errors).toContain(
      "Deployment/api: /spec/template/spec/containers/0/ports/0/containerPort must be integer",
    );
    expect(errors).toContain("ScaledObject/ingestor: /spec must have required property scaleTargetRef");
    expect(schemaErrors({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } })).toEqual([
      "Widget/w: no schema for example.com/v1 Widget",
    ]);
  });

  test("the project rules catch a workload without workload identity, or with a key beside it", () => {
    const objects = broken((copy) => {
      delete of(copy, "Deployment", "api")!.spec.template.metadata.labels["azure.workload.identity/use"];
      container(copy, "ingestor").env.push({
        name: "EVENT_HUB_CONNECTION_STRING",
        valueFrom: { secretKeyRef: { name: "adpipe-secrets", key: "EVENT_HUB_CONNECTION_STRING" } },
      });
      delete of(copy, "ServiceAccount", "adpipe")!.metadata.annotations;
    });
    expect(manifestProblems(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/api: no azure.workload.identity/use: "true" pod label',
        "Deployment/ingestor: EVENT_HUB_CONNECTION_STRING set although AZURE_AUTH=workload-identity",
        "Deployment/budget-tracker: service account has no azure.workload.identity/client-id",
      ]),
    );
  });

  test("the project rules catch privilege, probes, inline secrets and replicas above partitions", () => {
    const objects = broken((copy) => {
      const api = container(copy, "api");
      api.securityContext.allowPrivilegeEscalation = true;
      api.readinessProbe.httpGet.path = "/";
      api.env.push({ name: "API_WRITE_TOKENS", value: "inline" });
      of(copy, "ScaledObject", "ingestor")!.spec.maxReplicaCount = 64;
      container(copy, "ingestor").env = container(copy, "ingestor").env.filter(
        (e: { name: string }) => e.name !== "INGESTOR_GROUP_ID",
      );
    });
    expect(manifestProblems(objects)).toEqual(
      expect.arrayContaining([
        "Deployment/api container api: allowPrivilegeEscalation is not false",
        "Deployment/api container api: readiness probe is not GET /readyz...",
        "Deployment/api container api: API_WRITE_TOKENS has an inline value",
        "ScaledObject/ingestor: maxReplicaCount 64 exceeds the 24 partitions",
        "ScaledObject/ingestor: consumerGroup adpipe-ingestor is not the Deployment's undefined",
      ]),
    );
  });
});
