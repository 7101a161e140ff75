import { connect } from "node:net";

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * One HTTP/1.1 exchange over a fresh socket, with the request written byte for byte: the fuzz sends what no
 * HTTP client library would (raw bytes in header values, odd request targets, header spellings). The request
 * must ask for `connection: close`; an event stream is cut once its headers arrived.
 */
export function rawHttp(port: number, request: Buffer, timeoutMs = 30_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) {
        reject(error);
        return;
      }
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (parseError) {
        reject(parseError);
      }
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    // write, not end: a client that half-closes is taken by Node's server as gone, and its request aborted.
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const head = Buffer.concat(chunks);
      const end = head.indexOf("\r\n\r\n");
      if (
        end !== -1 &&
        /\r\ncontent-type: text\/event-stream/i.test(head.subarray(0, end).toString("latin1"))
      )
        finish(null);
    });
    socket.on("error", (error) => finish(error));
    socket.on("close", () => finish(null));
  });
}

function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1)
    throw new Error(`no HTTP response (${raw.length} bytes: ${raw.subarray(0, 80).toString("latin1")})`);
  const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (match === null) throw new Error(`not an HTTP status line: ${statusLine.slice(0, 80)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = raw.subarray(end + 4);
  if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) body = dechunk(body);
  else if (headers["content-length"] !== undefined)
    body = body.subarray(0, Number(headers["content-length"]));
  return { status: Number(match[1]), headers, body };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
