import { defineConfig } from "vitest/config";

// Workspace packages export a "source" condition pointing at their TypeScript,
// so tests run against src/ without a prior build.
const sourceConditions = ["source", "node", "import", "default"];
// vitest passes ssr.resolve.conditions to its Node workers as --conditions flags. "import" there would make
// Node's require() pick a package's ESM build (pg's require("pg-pool") then gets a module namespace and
// fails), so the server side lists only what Node needs; Vite adds import/require/default by itself.
const serverConditions = ["source", "node", "development|production"];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: serverConditions, externalConditions: ["source"] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [
            "packages/*/test/**/*.test.ts",
            "services/*/test/**/*.test.ts",
            "bench/test/**/*.test.ts",
            "tests/architecture/**/*.test.ts",
            "tests/deploy/**/*.test.ts",
            "tests/docs/**/*.test.ts",
          ],
          environment: "node",
          // Property tests run thousands of cases: a loaded 2-core machine needs more than the default 5 s.
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "browser",
          include: ["tests/browser/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          // Needs a real Azure Event Hubs namespace (AMQP cannot be emulated locally): `npm run test:azure`
          // with EVENT_HUB_CONNECTION_STRING, or EVENT_HUB_NAMESPACE + AZURE_AUTH for Entra ID, set (docs/azure.md).
          // Not part of `npm test`.
          name: "azure",
          include: ["tests/azure/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // Fault injection (kill -9, outages, hostile input, sustained load): `npm run test:integrity`,
          // sized by INTEGRITY_PROFILE (full | ci | smoke). Not part of `npm test`; .ci/run runs the ci profile.
          name: "integrity",
          include: ["tests/integrity/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 45 * 60_000,
          hookTimeout: 10 * 60_000,
        },
      },
    ],
  },
});
