import { errors } from '@tenantmesh/http-kit';
import contentDisposition from 'content-disposition';
import contentType from 'content-type';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

// Shown inline only when a browser cannot run it. Everything else — HTML, SVG, XML, JavaScript,
// PDF, unknown types — downloads as an attachment, so a user's upload never runs as our origin.
const INLINE_SAFE = new Set([
  'text/plain',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'audio/mpeg',
  'audio/ogg',
  'video/mp4',
  'video/webm',
]);

/** The stored type of an upload: the client's Content-Type, parsed and re-serialised, or octet-stream. */
export function storedContentType(header: string | undefined): string {
  if (header === undefined || header.trim() === '') return DEFAULT_CONTENT_TYPE;
  let parsed: contentType.ParsedMediaType;
  try {
    parsed = contentType.parse(header);
  } catch {
    throw errors.badRequest('the Content-Type header is not a valid media type');
  }
  const formatted = contentType.format(parsed);
  if (formatted.length > 255) throw errors.badRequest('the Content-Type header is too long');
  return formatted;
}

/** Content-Disposition for a download: attachment unless the type is on the inline-safe list. */
export function dispositionFor(name: string, type: string): string {
  const essence = type.split(';')[0]?.trim().toLowerCase() ?? '';
  return contentDisposition(name, { type: INLINE_SAFE.has(essence) ? 'inline' : 'attachment' });
}
