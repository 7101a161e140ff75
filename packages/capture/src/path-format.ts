import { CaptureError } from "./errors.js";

/** Capture's default file name format (Azure portal / ARM `archiveNameFormat`). */
export const DEFAULT_CAPTURE_PATH_FORMAT =
  "{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}";

const TOKENS: Readonly<Record<string, string>> = {
  Namespace: "[^/]+",
  EventHub: "[^/]+",
  PartitionId: "\\d{1,5}",
  Year: "\\d{4}",
  Month: "\\d{2}",
  Day: "\\d{2}",
  Hour: "\\d{2}",
  Minute: "\\d{2}",
  Second: "\\d{2}",
};

/** What a Capture file's path says about it. */
export interface CapturePlacement {
  readonly namespace?: string;
  readonly eventHub?: string;
  readonly partition: number;
  /** The start of the file's capture window (UTC) when the format has the date and time tokens. */
  readonly windowStartMs?: number;
}

export type CapturePathMatcher = (path: string) => CapturePlacement | null;

/**
 * A matcher for Capture file paths of `format` (tokens {Namespace} {EventHub} {PartitionId} {Year} {Month} {Day}
 * {Hour} {Minute} {Second}, `.avro` appended). It matches the end of a path, so the source may point at any folder
 * above the files. {PartitionId} is required: a record's lineage needs its partition.
 */
export function capturePathMatcher(format: string = DEFAULT_CAPTURE_PATH_FORMAT): CapturePathMatcher {
  const used: string[] = [];
  let pattern = "";
  let rest = format.replace(/^\/+|\/+$/g, "");
  while (rest !== "") {
    const token = /^\{([A-Za-z]+)\}/.exec(rest);
    if (token !== null) {
      const name = token[1] ?? "";
      const expression = TOKENS[name];
      if (expression === undefined) {
        throw new CaptureError(
          "invalid_path_format",
          `unknown token {${name}} in --path-format (known: ${Object.keys(TOKENS)
            .map((t) => `{${t}}`)
            .join(" ")})`,
        );
      }
      if (used.includes(name))
        throw new CaptureError("invalid_path_format", `{${name}} appears twice in --path-format`);
      used.push(name);
      pattern += `(?<${name}>${expression})`;
      rest = rest.slice(token[0].length);
    } else {
      pattern += (rest[0] ?? "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      rest = rest.slice(1);
    }
  }
  if (!used.includes("PartitionId")) {
    throw new CaptureError("invalid_path_format", "--path-format must contain {PartitionId}");
  }
  const expression = new RegExp(`(?:^|/)${pattern}\\.avro$`);
  const hasTime = ["Year", "Month", "Day", "Hour", "Minute", "Second"].every((t) => used.includes(t));
  return (path) => {
    const groups = expression.exec(path.replaceAll("\\", "/"))?.groups;
    if (groups === undefined) return null;
    const windowStartMs = hasTime
      ? Date.UTC(
          Number(groups.Year),
          Number(groups.Month) - 1,
          Number(groups.Day),
          Number(groups.Hour),
          Number(groups.Minute),
          Number(groups.Second),
        )
      : undefined;
    return {
      partition: Number(groups.PartitionId),
      ...(groups.Namespace === undefined ? {} : { namespace: groups.Namespace }),
      ...(groups.EventHub === undefined ? {} : { eventHub: groups.EventHub }),
      ...(windowStartMs === undefined ? {} : { windowStartMs }),
    };
  };
}

/** The path of a file in the default format (tests and tools). */
export function captureFilePath(placement: {
  namespace: string;
  eventHub: string;
  partition: number;
  windowStartMs: number;
}): string {
  const d = new Date(placement.windowStartMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return [
    placement.namespace,
    placement.eventHub,
    String(placement.partition),
    String(d.getUTCFullYear()),
    two(d.getUTCMonth() + 1),
    two(d.getUTCDate()),
    two(d.getUTCHours()),
    two(d.getUTCMinutes()),
    `${two(d.getUTCSeconds())}.avro`,
  ].join("/");
}
