import { budgetObservation, KNOWN_FIELDS, parseEvent, spendContribution } from "@adpipe/core";
import fc from "fast-check";

/** A hostile Kafka record: key and value bytes exactly as produced (either may be null). */
export interface HostileRecord {
  readonly label: string;
  readonly key: string | Buffer | null;
  readonly value: Uint8Array | null;
}

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);

/** SQL and Lua injection strings: they must travel as data, never as code. */
export const INJECTIONS = [
  "'; DROP TABLE bronze.ad_click_events_raw; --",
  "' OR '1'='1",
  '" OR 1=1 --',
  "1; DELETE FROM gold.advertiser_spend",
  "$$; DROP SCHEMA gold CASCADE; $$",
  "'); SELECT pg_sleep(30); --",
  "\\'; TRUNCATE ingest.consumer_offsets; --",
  "E'\\\\x27' || chr(39)",
  "%' AND 1=(SELECT count(*) FROM pg_shadow) --",
  "]]..redis.call('FLUSHALL')..[[",
  "'); redis.call('DEL', KEYS[1]); --",
  "\") end redis.call('SET','pwned','1') --",
  "*\r\n$8\r\nFLUSHALL\r\n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style string, meant literally
  "${jndi:ldap://127.0.0.1/x}",
  "<script>alert(1)</script>",
  "../../../../etc/passwd",
  "{{7*7}}",
] as const;

/** Names no control character sneaks into but every other oddity does (valid as ids and names). */
export const ODD_NAMES = [
  "Acme 🚀 Ads",
  "👨‍👩‍👧‍👦",
  "Zürich Straße",
  "מפרסם",
  "广告客户",
  "\u202Eevil-rtl",
  "zero\u200Bwidth",
  "a}b{c",
  "{adv}",
  "adv:{x}:y",
  "*",
  "[a-z]?",
  "   ",
  "\\u0000",
  "💸".repeat(60),
] as const;

const CONTROL_CHARACTERS = [
  "\u0000",
  "\u0001",
  "\u0007",
  "\b",
  "\t",
  "\n",
  "\r",
  "\u001b",
  "\u007f",
] as const;

/** Raw JSON number texts (not all of them JSON) for the money fields. */
const RAW_NUMBERS = [
  "NaN",
  "Infinity",
  "-Infinity",
  "1e309",
  "-1e309",
  "-0",
  "-0.0",
  "0",
  "1e-7",
  "0.0000005",
  "9007199254740993",
  "1e21",
  "-1",
  "0x10",
  "1_000",
  "+1",
  ".5e",
  "1e",
  "01",
  "1.0000001",
  "1000.000001",
  '"NaN"',
  '"Infinity"',
  '"1e309"',
  '"-0"',
  '" 1"',
  '"1,5"',
  '"0x10"',
  '""',
  "null",
  "true",
  "[]",
  "{}",
  "[0.5]",
  '{"value":0.5}',
] as const;

/** Timestamps from year 0 to 9999 and beyond, and impossible ones. */
const TIMESTAMPS = [
  '"0000-01-01T00:00:00Z"',
  '"0001-01-01T00:00:00.000Z"',
  '"1969-12-31T23:59:59.999Z"',
  '"1970-01-01T00:00:00Z"',
  '"9999-12-31T23:59:59.999Z"',
  '"+010000-01-01T00:00:00Z"',
  '"-000001-01-01T00:00:00Z"',
  '"2026-02-29T00:00:00Z"',
  '"2026-06-30T23:59:60Z"',
  '"2026-13-01T00:00:00Z"',
  '"2026-11-25T25:00:00Z"',
  '"2026-11-25T12:00:00+25:00"',
  '"2026-11-25"',
  '"now"',
  '""',
  "-62167219200000",
  "253402300799999",
  "253402300800000",
  "1e20",
  "-1",
  "0",
  "1.5",
  "null",
  "[]",
] as const;

function eventText(fields: Record<string, string>): string {
  return `{${Object.entries(fields)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(",")}}`;
}

/**
 * The hand-written corpus of nasty cases. Every one is harmless by construction (rejected, or an event that
 * moves no money and no budget); `assertHarmless` checks that against the contract before it is produced.
 */
export function hostileCorpus(advertiserKeys: readonly string[], nowMs: number): HostileRecord[] {
  const out: HostileRecord[] = [];
  let n = 0;
  const key = () => advertiserKeys[n % advertiserKeys.length] ?? null;
  const add = (label: string, value: Uint8Array | null, k: string | Buffer | null = key()) => {
    n += 1;
    out.push({ label, key: k, value });
  };
  const iso = JSON.stringify(new Date(nowMs).toISOString());
  // A click that would be valid but for its amount (so it moves no money).
  const base = (extra: Record<string, string> = {}) => ({
    event_type: '"ad_click"',
    click_id: JSON.stringify(`hostile-${n}`),
    advertiser_id: JSON.stringify(advertiserKeys[n % advertiserKeys.length] ?? "adv-x"),
    amount: '"not-a-number"',
    timestamp: iso,
    ...extra,
  });

  // Invalid UTF-8 (overlong, lone surrogate, truncated sequences, stray continuation bytes).
  for (const seq of [
    [0xff],
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xe2, 0x82],
    [0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xfe, 0xfe],
  ]) {
    const text = bytes(eventText(base({ advertiser: '"X"' })));
    add(
      `invalid utf-8 ${seq.map((b) => b.toString(16)).join(" ")}`,
      new Uint8Array([...text.slice(0, 20), ...seq, ...text.slice(20)]),
    );
  }
  add("invalid utf-8 key", bytes(eventText(base())), Buffer.from([0xff, 0xfe, 0x00, 0x41]));
  // Truncated JSON at every length of an otherwise good click.
  const whole = eventText({ ...base(), amount: "0.5" });
  for (let cut = 1; cut < whole.length; cut += 3) add(`truncated at ${cut}`, bytes(whole.slice(0, cut)));
  // Deep nesting: alone, and inside a field.
  add("nested arrays 20000 deep", bytes(`${"[".repeat(20_000)}${"]".repeat(20_000)}`));
  add("nested objects 5000 deep", bytes(`${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`));
  add("unclosed nesting", bytes("[".repeat(30_000)));
  add(
    "nested advertiser",
    bytes(eventText(base({ advertiser: `${'{"a":'.repeat(2_000)}1${"}".repeat(2_000)}` }))),
  );
  // Sizes: 1 MB values, and just around the 64 KiB limit.
  add("1 MiB of x", bytes("x".repeat(1_048_576)));
  add(
    "1 MiB JSON event",
    bytes(eventText({ ...base(), amount: "0.5", padding: JSON.stringify("p".repeat(1_048_000)) })),
  );
  for (const size of [65_535, 65_536, 65_537]) {
    const head = eventText(base({ padding: '""' }));
    add(
      `${size} bytes`,
      bytes(head.replace('"padding":""', `"padding":"${"p".repeat(size - head.length)}"`)),
    );
  }
  // Money as every kind of number and non-number.
  for (const raw of RAW_NUMBERS) {
    // Without an advertiser, so that whatever the amount reads as, it is nobody's spend.
    const { advertiser_id: _ignored, ...anonymous } = base();
    add(`amount ${raw}`, bytes(eventText({ ...anonymous, amount: raw })));
    add(`budget_value ${raw}`, bytes(eventText({ ...base(), budget_value: raw })));
    add(
      `budget_update ${raw}`,
      bytes(
        eventText({
          event_type: '"budget_update"',
          advertiser_id: JSON.stringify(key()),
          budget_value: raw,
          timestamp: '"now"',
        }),
      ),
    );
  }
  // Arrays and scalars where an object belongs.
  for (const text of [
    "[]",
    "[{}]",
    `[${whole}]`,
    '"ad_click"',
    "42",
    "-0",
    "null",
    "true",
    "false",
    '""',
    "{}",
    `{"event":${whole}}`,
  ]) {
    add(`not an object: ${text.slice(0, 30)}`, bytes(text));
  }
  // Duplicate keys: whichever wins, the event stays harmless.
  add("duplicate amount", bytes(`${eventText(base()).slice(0, -1)},"amount":"also-bad","amount":-5}`));
  add("duplicate event_type", bytes(`${eventText(base()).slice(0, -1)},"event_type":"AD_CLICK"}`));
  add("duplicate click_id", bytes(`${eventText(base()).slice(0, -1)},"click_id":"","click_id":null}`));
  // Prototype pollution keys, at the top and nested.
  for (const field of ["__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "valueOf"]) {
    add(
      `${field} key`,
      bytes(
        `${eventText(base()).slice(0, -1)},${JSON.stringify(field)}:{"amount":5,"isValid":true,"event_type":"ad_click"}}`,
      ),
    );
    add(
      `${field} only`,
      bytes(
        `{${JSON.stringify(field)}:{"event_type":"ad_click","click_id":"c","advertiser_id":"a","amount":1,"timestamp":${iso}}}`,
      ),
    );
  }
  // SQL and Lua injection in every field (the click stays harmless through its amount or type).
  for (const injection of INJECTIONS) {
    const text = JSON.stringify(injection);
    for (const field of KNOWN_FIELDS) {
      add(`${field} = ${injection.slice(0, 20)}`, bytes(eventText(base({ [field]: text }))));
    }
    add(`key = ${injection.slice(0, 20)}`, bytes(eventText(base())), injection);
  }
  // Control characters (and emoji) in names and ids.
  for (const control of CONTROL_CHARACTERS) {
    for (const field of ["advertiser", "advertiser_id", "click_id", "ad_id"]) {
      add(
        `${field} with U+${control.charCodeAt(0).toString(16)}`,
        bytes(eventText(base({ [field]: JSON.stringify(`Acme ${control} 🚀`) }))),
      );
    }
  }
  for (const name of ODD_NAMES)
    add(`odd name ${name.slice(0, 10)}`, bytes(eventText(base({ advertiser: JSON.stringify(name) }))));
  // Timestamps from year 0 to 9999 and beyond (with a usable amount: out-of-window clicks are invalid, and
  // carry no usable amount here so they cannot add gross spend to a real advertiser either).
  for (const timestamp of TIMESTAMPS) add(`timestamp ${timestamp}`, bytes(eventText(base({ timestamp }))));
  // Null keys and empty values.
  add("null key, null value (tombstone)", null, null);
  add("null key, empty value", new Uint8Array(0), null);
  add("empty key, empty object", bytes("{}"), "");
  add("null value", null);
  add("empty value", new Uint8Array(0));
  add("whitespace only", bytes("   \n\t "));
  add("BOM only", new Uint8Array([0xef, 0xbb, 0xbf]));
  add(
    "empty strings everywhere",
    bytes(
      eventText({
        event_type: '""',
        click_id: '""',
        advertiser: '""',
        advertiser_id: '""',
        ad_id: '""',
        amount: '""',
        budget_value: '""',
        timestamp: '""',
      }),
    ),
  );
  add(
    "nulls everywhere",
    bytes(
      eventText({
        event_type: "null",
        click_id: "null",
        advertiser: "null",
        advertiser_id: "null",
        ad_id: "null",
        amount: "null",
        budget_value: "null",
        timestamp: "null",
      }),
    ),
  );
  add(
    "ids too long",
    bytes(
      eventText(
        base({
          click_id: JSON.stringify("c".repeat(129)),
          advertiser_id: JSON.stringify("a".repeat(129)),
          advertiser: JSON.stringify("n".repeat(257)),
        }),
      ),
    ),
  );
  return out;
}

const hostileText = fc.oneof(
  fc.constantFrom(...INJECTIONS, ...ODD_NAMES, ...CONTROL_CHARACTERS, "", "ad_click", "budget_update"),
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.string({ unit: "grapheme", maxLength: 64 }),
);
const hostileScalar = fc.oneof(
  hostileText,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt().map((b) => b.toString()),
);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileScalar },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(hostileScalar, { maxLength: 4 }) },
);
const fieldNames = fc.constantFrom(...KNOWN_FIELDS, "__proto__", "constructor", "");

/** One fuzzed payload: an event-like object, raw JSON text with odd number literals, or bytes. */
const fuzzedPayload: fc.Arbitrary<{ label: string; value: Uint8Array | null }> = fc.oneof(
  fc
    .dictionary(fieldNames, hostileValue, { maxKeys: 9 })
    .map((object) => ({ label: "fuzzed object", value: bytes(JSON.stringify(object)) })),
  fc
    .record({
      event_type: fc.oneof(
        fc.constantFrom('"ad_click"', '"budget_update"'),
        hostileValue.map((v) => JSON.stringify(v) ?? "null"),
      ),
      click_id: hostileValue.map((v) => JSON.stringify(v) ?? "null"),
      advertiser_id: hostileValue.map((v) => JSON.stringify(v) ?? "null"),
      amount: fc.oneof(fc.constantFrom(...RAW_NUMBERS), fc.double().map(String)),
      budget_value: fc.oneof(fc.constantFrom(...RAW_NUMBERS), fc.double().map(String)),
      timestamp: fc.oneof(
        fc.constantFrom(...TIMESTAMPS),
        fc.integer().map(String),
        fc.date({ noInvalidDate: true }).map((d) => JSON.stringify(d.toISOString())),
      ),
    })
    .map((fields) => ({ label: "fuzzed raw fields", value: bytes(eventText(fields)) })),
  fc.uint8Array({ maxLength: 256 }).map((value) => ({ label: "fuzzed bytes", value })),
  fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.boolean()).map(([json, cut, truncate]) => {
    const text = JSON.stringify(json) ?? "null";
    return { label: "fuzzed json", value: bytes(truncate ? text.slice(0, cut % (text.length + 1)) : text) };
  }),
);

/** True when the contract reads the record as nothing that moves money or a budget. */
export function isHarmless(value: Uint8Array | null, timestampMs: number): boolean {
  const parsed = parseEvent(value, { referenceTimeMs: timestampMs });
  if (!parsed.ok) return true;
  const spend = spendContribution(parsed);
  return (
    (spend === null || (spend.grossMicros === 0 && spend.netMicros === 0)) &&
    budgetObservation(parsed) === null
  );
}

/** `count` fuzzed payloads (seeded, reproducible), keeping only harmless ones; reports how many were skipped. */
export function fuzzedRecords(
  count: number,
  seed: number,
  advertiserKeys: readonly string[],
  nowMs: number,
): { records: HostileRecord[]; skippedHarmful: number } {
  const records: HostileRecord[] = [];
  let skippedHarmful = 0;
  let round = 0;
  while (records.length < count) {
    const batch = fc.sample(fuzzedPayload, { numRuns: count, seed: seed + round });
    round += 1;
    for (const sample of batch) {
      if (records.length >= count) break;
      if (!isHarmless(sample.value, nowMs)) {
        skippedHarmful += 1;
        continue;
      }
      const key =
        records.length % 17 === 0 ? null : (advertiserKeys[records.length % advertiserKeys.length] ?? null);
      records.push({ label: sample.label, key, value: sample.value });
    }
  }
  return { records, skippedHarmful };
}

function isControlCharacter(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f;
}

/**
 * Valid events whose strings are hostile (injection strings, emoji, braces, RTL marks as advertiser ids,
 * names and click ids) for advertisers of their own: they must be counted exactly like any other event.
 */

export function hostileButValid(nowMs: number): HostileRecord[] {
  const out: HostileRecord[] = [];
  const names = [
    ...INJECTIONS.filter((s) => ![...s].some(isControlCharacter)),
    ...ODD_NAMES.filter((s) => s.length <= 128),
  ];
  names.forEach((name, i) => {
    const advertiserId = name;
    const iso = new Date(nowMs - 60_000).toISOString();
    out.push({
      label: `valid budget for ${name.slice(0, 12)}`,
      key: advertiserId,
      value: bytes(
        JSON.stringify({
          event_type: "budget_update",
          advertiser_id: advertiserId,
          advertiser: name,
          budget_value: "100",
          timestamp: iso,
        }),
      ),
    });
    for (let c = 0; c < 3; c++) {
      out.push({
        label: `valid click for ${name.slice(0, 12)}`,
        key: advertiserId,
        value: bytes(
          JSON.stringify({
            event_type: "ad_click",
            click_id: `${name}#${i}.${c}`.slice(0, 128),
            advertiser_id: advertiserId,
            advertiser: name,
            ad_id: name,
            amount: `${c + 1}.25`,
            timestamp: iso,
          }),
        ),
      });
    }
  });
  return out;
}
