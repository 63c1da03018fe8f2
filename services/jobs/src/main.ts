// The only file that reads the environment, listens, and handles process signals (via runMain).
import http from 'node:http';
import { listen, runMain } from '@tenantmesh/http-kit/run-main';

runMain('jobs', async () => {
  // Loaded after tracing has started (see runMain).
  const { loadJobsConfig } = require('./config') as typeof import('./config');
  const { connectJobsDeps } = require('./deps') as typeof import('./deps');
  const { buildApp } = require('./app') as typeof import('./app');

  const config = loadJobsConfig(process.env);
  const deps = await connectJobsDeps(config);
  const server = await listen(http.createServer(buildApp(deps)), config.http.port, config.http.host);
  deps.logger.info('listening', { host: config.http.host, port: config.http.port, mode: config.queue.mode });
  return {
    server,
    logger: deps.logger,
    graceMs: config.http.shutdownGraceMs,
    // SIGTERM: the worker stops claiming, finishes or releases its jobs within JOBS_SHUTDOWN_GRACE_MS.
    close: () => deps.close(config.queue.shutdownGraceMs),
  };
});
