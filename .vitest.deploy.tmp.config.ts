import { defineConfig } from "vitest/config";
export default defineConfig({
  root: "/work/main",
  resolve: { conditions: ["source", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["source", "node", "development|production"], externalConditions: ["source"] } },
  test: { include: ["tests/deploy/**/*.test.ts", "services/simulator/test/**/*.test.ts", "services/supervisor/test/**/*.test.ts", ".tmp-*.test.ts"], environment: "node" },
});
