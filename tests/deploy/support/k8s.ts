/**
 * Validation of deploy/k8s without a cluster:
 * 1. render each overlay with kustomize (`kubectl kustomize`, or a standalone `kustomize build`);
 * 2. validate every object against the Kubernetes 1.27.1 OpenAPI schemas compiled into kubernetes-models
 *    4.5.1 (pinned), and KEDA objects against @kubernetes-models/keda 0.4.2;
 * 3. this project's rules (manifestProblems): probes, resources, security contexts, secrets, autoscaling.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Job } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";

/** A rendered Kubernetes object (only the fields the checks read are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form; each check reads what it needs
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
}

type Validatable = { validate(): void };
// The model classes take their own typed data; rendered YAML is checked by validate() instead.
type ModelClass = new (data: never) => Validatable;

const MODELS: Record<string, ModelClass> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication,
};

/** The kustomize command available here, or undefined. kubectl has kustomize built in since 1.14. */
export function kustomizeCommand(): [string, string[]] | undefined {
  if (spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0)
    return ["kubectl", ["kustomize"]];
  if (spawnSync("kustomize", ["version"], { stdio: "ignore" }).status === 0) return ["kustomize", ["build"]];
  return undefined;
}

/** Renders a kustomization directory into its objects. */
export function render(directory: string): K8sObject[] {
  const command = kustomizeCommand();
  if (command === undefined) {
    throw new Error(
      "neither kubectl nor kustomize is installed: install kubectl (it includes kustomize) to validate deploy/k8s",
    );
  }
  const [program, args] = command;
  const output = execFileSync(program, [...args, directory], {
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(output)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

/** Schema errors of one object, or [] when valid. Unknown kinds are errors: every kind must be checked. */
export function schemaErrors(object: K8sObject): string[] {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  const label = `${object.kind}/${object.metadata?.name}`;
  if (Model === undefined) return [`${label}: no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(structuredClone(object) as never).validate();
    return [];
  } catch (error) {
    // ajv's text: "data/spec/x must be integer, data/spec must have required property y".
    const text = error instanceof Error ? error.message : String(error);
    return text.split(/, (?=data[/ ])/).map((message) => `${label}: ${message.replace(/^data/, "")}`);
  }
}

export const SECRET_NAME =
  /PASSWORD|SECRET|TOKEN|CONNECTION_STRING|ACCESS_KEY|PRIVATE_KEY|API_KEY|DATABASE_URL|REDIS_URL/i;

// biome-ignore lint/suspicious/noExplicitAny: container specs are free-form here
type Container = any;

function podSpecOf(object: K8sObject): { spec: Container; labels: Record<string, string> } | undefined {
  if (object.kind === "Deployment" || object.kind === "Job") {
    return { spec: object.spec?.template?.spec, labels: object.spec?.template?.metadata?.labels ?? {} };
  }
  return undefined;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** Is this object one of the pipeline's own (not the local overlay's development infrastructure)? */
export function isPipeline(object: K8sObject): boolean {
  return object.metadata.labels?.["app.kubernetes.io/part-of"] === "adpipe";
}

/** The project's rules over a rendered overlay; [] means it follows them. */
export function manifestProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => objects.filter((object) => object.kind === kind);
  const find = (kind: string, name: string) => byKind(kind).find((object) => object.metadata.name === name);
  const configMap = byKind("ConfigMap").find((object) => object.metadata.name.startsWith("adpipe-config"));
  const config = configMap?.data ?? {};
  const partitions = Number(config.KAFKA_TOPIC_PARTITIONS);
  if (configMap === undefined) problems.push("no adpipe-config ConfigMap");
  if (!Number.isInteger(partitions) || partitions < 1)
    problems.push("adpipe-config has no KAFKA_TOPIC_PARTITIONS");
  for (const key of Object.keys(config)) {
    if (SECRET_NAME.test(key))
      problems.push(`ConfigMap ${configMap?.metadata.name}: ${key} belongs in the Secret`);
  }
  const secretNames = new Set(byKind("Secret").map((secret) => secret.metadata.name));

  const deployments = byKind("Deployment").filter(isPipeline);
  const jobs = byKind("Job").filter(isPipeline);
  for (const workload of [...deployments, ...jobs]) {
    const label = `${workload.kind}/${workload.metadata.name}`;
    const pod = podSpecOf(workload);
    if (pod?.spec === undefined) {
      problems.push(`${label}: no pod template`);
      continue;
    }
    if (pod.spec.securityContext?.runAsNonRoot !== true)
      problems.push(`${label}: pod securityContext.runAsNonRoot is not true`);
    if (pod.spec.securityContext?.seccompProfile?.type !== "RuntimeDefault")
      problems.push(`${label}: no RuntimeDefault seccomp profile`);
    if (pod.spec.automountServiceAccountToken !== false)
      problems.push(`${label}: mounts a service account token`);
    for (const container of pod.spec.containers ?? []) {
      const where = `${label} container ${container.name}`;
      const security = container.securityContext ?? {};
      if (security.allowPrivilegeEscalation !== false)
        problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (security.readOnlyRootFilesystem !== true)
        problems.push(`${where}: readOnlyRootFilesystem is not true`);
      if (security.runAsNonRoot !== true && pod.spec.securityContext?.runAsNonRoot !== true)
        problems.push(`${where}: may run as root`);
      if (!(security.capabilities?.drop ?? []).includes("ALL"))
        problems.push(`${where}: does not drop ALL capabilities`);
      for (const kind of ["requests", "limits"] as const) {
        if (container.resources?.[kind]?.memory === undefined) problems.push(`${where}: no memory ${kind}`);
      }
      if (container.resources?.requests?.cpu === undefined) problems.push(`${where}: no cpu request`);
      if (/:latest$/.test(container.image) || !String(container.image).includes(":"))
        problems.push(`${where}: image ${container.image} has no pinned tag`);
      for (const env of container.env ?? []) {
        if (SECRET_NAME.test(env.name) && env.value !== undefined)
          problems.push(`${where}: ${env.name} has an inline value`);
        const ref = env.valueFrom?.secretKeyRef;
        if (env.name === "EVENT_HUB_CONNECTION_STRING" && ref === undefined)
          problems.push(`${where}: EVENT_HUB_CONNECTION_STRING not from a Secret`);
        if (ref !== undefined && secretNames.size > 0 && !secretNames.has(ref.name))
          problems.push(`${where}: Secret ${ref.name} does not exist`);
      }
      if (workload.kind === "Deployment") {
        const liveness = container.livenessProbe?.httpGet;
        const readiness = container.readinessProbe?.httpGet;
        if (liveness?.path !== "/healthz") problems.push(`${where}: liveness probe is not GET /healthz`);
        if (!String(readiness?.path ?? "").startsWith("/readyz"))
          problems.push(`${where}: readiness probe is not GET /readyz...`);
        const portNames = new Set((container.ports ?? []).map((port: { name?: string }) => port.name));
        for (const probe of [liveness, readiness]) {
          if (probe !== undefined && typeof probe.port === "string" && !portNames.has(probe.port)) {
            problems.push(`${where}: probe port ${probe.port} is not a container port`);
          }
        }
      }
    }
  }

  for (const deployment of deployments) {
    const name = deployment.metadata.name;
    const labels = deployment.spec?.template?.metadata?.labels ?? {};
    if (!matches(deployment.spec?.selector?.matchLabels, labels))
      problems.push(`Deployment/${name}: selector does not match its pods`);
    if (!byKind("PodDisruptionBudget").some((pdb) => matches(pdb.spec?.selector?.matchLabels, labels))) {
      problems.push(`Deployment/${name}: no PodDisruptionBudget`);
    }
    if (!byKind("NetworkPolicy").some((policy) => matches(policy.spec?.podSelector?.matchLabels, labels))) {
      problems.push(`Deployment/${name}: no NetworkPolicy selects its pods`);
    }
    if (!byKind("Service").some((service) => matches(service.spec?.selector, labels)))
      problems.push(`Deployment/${name}: no Service`);
    const scalers = [
      ...byKind("ScaledObject").filter((scaled) => scaled.spec?.scaleTargetRef?.name === name),
      ...byKind("HorizontalPodAutoscaler").filter((hpa) => hpa.spec?.scaleTargetRef?.name === name),
    ];
    if (scalers.length !== 1)
      problems.push(`Deployment/${name}: ${scalers.length} autoscalers (want exactly one)`);
    if (scalers.length > 0 && deployment.spec?.replicas !== undefined) {
      problems.push(`Deployment/${name}: sets replicas although an autoscaler owns them`);
    }
  }

  for (const service of byKind("Service").filter(isPipeline)) {
    const target = deployments.find((deployment) =>
      matches(service.spec?.selector, deployment.spec?.template?.metadata?.labels ?? {}),
    );
    if (target === undefined) {
      problems.push(`Service/${service.metadata.name}: selects no pipeline Deployment`);
      continue;
    }
    const ports = (target.spec.template.spec.containers as Container[]).flatMap(
      (container) => container.ports ?? [],
    );
    for (const port of service.spec?.ports ?? []) {
      const known = ports.some(
        (p: { name?: string; containerPort: number }) =>
          p.name === port.targetPort || p.containerPort === port.targetPort,
      );
      if (!known)
        problems.push(
          `Service/${service.metadata.name}: targetPort ${port.targetPort} is not a container port`,
        );
    }
  }

  for (const scaled of byKind("ScaledObject")) {
    const name = scaled.metadata.name;
    const target = find("Deployment", scaled.spec?.scaleTargetRef?.name ?? "");
    if (target === undefined) problems.push(`ScaledObject/${name}: target Deployment does not exist`);
    const max = scaled.spec?.maxReplicaCount;
    if (typeof max !== "number" || max > partitions)
      problems.push(`ScaledObject/${name}: maxReplicaCount ${max} exceeds the ${partitions} partitions`);
    if ((scaled.spec?.minReplicaCount ?? 0) > (max ?? 0))
      problems.push(`ScaledObject/${name}: minReplicaCount above maxReplicaCount`);
    const container = target?.spec?.template?.spec?.containers?.[0];
    const groupVariable = (container?.env ?? []).find((env: { name: string }) => /_GROUP_ID$/.test(env.name));
    for (const trigger of scaled.spec?.triggers ?? []) {
      if (trigger.type !== "kafka")
        problems.push(`ScaledObject/${name}: trigger ${trigger.type} is not the Kafka scaler`);
      const metadata = trigger.metadata ?? {};
      if (metadata.topic !== config.KAFKA_TOPIC)
        problems.push(`ScaledObject/${name}: topic ${metadata.topic} is not ${config.KAFKA_TOPIC}`);
      if (groupVariable === undefined || metadata.consumerGroup !== groupVariable.value) {
        problems.push(
          `ScaledObject/${name}: consumerGroup ${metadata.consumerGroup} is not the Deployment's ${groupVariable?.value}`,
        );
      }
      if (metadata.allowIdleConsumers === "true")
        problems.push(`ScaledObject/${name}: allowIdleConsumers lets replicas exceed partitions`);
      const auth = trigger.authenticationRef?.name;
      if (auth !== undefined && find("TriggerAuthentication", auth) === undefined)
        problems.push(`ScaledObject/${name}: TriggerAuthentication ${auth} does not exist`);
    }
  }

  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    if (find("Deployment", hpa.spec?.scaleTargetRef?.name ?? "") === undefined)
      problems.push(`HPA/${hpa.metadata.name}: target does not exist`);
    if ((hpa.spec?.minReplicas ?? 1) > hpa.spec?.maxReplicas)
      problems.push(`HPA/${hpa.metadata.name}: minReplicas above maxReplicas`);
  }

  for (const auth of byKind("TriggerAuthentication")) {
    for (const ref of auth.spec?.secretTargetRef ?? []) {
      if (secretNames.size > 0 && !secretNames.has(ref.name))
        problems.push(`TriggerAuthentication/${auth.metadata.name}: Secret ${ref.name} does not exist`);
    }
  }

  // Entra workload identity: every workload that talks to Event Hubs carries the webhook's label, runs as a service
  // account with the identity's client id, and has no connection string (no key) to fall back on.
  if (config.AZURE_AUTH === "workload-identity") {
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      const template = deployment.spec?.template ?? {};
      if (template.metadata?.labels?.["azure.workload.identity/use"] !== "true")
        problems.push(`Deployment/${name}: no azure.workload.identity/use: "true" pod label`);
      const account = find("ServiceAccount", template.spec?.serviceAccountName ?? "default");
      const clientId = account?.metadata?.annotations?.["azure.workload.identity/client-id"];
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(String(clientId)))
        problems.push(`Deployment/${name}: service account has no azure.workload.identity/client-id`);
      for (const container of template.spec?.containers ?? []) {
        for (const env of container.env ?? []) {
          if (env.name === "EVENT_HUB_CONNECTION_STRING" || env.name === "AZURE_CLIENT_SECRET")
            problems.push(`Deployment/${name}: ${env.name} set although AZURE_AUTH=workload-identity`);
        }
      }
    }
  }

  if (
    !jobs.some((job) =>
      (job.spec?.template?.spec?.containers ?? []).some(
        (c: Container) => (c.args ?? []).join(" ") === "adpipe migrate",
      ),
    )
  ) {
    problems.push("no migration Job running `adpipe migrate`");
  }
  return problems;
}

/** Every secretKeyRef and secretTargetRef in the objects, as "secret/key". */
export function referencedSecretKeys(
  objects: K8sObject[],
): { name: string; key: string; optional: boolean }[] {
  const refs: { name: string; key: string; optional: boolean }[] = [];
  for (const object of objects) {
    for (const container of podSpecOf(object)?.spec?.containers ?? []) {
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref !== undefined) refs.push({ name: ref.name, key: ref.key, optional: ref.optional === true });
      }
    }
    if (object.kind === "TriggerAuthentication") {
      for (const ref of object.spec?.secretTargetRef ?? [])
        refs.push({ name: ref.name, key: ref.key, optional: false });
    }
  }
  return refs;
}
