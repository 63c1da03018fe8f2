import { Writable } from 'node:stream';

/** A stream that keeps everything written to it (e.g. a test logger's output), chunk by chunk. */
export function lineCollector(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { stream, lines };
}
