// Answers "is a Kafka broker serving requests on host:port?" without a JVM or a client library:
// sends one ApiVersions v0 request and expects error_code 0 back. A port that merely accepts TCP
// (a broker still starting, or some other program) does not pass.
//
// usage: node probe.mjs <host:port> [--tls-ca <ca.pem>] [--timeout-ms <n>]
// exit 0 = answered, 1 = no answer / wrong answer (reason on stderr).
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const API_VERSIONS_KEY = 18;
const CORRELATION_ID = 0x5eed;

function parseArgs(argv) {
  const [address, ...rest] = argv;
  if (!address?.includes(":"))
    throw new Error("usage: probe.mjs <host:port> [--tls-ca file] [--timeout-ms n]");
  const separator = address.lastIndexOf(":");
  const options = {
    host: address.slice(0, separator),
    port: Number(address.slice(separator + 1)),
    ca: undefined,
    timeoutMs: 3000,
  };
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === "--tls-ca") options.ca = readFileSync(rest[i + 1], "utf8");
    else if (rest[i] === "--timeout-ms") options.timeoutMs = Number(rest[i + 1]);
    else throw new Error(`unknown option ${rest[i]}`);
  }
  return options;
}

function apiVersionsRequest() {
  const clientId = Buffer.from("adpipe-probe");
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(API_VERSIONS_KEY, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(CORRELATION_ID, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function probe({ host, port, ca, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const socket = ca
      ? tls.connect({ host, port, ca, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.once(ca ? "secureConnect" : "connect", () => socket.write(apiVersionsRequest()));
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 10) return;
      const correlationId = received.readInt32BE(4);
      const errorCode = received.readInt16BE(8);
      if (correlationId !== CORRELATION_ID) finish(new Error(`unexpected correlation id ${correlationId}`));
      else if (errorCode !== 0) finish(new Error(`ApiVersions error code ${errorCode}`));
      else finish();
    });
    socket.on("error", (error) => finish(error));
    socket.on("close", () => finish(new Error(`connection to ${host}:${port} closed before an answer`)));
  });
}

try {
  await probe(parseArgs(process.argv.slice(2)));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
