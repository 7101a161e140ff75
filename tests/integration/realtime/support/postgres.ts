import { createTestDatabase, type TestDatabase } from "../../../support/index.js";

export type RealtimeDatabase = TestDatabase;

/** A database of its own with the warehouse migrations applied. */
export function createRealtimeDatabase(): Promise<RealtimeDatabase> {
  return createTestDatabase("rt", { poolMax: 3 });
}
