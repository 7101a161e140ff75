import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpendStoreError } from "../src/errors.js";
import {
  decodeApplySlice,
  decodeCommitOffsets,
  decodeRebuildLock,
  decodeRecordDetection,
  decodeResetOffsets,
  decodeRestoreAdvertiser,
} from "../src/script-replies.js";
import { luaScript, type ScriptName } from "../src/scripts.js";

/** Asserts that decoding fails loudly: code redis_reply, naming the script. */
function expectRejected(decode: () => unknown, script: ScriptName): void {
  let caught: unknown;
  try {
    decode();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SpendStoreError);
  expect((caught as SpendStoreError).code).toBe("ADP_SPEND_STORE_REDIS_REPLY");
  expect((caught as SpendStoreError).message).toMatch(new RegExp(`^${script}\\.lua replied `));
}

/** The integer codes a script's header lists under Output (lines starting with a code). */
function documentedCodes(script: ScriptName): number[] {
  const header = /^--\[\[([\s\S]*?)\]\]/.exec(luaScript(script).source)?.[1] ?? "";
  const output = header.slice(header.indexOf("Output:") + "Output:".length);
  return [...output.matchAll(/^\s*(-?\d+) /gm)].map((m) => Number(m[1]));
}

const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

describe("apply_slice replies", () => {
  it("reads every field of a done call by name", () => {
    expect(decodeApplySlice([1, 3, 1, 2, 4, 1, 0])).toEqual({
      status: "applied",
      applied: 3,
      duplicates: 1,
      replayed: 2,
      closedPeriod: 4,
      flipped: true,
      canServe: false,
    });
  });

  it("reads the unknown-advertiser and refused-epoch replies", () => {
    expect(decodeApplySlice([0, 0, 0, 0, 0, 0, -1])).toMatchObject({
      status: "left_unknown",
      flipped: false,
      canServe: null,
    });
    expect(decodeApplySlice([-1, 0, 0, 0, 0, 0, -1])).toMatchObject({
      status: "epoch_refused",
      canServe: null,
    });
  });

  it("decodes every well-formed reply field for field", () => {
    const status = fc.constantFrom(1, 0, -1);
    const flag = fc.constantFrom(0, 1);
    const canServe = fc.constantFrom(1, 0, -1);
    fc.assert(
      fc.property(fc.tuple(status, count, count, count, count, flag, canServe), (reply) => {
        const decoded = decodeApplySlice(reply);
        const [, applied, duplicates, replayed, closedPeriod, flipped, serving] = reply;
        expect(decoded).toMatchObject({ applied, duplicates, replayed, closedPeriod });
        expect(decoded.flipped).toBe(flipped === 1);
        expect(decoded.canServe).toBe(serving === -1 ? null : serving === 1);
      }),
    );
  });

  it.each([
    ["nothing", undefined],
    ["a bare number", 1],
    ["six fields", [1, 0, 0, 0, 0, 0]],
    ["eight fields", [1, 0, 0, 0, 0, 0, 1, 0]],
    ["an unknown status", [2, 0, 0, 0, 0, 0, 1]],
    ["a negative count", [1, -1, 0, 0, 0, 0, 1]],
    ["flipped 2", [1, 0, 0, 0, 0, 2, 1]],
    ["can_serve 2", [1, 0, 0, 0, 0, 1, 2]],
    ["a string field", [1, "0", 0, 0, 0, 0, 1]],
    ["a fraction", [1, 0.5, 0, 0, 0, 0, 1]],
  ])("rejects %s, naming the script", (_, reply) => {
    expectRejected(() => decodeApplySlice(reply), "apply_slice");
  });

  it("rejects any array that is not seven integers", () => {
    const notSevenInts = fc
      .array(fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)), { maxLength: 10 })
      .filter((a) => a.length !== 7 || !a.every(Number.isSafeInteger));
    fc.assert(
      fc.property(notSevenInts, (reply) => {
        expectRejected(() => decodeApplySlice(reply), "apply_slice");
      }),
    );
  });

  it("shows a long reply shortened in the error", () => {
    const reply = Array.from({ length: 500 }, () => 1);
    expect(() => decodeApplySlice(reply)).toThrow(/\.\.\., expected 7 integers/);
  });
});

describe("status-code replies", () => {
  it("commit_offsets: the four documented codes", () => {
    expect([1, 0, -1, -2].map(decodeCommitOffsets)).toEqual([
      "recorded",
      "state_lost",
      "epoch_changed",
      "generation_changed",
    ]);
  });

  it("reset_offsets: the four documented codes", () => {
    expect([1, 2, 0, -2].map(decodeResetOffsets)).toEqual([
      "moved",
      "already_moved",
      "state_lost",
      "generation_moved",
    ]);
  });

  it("record_detection and rebuild_lock: 1 done, 0 not", () => {
    expect([1, 0].map(decodeRecordDetection)).toEqual([true, false]);
    expect([1, 0].map(decodeRebuildLock)).toEqual([true, false]);
  });

  it.each([
    ["commit_offsets", decodeCommitOffsets],
    ["reset_offsets", decodeResetOffsets],
    ["record_detection", decodeRecordDetection],
  ] as const)("%s accepts exactly the codes its Lua header documents", (script, decode) => {
    const codes = documentedCodes(script);
    expect(codes.length).toBeGreaterThanOrEqual(2);
    for (const code of codes) expect(() => decode(code)).not.toThrow();
    fc.assert(
      fc.property(
        fc.integer().filter((n) => !codes.includes(n)),
        (code) => expectRejected(() => decode(code), script),
      ),
    );
  });

  it.each([
    ["commit_offsets", decodeCommitOffsets],
    ["reset_offsets", decodeResetOffsets],
    ["record_detection", decodeRecordDetection],
    ["rebuild_lock", decodeRebuildLock],
  ] as const)("%s rejects a reply that is not a number", (script, decode) => {
    for (const reply of [undefined, null, "1", [1], { ok: 1 }]) expectRejected(() => decode(reply), script);
  });
});

describe("restore_advertiser replies", () => {
  it("reads the number of click ids added", () => {
    fc.assert(fc.property(count, (n) => decodeRestoreAdvertiser(n) === n));
  });

  it.each([[-1], [1.5], ["3"], [null], [undefined], [[3]]])("rejects %j", (reply) => {
    expectRejected(() => decodeRestoreAdvertiser(reply), "restore_advertiser");
  });
});
