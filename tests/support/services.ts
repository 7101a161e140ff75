import { inject } from "vitest";
import type { TestServices } from "./provided.js";

export type { ServiceSource, TestServices } from "./provided.js";

/** The services global-setup checked (or started): call inside a test file of the integration project. */
export function testServices(): TestServices {
  const services = inject("testServices");
  if (services === undefined) {
    throw new Error(
      "testServices is not provided: run integration tests with `vitest run --project integration`",
    );
  }
  return services;
}
