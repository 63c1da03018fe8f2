import { errors } from '@tenantmesh/http-kit';
import { parseObjectName } from '../../names/object-name';

export type ObjectPath = { kind: 'namespace' } | { kind: 'object'; name: string };

/**
 * Reads `/<uid>/` or `/<uid>/<name>` from the RAW request path (req.path under /objects: nothing
 * decoded yet, so `%2f` cannot become a separator). The namespace check comes first: a path whose
 * first segment is not the caller's uid is refused before anything else is looked at.
 */
export function parseObjectPath(rawPath: string, uid: string): ObjectPath {
  const match = /^\/([^/]*)(?:\/(.*))?$/s.exec(rawPath);
  if (!match || match[1] !== uid) throw errors.foreignNamespace();
  const rest = match[2];
  if (rest === undefined || rest === '') return { kind: 'namespace' };
  return { kind: 'object', name: parseObjectName(rest) };
}
