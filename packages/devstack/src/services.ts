import fs from 'node:fs';
import path from 'node:path';

export interface DevService {
  name: string;
  port: number;
  main: string;
}

/** Fixed dev ports, offset by DEV_PORT_BASE (default 3000): gateway +0, auth +1, files +2, … */
const PORT_OFFSETS: Record<string, number> = { gateway: 0, auth: 1, files: 2, events: 3, jobs: 4, notes: 5 };

/** Every service that exists in this checkout (services/<name>/dist/main.js), in start order. */
export function discoverServices(root: string, portBase: number): DevService[] {
  const dir = path.join(root, 'services');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, 'dist', 'main.js')))
    .sort((a, b) => (PORT_OFFSETS[a] ?? 99) - (PORT_OFFSETS[b] ?? 99) || a.localeCompare(b))
    .map((name, i) => ({
      name,
      port: portBase + (PORT_OFFSETS[name] ?? 10 + i),
      main: path.join(dir, name, 'dist', 'main.js'),
    }));
}
