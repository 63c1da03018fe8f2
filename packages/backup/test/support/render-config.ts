/**
 * Takes a committed INI-style config (pgbackrest.conf) and replaces or adds the given options per
 * section, keeping every other line: the tests run with the committed retention, cipher and
 * compression settings, and only the paths a test machine needs changed.
 */
export function renderIni(text: string, overrides: Record<string, Record<string, string>>): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let section = '';
  const pending = new Map(Object.entries(overrides).map(([s, o]) => [s, new Map(Object.entries(o))]));
  const flush = () => {
    const left = pending.get(section);
    if (left) for (const [key, value] of left) out.push(`${key}=${value}`);
    pending.delete(section);
  };
  for (const line of lines) {
    const header = /^\[(.+)\]\s*$/.exec(line);
    if (header) {
      flush();
      section = header[1]!;
      out.push(line);
      continue;
    }
    const option = /^([a-z0-9-]+)=/.exec(line);
    const replacement = option ? pending.get(section)?.get(option[1]!) : undefined;
    if (option && replacement !== undefined) {
      out.push(`${option[1]}=${replacement}`);
      pending.get(section)!.delete(option[1]!);
    } else {
      out.push(line);
    }
  }
  flush();
  for (const [name, options] of pending) {
    out.push(`[${name}]`, ...[...options].map(([k, v]) => `${k}=${v}`));
  }
  return `${out.join('\n')}\n`;
}

/** The value of `key` in `section` of an INI text, if set. */
export function readIni(text: string, section: string, key: string): string | undefined {
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]\s*$/.exec(line);
    if (header) current = header[1]!;
    else if (current === section && line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  }
  return undefined;
}
