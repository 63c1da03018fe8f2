/** What one /metrics scrape (Prometheus text format 0.0.4) says a service exports. */
export interface Exposition {
  /** Every series name with samples, mapped to the label names seen on it. */
  series: Map<string, Set<string>>;
  /** `# TYPE` per family name. */
  types: Map<string, string>;
}

/** Names a family of each type exposes: a histogram `x` is `x_bucket`, `x_sum` and `x_count`. */
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  counter: [''],
  gauge: [''],
  untyped: [''],
};

export function parseExposition(text: string): Exposition {
  const series = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      continue;
    }
    const { name, labels } = parseSample(line, index + 1);
    const seen = series.get(name) ?? new Set<string>();
    for (const label of labels) seen.add(label);
    series.set(name, seen);
  }
  return { series, types };
}

/** `name{a="x",b="y"} value [timestamp]` → name and label names; label values may hold any character. */
function parseSample(line: string, lineNumber: number): { name: string; labels: string[] } {
  const fail = (why: string): never => {
    throw new Error(`/metrics line ${lineNumber}: ${why}: ${line}`);
  };
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? fail('no metric name');
  const labels: string[] = [];
  let i = name.length;
  if (line[i] === '{') {
    i += 1;
    while (line[i] !== '}') {
      const label = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i)) ?? fail('bad label');
      labels.push(label[1]!);
      i += label[0].length;
      while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      if (i >= line.length) fail('unterminated label value');
      i += 1;
      const after = /^\s*,?\s*/.exec(line.slice(i))!;
      i += after[0].length;
      if (i >= line.length) fail('unclosed {');
    }
    i += 1;
  }
  if (!/^\s+\S+(\s+-?\d+)?\s*$/.test(line.slice(i))) fail('bad value');
  return { name, labels };
}

/**
 * Every name a PromQL query can select from this scrape: the series with samples, plus the
 * names each declared histogram or summary family exposes (a histogram nobody has observed yet
 * has no samples, but its `_bucket` is still the service's to export).
 */
export function exportedNames(exposition: Exposition): Set<string> {
  const names = new Set(exposition.series.keys());
  for (const [family, type] of exposition.types) {
    for (const suffix of SUFFIXES[type] ?? ['']) names.add(`${family}${suffix}`);
  }
  return names;
}
