// The baseline for the events service: the least a Node server-sent-events broadcaster can do.
// GET /events?uid=<uid> opens a stream for whoever claims that uid; POST /publish {to, data}
// writes `data:` to every stream of `to` (one Map lookup), or to every stream when `to` is absent.
// No auth, no checks, no storage, no Redis; one global heartbeat timer. GET /stats counts streams.
// Usage: node bench/events/bare-broadcaster.mjs <port>
import http from 'node:http';

const port = Number(process.argv[2]);
/** uid → the open responses of that uid. */
const streams = new Map();
let open = 0;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'GET' && url.pathname === '/events') {
    const uid = url.searchParams.get('uid') ?? '';
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('retry: 2000\n\n');
    let mine = streams.get(uid);
    if (!mine) {
      mine = new Set();
      streams.set(uid, mine);
    }
    mine.add(res);
    open += 1;
    res.on('close', () => {
      mine.delete(res);
      if (mine.size === 0 && streams.get(uid) === mine) streams.delete(uid);
      open -= 1;
    });
    return;
  }
  if (req.method === 'POST' && url.pathname === '/publish') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { to, data } = JSON.parse(body);
      const frame = `data: ${JSON.stringify(data)}\n\n`;
      let sent = 0;
      for (const targets of to === undefined ? streams.values() : [streams.get(to) ?? []]) {
        for (const target of targets) {
          target.write(frame);
          sent += 1;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"sent":${sent}}`);
    });
    return;
  }
  if (req.method === 'GET' && (url.pathname === '/healthz' || url.pathname === '/stats')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"connections":${open}}`);
    return;
  }
  res.writeHead(404).end();
});
// Streams are long-lived, as in the service.
server.requestTimeout = 0;
const heartbeat = setInterval(() => {
  for (const targets of streams.values()) for (const target of targets) target.write(': heartbeat\n\n');
}, 25_000);
heartbeat.unref();
server.listen(port, '127.0.0.1', () => process.stdout.write(`bare broadcaster on ${port}\n`));
process.on('SIGTERM', () => {
  for (const targets of streams.values()) for (const target of targets) target.destroy();
  server.close(() => process.exit(0));
});
