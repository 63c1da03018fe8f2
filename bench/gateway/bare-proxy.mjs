// The baseline for the gateway's own cost: the least a Node reverse proxy can do. It forwards
// method, path, headers (the pre-minted X-User-Token included) and body to notes over a
// keep-alive agent, and streams the answer back. No sessions, no tokens, no limits, no headers.
// Usage: node bench/gateway/bare-proxy.mjs <port> <upstream base URL>
import http from 'node:http';

const [port, upstream] = [Number(process.argv[2]), new URL(process.argv[3])];
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  delete headers.connection;
  const out = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(out);
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`bare proxy on ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
