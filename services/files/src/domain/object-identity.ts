/** Where an object version's encrypted bytes live: `<uid>/<version id>`, never its name. */
export function storageKeyOf(uid: string, id: string): string {
  return `${uid}/${id}`;
}

/**
 * Authenticated context of an object version's data key and chunks: a wrapped key or a chunk
 * copied onto another object or another user fails to authenticate.
 */
export function encryptionContextOf(uid: string, id: string): string {
  return `files:v1:${uid}:${id}`;
}
