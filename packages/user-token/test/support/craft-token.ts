import { createHmac, type KeyObject, sign } from 'node:crypto';

/**
 * Builds a JWT by hand, without jsonwebtoken, so tests can make tokens the library would refuse
 * to make (alg none, mixed algorithms, odd claims) and the verifier cannot share a bug with them.
 */
export function craftToken(
  header: Record<string, unknown>,
  payload: unknown,
  signer: { hmac: 'sha256' | 'sha384'; key: KeyObject } | { rsa: KeyObject } | 'unsigned',
): string {
  const input = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  return `${input}.${signatureOf(input, signer)}`;
}

export function signatureOf(
  input: string,
  signer: { hmac: 'sha256' | 'sha384'; key: KeyObject } | { rsa: KeyObject } | 'unsigned',
): string {
  if (signer === 'unsigned') return '';
  if ('hmac' in signer) return createHmac(signer.hmac, signer.key).update(input).digest('base64url');
  return sign('sha256', Buffer.from(input), signer.rsa).toString('base64url');
}

export function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function segmentsOf(token: string): [string, string, string] {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return [header, payload, signature];
}
