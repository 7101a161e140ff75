import { describe, expect, it } from "vitest";
import { pauseUnlessAborted } from "../src/pause.js";

describe("pauseUnlessAborted", () => {
  it("resolves when the wait is over", async () => {
    await expect(pauseUnlessAborted(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  it("resolves at once, without an error, when the signal aborts during the wait", async () => {
    const controller = new AbortController();
    // A wait far longer than any test timeout: only the abort can end it.
    const waiting = pauseUnlessAborted(3_600_000, controller.signal);
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
  });

  it("resolves for a signal aborted before the wait", async () => {
    await expect(pauseUnlessAborted(3_600_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});
