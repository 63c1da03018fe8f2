import { spawn } from 'node:child_process';

/**
 * Starts `redis-server` from PATH on a port, keeping nothing on disk. Resolves once it accepts
 * connections, or with the reason it could not (no binary, early exit) — never hangs.
 */
export function startRedisServer(
  port: number,
  command = 'redis-server',
): Promise<{ ok: true; stop: () => Promise<void> } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      command,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve({
        ok: false,
        reason:
          error.code === 'ENOENT' ? `there is no ${command} on PATH` : `${command} failed: ${error.message}`,
      }),
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) resolve({ ok: true, stop });
    });
    child.once('exit', (code) => resolve({ ok: false, reason: `${command} exited with code ${code}` }));
  });
}
