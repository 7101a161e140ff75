import { ConfigError } from "../src/errors.js";

/** The ConfigError `run` throws; any other outcome (another error, no error) fails the test. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}
