import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  appServices,
  type ComposeFile,
  composeProblems,
  environment,
  interpolate,
  interpolateDocument,
  lintComposeFile,
  parseComposeYaml,
  validateComposeSchema,
} from "./support/compose.js";
import { entrypointCommands, parseDockerfile } from "./support/dockerfile.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const COMPOSE_PATH = `${ROOT}docker-compose.yml`;
const raw = parseComposeYaml(readFileSync(COMPOSE_PATH, "utf8")) as ComposeFile;
const resolved = interpolateDocument(raw, {});
const dockerfile = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, "utf8"));
const PIPELINE = ["migrate", "ingestor", "budget-tracker", "api", "alerter", "simulator"];

describe("docker-compose.yml", () => {
  test("matches the Compose Specification schema after interpolation", () => {
    expect(validateComposeSchema(resolved)).toEqual([]);
  });

  test("passes dclint's correctness and security rules", () => {
    expect(lintComposeFile(COMPOSE_PATH)).toEqual([]);
  });

  test("follows the project's rules: healthchecks, depends_on conditions, no inline secrets", () => {
    expect(composeProblems(raw)).toEqual([]);
  });

  test("runs Kafka in KRaft mode (3.9.x), Postgres and Redis with persistence", () => {
    const { kafka, postgres, redis } = raw.services;
    expect(kafka?.image).toMatch(/^apache\/kafka:3\.9\.\d+$/);
    const kafkaEnv = environment(kafka ?? {});
    expect(kafkaEnv.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(kafkaEnv.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe("false");
    expect(kafka?.volumes?.some((volume) => volume.endsWith(`:${kafkaEnv.KAFKA_LOG_DIRS}`))).toBe(true);
    expect(postgres?.volumes?.some((volume) => volume.endsWith(":/var/lib/postgresql/data"))).toBe(true);
    const redisCommand = ((redis?.command ?? []) as string[]).join(" ");
    expect(redisCommand).toContain("--appendonly yes");
    expect(redis?.volumes?.some((volume) => volume.endsWith(":/data"))).toBe(true);
  });

  test("has the pipeline's services, the simulator behind a profile, migrations as a one-shot", () => {
    expect(Object.keys(raw.services)).toEqual(
      expect.arrayContaining([...PIPELINE, "kafka", "postgres", "redis", "create-topic"]),
    );
    expect(raw.services.simulator?.profiles).toEqual(["simulator"]);
    expect(raw.services.migrate?.restart).toBe("no");
    expect(raw.services.migrate?.command).toEqual(["adpipe", "migrate"]);
    for (const name of ["ingestor", "budget-tracker", "api", "alerter"]) {
      expect(raw.services[name]?.depends_on).toMatchObject({
        migrate: { condition: "service_completed_successfully" },
      });
    }
  });

  test("every pipeline service runs the one image, locked down, selected by its command", () => {
    const apps = appServices(resolved);
    expect(apps.map(([name]) => name).sort()).toEqual([...PIPELINE].sort());
    const images = new Set(apps.map(([, service]) => service.image));
    expect(images).toEqual(new Set(["adpipe:local"]));
    const runtime = dockerfile.stages.at(-1);
    const script = runtime?.instructions.flatMap((instruction) => instruction.heredocs).join("\n") ?? "";
    const accepted = entrypointCommands(script);
    for (const [name, service] of apps) {
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(["ALL"]);
      expect(service.security_opt, name).toContain("no-new-privileges:true");
      const first = (service.command as string[])[0] ?? "";
      expect(accepted, `${name}: the image's entrypoint does not know "${first}"`).toContain(first);
    }
  });

  test("the services' consumer groups and ports agree with each other", () => {
    const env = (name: string) => environment(resolved.services[name] ?? {});
    expect(env("api").API_LAG_GROUPS?.split(",")).toEqual([
      env("ingestor").INGESTOR_GROUP_ID,
      env("budget-tracker").TRACKER_GROUP_ID,
    ]);
    expect(env("budget-tracker").WAREHOUSE_PIPELINE).toBe(env("ingestor").INGESTOR_GROUP_ID);
    for (const name of ["ingestor", "budget-tracker", "api", "simulator"]) {
      const service = resolved.services[name];
      const port = env(name).OPS_PORT ?? env(name).API_PORT;
      const probe = ((service?.healthcheck?.test ?? []) as string[]).join(" ");
      expect(probe, name).toContain(`127.0.0.1:${port}/`);
    }
  });
});

describe("the compose validators catch mistakes", () => {
  const mutate = (change: (file: ComposeFile) => void): ComposeFile => {
    const copy = structuredClone(raw);
    change(copy);
    return copy;
  };

  test("the schema rejects an unknown key and a bad depends_on condition", () => {
    const broken = mutate((file) => {
      (file.services.api as Record<string, unknown>).helthcheck = { test: ["CMD", "true"] };
      file.services.ingestor!.depends_on = { kafka: { condition: "service_ready" } };
    });
    const errors = validateComposeSchema(interpolateDocument(broken));
    expect(errors.some((error) => error.path === "/services/api")).toBe(true);
    expect(errors.some((error) => error.path.startsWith("/services/ingestor/depends_on"))).toBe(true);
  });

  test("the project rules catch a missing healthcheck, a dangling dependency and an inline secret", () => {
    const broken = mutate((file) => {
      delete file.services.redis!.healthcheck;
      file.services.api!.depends_on = {
        ...(file.services.api!.depends_on as object),
        nope: { condition: "service_healthy" },
      };
      (file.services.api!.environment as Record<string, string>).API_WRITE_TOKENS = "s3cret";
      (file.services.ingestor!.environment as Record<string, string>).DATABASE_URL =
        "postgres://u:pw@postgres/db";
      file.services.ingestor!.depends_on = {
        ...(file.services.ingestor!.depends_on as object),
        kafka: { condition: "service_completed_successfully" },
      };
    });
    const problems = composeProblems(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        "redis: long-running service without a healthcheck",
        'api: depends_on "nope", which is not a service',
        "api: API_WRITE_TOKENS has an inline value; take it from the environment or .env",
        "ingestor: DATABASE_URL has a URL with an inline password",
        'ingestor: waits for "kafka" to complete, but it is not a one-shot service (restart: "no")',
        'budget-tracker: waits for "redis" to be healthy, but it has no healthcheck',
      ]),
    );
  });

  test("interpolation follows Compose's rules", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's ${VAR} syntax, not a JS template
    expect(interpolate("${A:-x}-${B-y}-$C-$$D", { A: "", B: "", C: "c" })).toBe("x--c-$D");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's ${VAR} syntax, not a JS template
    expect(interpolate("${A:+set}${B:+set}", { A: "1" })).toBe("set");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's ${VAR} syntax, not a JS template
    expect(() => interpolate("${NEEDED:?set NEEDED}", {})).toThrow(/NEEDED/);
  });
});

describe("Dockerfile", () => {
  const stages = dockerfile.stages;
  const runtime = stages.at(-1)!;
  const all = (keyword: string, stage = runtime) =>
    stage.instructions
      .filter((instruction) => instruction.keyword === keyword)
      .map((instruction) => instruction.args);

  test("is multi-stage and runs Node 24 in production", () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(runtime.from).toMatch(/^node:24[.-]/);
    for (const stage of stages) expect(stage.from, stage.name).toMatch(/^node:24[.-]/);
  });

  test("the runtime stage gets production dependencies only and runs as a non-root user", () => {
    const depsStage = stages.find((stage) =>
      all("RUN", stage).some((run) => /npm ci\b.*--omit=dev/.test(run)),
    );
    expect(depsStage, "a stage runs npm ci --omit=dev").toBeDefined();
    expect(
      all("COPY").some((copy) => copy.includes(`--from=${depsStage?.name}`) && copy.includes("node_modules")),
    ).toBe(true);
    const user = all("USER").at(-1) ?? "root";
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(all("ENTRYPOINT").at(-1)).toMatch(/^\[/);
  });

  test("patched dependencies reach the runtime image patched", () => {
    // patch-package names its files <package>+<version>.patch (a scope's "/" written as "+").
    const patched = readdirSync(`${ROOT}patches`)
      .filter((file) => file.endsWith(".patch"))
      .map((file) => file.replace(/\+[^+]*\.patch$/, "").replace("+", "/"));
    expect(patched.length).toBeGreaterThan(0);
    const manifests = stages[0]!;
    expect(all("RUN", manifests).join("\n"), "the manifests stage keeps patches/").toMatch(
      /-path \.\/patches -prune/,
    );
    for (const name of patched) {
      expect(all("COPY"), name).toContain(`--from=build /app/node_modules/${name} ./node_modules/${name}`);
    }
  });

  test("fetches nothing at build time except through npm", () => {
    for (const stage of stages) {
      for (const add of all("ADD", stage)) expect(add).not.toMatch(/https?:\/\//);
      for (const run of all("RUN", stage)) expect(run).not.toMatch(/\b(curl|wget)\b/);
    }
  });

  test(".dockerignore keeps dependencies, build output, secrets and git out of the context", () => {
    const ignored = readFileSync(`${ROOT}.dockerignore`, "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git", ".cache", ".env"]));
  });
});
