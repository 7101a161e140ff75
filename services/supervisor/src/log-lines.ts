import { prettyFactory } from "pino-pretty";

/** ANSI colors for the service prefixes on a terminal. */
const COLORS = [36, 33, 35, 32, 34, 31] as const;

export interface LinePrinterOptions {
  /** "pretty": pino JSON lines become one readable line; "raw": lines unchanged. */
  format: "pretty" | "raw";
  colors: boolean;
  write: (text: string) => void;
}

/**
 * Prints children's output as `[name] line`. pino JSON lines are prettified (time, level, message, fields
 * on one line); anything else passes through as it is.
 */
export class LinePrinter {
  private readonly pretty: (input: string | object) => string;
  private readonly width: number;
  private readonly colorOf = new Map<string, number>();

  constructor(
    private readonly options: LinePrinterOptions,
    names: readonly string[],
  ) {
    this.pretty = prettyFactory({
      colorize: options.colors,
      translateTime: "HH:MM:ss.l",
      ignore: "pid,hostname,service",
      singleLine: true,
    });
    this.width = Math.max(...names.map((name) => name.length), 10);
    names.forEach((name, index) => {
      this.colorOf.set(name, COLORS[index % COLORS.length] as number);
    });
  }

  format(name: string, line: string): string {
    const prefix = `[${name}]`.padEnd(this.width + 3);
    const coloredPrefix = this.options.colors
      ? `\u001b[${this.colorOf.get(name) ?? 37}m${prefix}\u001b[0m`
      : prefix;
    return `${coloredPrefix}${this.body(line)}`;
  }

  print(name: string, line: string): void {
    this.options.write(`${this.format(name, line)}\n`);
  }

  private body(line: string): string {
    if (this.options.format === "raw" || !line.startsWith("{")) return line;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed === null || typeof parsed !== "object" || !("level" in parsed)) return line;
      return this.pretty(parsed).trimEnd();
    } catch {
      return line;
    }
  }
}
