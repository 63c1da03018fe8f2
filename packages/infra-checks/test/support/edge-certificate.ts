import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const OPENSSL = '/usr/bin/openssl';

export interface Certificate {
  certificate: string;
  key: string;
}

/** A self-signed certificate for localhost, valid for a day, written into dir. */
export function createSelfSignedCertificate(dir: string): Certificate {
  const certificate = path.join(dir, 'edge-cert.pem');
  const key = path.join(dir, 'edge-key.pem');
  execFileSync(
    OPENSSL,
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1'],
      ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', certificate],
    ],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return { certificate, key };
}
