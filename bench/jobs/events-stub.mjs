#!/usr/bin/env node
// A stand-in for the events service, for bench/jobs/run.mjs (--events stub): answers every request
// 201 {} at once (no token check, no storage), so that the job.succeeded event our worker publishes
// after every job is delivered, as in production, instead of failing on a closed port (which costs
// a connect error and a warning formatted per job that production does not pay). Forked by run.mjs
// with the port as its argument; sends {ready} over IPC once listening; counts requests.
import http from 'node:http';

let requests = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    requests += 1;
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.send({ ready: true }));
process.on('message', (message) => {
  if (message === 'report') process.send({ report: { requests } });
});
process.on('disconnect', () => process.exit(0));
