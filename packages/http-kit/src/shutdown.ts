import type { Server } from 'node:http';

export interface ShutdownOptions {
  server: Server;
  /** How long in-flight requests may take to finish before their sockets are cut. */
  graceMs: number;
  /** Closes pools and other handles after the server has drained. */
  close?: () => Promise<void>;
  /** Runs right after the server stops accepting, before draining: e.g. tell SSE clients to reconnect elsewhere. */
  beforeDrain?: () => Promise<void> | void;
}

/**
 * Stop accepting, let in-flight requests finish (up to graceMs), cut what is left, then close
 * pools. Resolves when everything is closed; main.ts decides when to call it and when to exit.
 */
export async function shutdownGracefully({
  server,
  graceMs,
  close,
  beforeDrain,
}: ShutdownOptions): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await beforeDrain?.();
  // Keep-alive sockets with no request in flight would hold server.close() open for their timeout.
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
    timer.unref();
  });
  await Promise.race([closed, deadline]);
  clearTimeout(timer);
  await closed;
  await close?.();
}
