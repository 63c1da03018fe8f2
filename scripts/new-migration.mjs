#!/usr/bin/env node
// pnpm migrate:new <snake_case_name> → packages/db/migrations/NNNN_<name>.sql (next number).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: pnpm migrate:new <snake_case_name>');
  process.exit(2);
}
const dir = path.join(
  path.dirname(path.dirname(fileURLToPath(import.meta.url))),
  'packages',
  'db',
  'migrations',
);
const last = fs
  .readdirSync(dir)
  .map((f) => Number(/^(\d{4})_/.exec(f)?.[1] ?? 0))
  .reduce((a, b) => Math.max(a, b), 0);
const file = path.join(dir, `${String(last + 1).padStart(4, '0')}_${name}.sql`);
fs.writeFileSync(
  file,
  `-- ${name}\n-- Tenant tables: user_id FK to user_sessions(id) on delete cascade, an index leading with\n-- user_id, row-level security with a policy on app.user_id, grants to tenantmesh_runtime only.\n`,
  { flag: 'wx' },
);
console.log(path.relative(process.cwd(), file));
