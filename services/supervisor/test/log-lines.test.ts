import { describe, expect, test } from "vitest";
import { LinePrinter } from "../src/log-lines.js";

describe("LinePrinter", () => {
  const printer = new LinePrinter({ format: "pretty", colors: false, write: () => undefined }, [
    "supervisor",
    "budget-tracker",
  ]);

  test("prefixes every line with the process name, aligned", () => {
    expect(printer.format("budget-tracker", "plain text")).toBe("[budget-tracker] plain text");
    expect(printer.format("api", "x")).toBe(`${"[api]".padEnd(17)}x`);
  });

  test("pino JSON lines become one readable line (level, message, fields; no pid/hostname/service)", () => {
    const line = JSON.stringify({
      level: "info",
      time: "2026-11-25T21:00:00.000Z",
      service: "ingestor",
      pid: 1,
      msg: "batch written",
      records: 500,
    });
    const out = printer.format("ingestor", line);
    expect(out).toMatch(/^\[ingestor\] +\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: batch written \{"records":500\}$/);
    expect(out).not.toContain("pid");
    expect(out).not.toContain('"service"');
  });

  test("non-pino JSON and broken JSON pass through unchanged; raw mode changes nothing", () => {
    expect(printer.format("api", '{"sent":1}')).toContain('{"sent":1}');
    expect(printer.format("api", "{oops")).toContain("{oops");
    const raw = new LinePrinter({ format: "raw", colors: false, write: () => undefined }, ["api"]);
    const line = JSON.stringify({ level: 30, msg: "x" });
    expect(raw.format("api", line)).toContain(line);
  });

  test("colors only when asked", () => {
    const colored = new LinePrinter({ format: "raw", colors: true, write: () => undefined }, ["api"]);
    expect(colored.format("api", "x")).toContain("\u001b[");
  });
});
