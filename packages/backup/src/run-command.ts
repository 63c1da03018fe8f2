import { spawn } from 'node:child_process';

export interface CommandOptions {
  /**
   * Run as this OS user (through `runuser -u USER --`). PostgreSQL refuses to run as root, and
   * pgBackRest must write files the cluster's user owns; only honoured when we are root.
   */
  runAs?: string | undefined;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The argv that runs `command` as `runAs` when we are root, or as ourselves otherwise. */
export function commandLine(command: string, args: string[], runAs?: string): [string, string[]] {
  if (runAs && process.getuid?.() === 0) return ['runuser', ['-u', runAs, '--', command, ...args]];
  return [command, args];
}

/**
 * Runs a program without a shell (arguments are never re-parsed, so a path or a target time
 * cannot inject anything) and resolves with its output, or rejects with a CommandError that
 * carries the tail of stderr: pgBackRest and pg_ctl explain their failures there.
 */
export function runCommand(
  command: string,
  args: string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const [file, argv] = commandLine(command, args, options.runAs);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGTERM',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', (error) =>
      reject(new CommandError(`${command}: ${error.message}`, null, stdout, stderr)),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve({ stdout, stderr });
      const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = (stderr.trim() || stdout.trim()).split('\n').slice(-8).join('\n');
      // Only paths, options and verbs are on command lines here; secrets never are (see pgbackrest-run).
      reject(
        new CommandError(
          `${[command, ...args].join(' ')} ${why}${tail ? `:\n${tail}` : ''}`,
          code,
          stdout,
          stderr,
        ),
      );
    });
  });
}
