// The only file that reads the environment, listens, and handles process signals (via runMain).
import http from 'node:http';
import { listen, runMain } from '@tenantmesh/http-kit/run-main';

runMain('events', async () => {
  // Loaded after tracing has started (see runMain).
  const { loadEventsConfig } = require('./config') as typeof import('./config');
  const { connectEventsDeps } = require('./deps') as typeof import('./deps');
  const { buildApp } = require('./app') as typeof import('./app');

  const config = loadEventsConfig(process.env);
  const deps = await connectEventsDeps(config);
  const server = http.createServer(buildApp(deps));
  // Streams are long-lived by design; only idle keep-alive sockets should time out.
  server.requestTimeout = 0;
  await listen(server, config.http.port, config.http.host);
  deps.logger.info('listening', { host: config.http.host, port: config.http.port });
  return {
    server,
    logger: deps.logger,
    graceMs: config.http.shutdownGraceMs,
    // Every stream gets `retry:` and is closed, so its client reconnects to another replica.
    beforeDrain: () => deps.registry.drain(config.streams.reconnectMs),
    close: deps.close,
  };
});
