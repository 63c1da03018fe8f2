// The only file that reads the environment, listens, and handles process signals (via runMain).
import http from 'node:http';
import { listen, runMain } from '@tenantmesh/http-kit/run-main';

runMain('files', async () => {
  // Loaded after tracing has started (see runMain).
  const { loadFilesConfig } = require('./config') as typeof import('./config');
  const { connectFilesDeps } = require('./deps') as typeof import('./deps');
  const { buildApp } = require('./app') as typeof import('./app');

  const config = loadFilesConfig(process.env);
  const deps = await connectFilesDeps(config);
  const server = await listen(http.createServer(buildApp(deps)), config.http.port, config.http.host);
  deps.logger.info('listening', { host: config.http.host, port: config.http.port });
  return { server, logger: deps.logger, graceMs: config.http.shutdownGraceMs, close: deps.close };
});
