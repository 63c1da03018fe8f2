import type { JobType } from '../job-types';
import { accountPurge } from './account-purge';
import { filesExport } from './files-export';

export { accountPurge } from './account-purge';
export { filesExport } from './files-export';

/** Every job type this service runs. */
export const JOB_TYPES: readonly JobType[] = [filesExport, accountPurge];

/** The types by their `type` name; two types with one name is a wiring bug, refused at boot. */
export function jobTypesByName(types: readonly JobType[] = JOB_TYPES): ReadonlyMap<string, JobType> {
  const byName = new Map<string, JobType>();
  for (const type of types) {
    if (byName.has(type.type)) throw new Error(`two job types are named ${type.type}`);
    byName.set(type.type, type);
  }
  return byName;
}
