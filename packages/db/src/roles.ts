/** Role names are part of the schema contract: migrations grant to RUNTIME_GROUP_ROLE. */
export const OWNER_ROLE = 'tenantmesh_owner';
/** NOLOGIN group role holding the DML-only grants; runtime login roles are its members. */
export const RUNTIME_GROUP_ROLE = 'tenantmesh_runtime';
export const DEFAULT_RUNTIME_LOGIN = 'tenantmesh_app';
