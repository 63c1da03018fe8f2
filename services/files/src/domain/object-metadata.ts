import type { DB } from '@tenantmesh/db';
import type { Selectable } from 'kysely';

export interface ObjectMetadata {
  name: string;
  size: number;
  sha256: string;
  contentType: string;
  etag: string;
  createdAt: string;
  updatedAt: string;
}

type Row = Pick<
  Selectable<DB['file_objects']>,
  'name' | 'size' | 'sha256' | 'content_type' | 'created_at' | 'updated_at'
>;

/** A strong validator: the SHA-256 of the plaintext, so equal bytes give equal ETags. */
export function etagOf(sha256: Buffer): string {
  return `"${sha256.toString('hex')}"`;
}

/** The API's view of a row: never the version id, storage key or key material. */
export function toMetadata(row: Row): ObjectMetadata {
  return {
    name: row.name,
    size: Number(row.size),
    sha256: row.sha256.toString('hex'),
    contentType: row.content_type,
    etag: etagOf(row.sha256),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
