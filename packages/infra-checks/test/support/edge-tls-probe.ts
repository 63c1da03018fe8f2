import { execFile, spawn } from 'node:child_process';
import { type Certificate, OPENSSL } from './edge-certificate';

export type TlsVersion = 'tls1' | 'tls1_1' | 'tls1_2' | 'tls1_3';

export interface Handshake {
  established: boolean;
  /** The protocol and cipher openssl reports, e.g. "TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384". */
  negotiated: string;
  output: string;
}

// OpenSSL 3 at its default security level refuses TLS 1.0/1.1 on the CLIENT side ("legacy sigalg
// disallowed"), so a plain `s_client -tls1_1` fails against any server and proves nothing. The
// probe lowers its own level to 0: whatever refuses the handshake is then the server.
const WILLING_CLIENT = ['-cipher', 'DEFAULT:@SECLEVEL=0'];

/** One TLS handshake with `openssl s_client -<version>`, offering only that version. */
export function tlsHandshake(port: number, version: TlsVersion): Promise<Handshake> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', `-${version}`];
  return new Promise((resolve) => {
    // stdin is closed at once, so s_client leaves right after the handshake.
    const child = execFile(
      OPENSSL,
      [...args, ...WILLING_CLIENT],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        const output = `${stdout}\n${stderr}`;
        const negotiated = /^New, (.+)$/m.exec(stdout)?.[1] ?? '';
        resolve({ established: !error && !negotiated.includes('(NONE)'), negotiated, output });
      },
    );
    child.stdin?.end();
  });
}

/**
 * The probe's control: an `openssl s_server` that speaks TLS 1.1 and nothing newer. If the probe
 * can complete a handshake here, its failures against the edge are the edge's doing.
 */
export async function startTls11Server(
  port: number,
  certificate: Certificate,
): Promise<{ stop(): Promise<void> }> {
  const child = spawn(
    OPENSSL,
    [
      ...['s_server', '-accept', `127.0.0.1:${port}`, '-cert', certificate.certificate],
      ...['-key', certificate.key, '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'],
    ],
    // s_server stops at end of stdin, so stdin stays an open pipe until stop().
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s_server did not start:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ACCEPT')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`s_server exited:\n${output}`));
    });
  });
  return {
    stop: async () => {
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
