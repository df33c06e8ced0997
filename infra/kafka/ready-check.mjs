// Readiness probe for a Kafka broker with no dependencies beyond Node itself.
//
// Usage: node ready-check.mjs <host> <port> [timeoutMs]
// Exit 0 when the broker answers a Metadata request listing a broker on <port>, 1 otherwise.
//
// A TCP connect alone is not enough: a KRaft broker opens its client listener only once it has
// caught up with the metadata log, and a real Metadata round trip proves that the request path
// works. Metadata v4 is used because it is accepted by 3.x and 4.x brokers alike (4.0 removed
// v0-v3) and is not a "flexible" version, so the encoding stays trivial.
import net from 'node:net';

const [host = '127.0.0.1', portArg, timeoutArg] = process.argv.slice(2);
const port = Number(portArg);
const timeoutMs = Number(timeoutArg ?? 2000);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node ready-check.mjs <host> <port> [timeoutMs]');
  process.exit(2);
}

const API_METADATA = 3;
const API_VERSION = 4;
const CORRELATION_ID = 0x5eed;
const clientId = Buffer.from('rwkvstream-ready-check');

function buildRequest() {
  // Request header v1: api_key, api_version, correlation_id, client_id (int16-length string).
  // Body (Metadata v4): topics as an empty array (brokers only), allow_auto_topic_creation=false.
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(API_METADATA, o);
  o = body.writeInt16BE(API_VERSION, o);
  o = body.writeInt32BE(CORRELATION_ID, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(0, o);
  body.writeInt8(0, o);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function parseResponse(buf) {
  let o = 0;
  const int16 = () => {
    const v = buf.readInt16BE(o);
    o += 2;
    return v;
  };
  const int32 = () => {
    const v = buf.readInt32BE(o);
    o += 4;
    return v;
  };
  const str = () => {
    const n = int16();
    if (n < 0) return null;
    const s = buf.toString('utf8', o, o + n);
    o += n;
    return s;
  };

  if (int32() !== CORRELATION_ID) throw new Error('unexpected correlation id');
  int32(); // throttle_time_ms
  const brokers = [];
  for (let n = int32(); n > 0; n--) {
    brokers.push({ nodeId: int32(), host: str(), port: int32(), rack: str() });
  }
  const clusterId = str();
  return { brokers, clusterId };
}

function fail(message) {
  console.error(`not ready: ${message}`);
  process.exit(1);
}

const socket = net.connect({ host, port });
const timer = setTimeout(() => {
  socket.destroy();
  fail(`no answer within ${timeoutMs} ms`);
}, timeoutMs);
let received = Buffer.alloc(0);

socket.on('connect', () => socket.write(buildRequest()));
socket.on('error', (err) => {
  clearTimeout(timer);
  fail(err.code ?? err.message);
});
socket.on('data', (chunk) => {
  received = Buffer.concat([received, chunk]);
  if (received.length < 4) return;
  const size = received.readInt32BE(0);
  if (received.length < 4 + size) return;
  clearTimeout(timer);
  socket.destroy();
  try {
    const { brokers, clusterId } = parseResponse(received.subarray(4, 4 + size));
    if (!brokers.some((b) => b.port === port)) fail(`metadata lists no broker on port ${port}`);
    console.log(
      `ready: cluster ${clusterId}, brokers ${brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(',')}`,
    );
    process.exit(0);
  } catch (err) {
    fail(`bad metadata response: ${err.message}`);
  }
});
socket.on('close', () => {
  // A broker that closes the connection without answering is not ready (or not Kafka).
  clearTimeout(timer);
  fail('connection closed without a response');
});
