import { randomBytes } from "node:crypto";

let counter = 0;

/**
 * A name no other test file, worker or run uses at the same time: `<prefix>-<pid>-<time>-<counter>-<random>`,
 * lower case, characters [a-z0-9-] only (valid as a Kafka topic, consumer group or Redis key part).
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "") || "t";
  const suffix = `${process.pid.toString(36)}-${Date.now().toString(36)}-${counter.toString(36)}-${randomBytes(3).toString("hex")}`;
  return `${clean.slice(0, 40)}-${suffix}`;
}

/** uniqueName for Postgres identifiers: [a-z0-9_], starts with a letter, at most 63 characters. */
export function uniqueIdentifier(prefix: string): string {
  const name = uniqueName(prefix).replace(/-/g, "_");
  return (/^[a-z]/.test(name) ? name : `t_${name}`).slice(0, 63);
}
