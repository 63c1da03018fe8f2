import type { Server } from 'node:http';
import { type Logger, startTracing } from '@tenantmesh/observability';
import { shutdownGracefully } from './shutdown';

export interface RunningService {
  server: Server;
  logger: Logger;
  graceMs: number;
  close(): Promise<void>;
  beforeDrain?: () => Promise<void> | void;
}

/**
 * The body of every services/<name>/src/main.ts, and the only place process-level handlers are
 * installed: tracing first (its instrumentations patch http/express only if loaded after it),
 * then `start` (which loads config, connects and listens), then SIGTERM/SIGINT → graceful drain.
 * A start failure prints the error (ConfigError lists every problem, never a secret) and exits 1.
 */
export function runMain(service: string, start: () => Promise<RunningService>): void {
  const run = async () => {
    const tracing = await startTracing({ service, otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT });
    const running = await start();
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      running.logger.info('shutting down', { signal });
      shutdownGracefully({
        server: running.server,
        graceMs: running.graceMs,
        beforeDrain: running.beforeDrain,
        close: async () => {
          await running.close();
          await tracing?.shutdown();
        },
      }).then(
        () => process.exit(0),
        (error: unknown) => {
          running.logger.error('shutdown failed', { err: error });
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('unhandledRejection', (reason) =>
      running.logger.error('unhandled rejection', { err: reason }),
    );
    // State after an uncaught exception is unknown: log it, then exit so the orchestrator restarts us.
    process.on('uncaughtException', (error) => {
      running.logger.error('uncaught exception', { err: error });
      process.exit(1);
    });
  };
  run().catch((error: Error) => {
    process.stderr.write(`${service} failed to start: ${error.message}\n`);
    process.exit(1);
  });
}

/** Resolves once the server listens, rejects if it cannot (port taken). */
export function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
