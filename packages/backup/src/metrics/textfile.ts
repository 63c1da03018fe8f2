import fs from 'node:fs/promises';
import path from 'node:path';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Gauge {
  name: string;
  help: string;
  samples: Sample[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/**
 * Gauges in the Prometheus text format, for node_exporter's textfile collector. No sample
 * timestamps: the collector refuses files that carry them.
 */
export function formatGauges(gauges: Gauge[]): string {
  const lines: string[] = [];
  for (const gauge of gauges) {
    if (gauge.samples.length === 0) continue;
    lines.push(`# HELP ${gauge.name} ${escapeHelp(gauge.help)}`, `# TYPE ${gauge.name} gauge`);
    for (const { labels, value } of gauge.samples) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${gauge.name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${value}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * Replaces `file` in one step (write a sibling, then rename), so the collector never reads half a
 * file. The sibling ends in `.tmp`, which the collector (it reads `*.prom`) ignores.
 */
export async function writeTextfile(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await fs.writeFile(temp, text, { mode: 0o644 });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** Seconds since the epoch, as Prometheus timestamps are. */
export const epochSeconds = (d: Date) => d.getTime() / 1000;
