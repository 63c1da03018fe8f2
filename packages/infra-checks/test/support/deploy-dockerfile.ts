import { isPinnedImage } from './deploy-repo';

/** One Dockerfile instruction, continuation lines joined, comments dropped. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  /** The FROM reference as written, and with ARG defaults substituted. */
  from: string;
  resolvedFrom: string;
  alias?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG instructions before the first FROM (the only ones FROM may use). */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

export function parseInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let buffer = '';
  let startLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    // Comment lines are dropped, also inside a continued instruction (as Docker does).
    if (trimmed.startsWith('#')) continue;
    if (buffer === '') {
      if (trimmed === '') continue;
      startLine = i + 1;
    }
    if (trimmed.endsWith('\\')) {
      buffer += `${trimmed.slice(0, -1)} `;
      continue;
    }
    buffer += trimmed;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer);
    if (match)
      instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '', line: startLine });
    buffer = '';
  }
  return instructions;
}

function substitute(value: string, args: Map<string, string | undefined>): string {
  return value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => args.get(name) ?? whole);
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--platform'));
      const from = words[0] ?? '';
      const alias = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({
        from,
        resolvedFrom: substitute(from, globalArgs),
        ...(alias ? { alias } : {}),
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [name, value] = instruction.args.split('=', 2) as [string, string | undefined];
        globalArgs.set(name.trim(), value?.trim());
      }
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** FROM lines that are neither a pinned image, `scratch`, nor an earlier stage of the same file. */
export function unpinnedBaseImages(file: Dockerfile): string[] {
  const problems: string[] = [];
  const aliases = new Set<string>();
  for (const stage of file.stages) {
    const ref = stage.resolvedFrom;
    const isStage = aliases.has(ref.toLowerCase());
    if (!isStage && ref !== 'scratch' && (/\$/.test(ref) || !isPinnedImage(ref))) {
      problems.push(`FROM ${stage.from}${ref !== stage.from ? ` (= ${ref})` : ''}`);
    }
    if (stage.alias) aliases.add(stage.alias.toLowerCase());
  }
  return problems;
}

/** The shell commands of every RUN, split at &&, ||, ;, | and newlines. */
function runCommands(file: Dockerfile): { command: string; line: number }[] {
  const commands: { command: string; line: number }[] = [];
  for (const stage of file.stages) {
    for (const instruction of stage.instructions) {
      if (instruction.keyword !== 'RUN') continue;
      // Drop RUN flags (--mount=…, --network=…) before the command itself.
      const body = instruction.args.replace(/^(--\S+\s+)+/, '');
      for (const part of body.split(/&&|\|\||;|\||\n/)) {
        const command = part.trim();
        if (command) commands.push({ command, line: instruction.line });
      }
    }
  }
  return commands;
}

/**
 * Dependency installs that do not come from a lockfile exactly: `pnpm install` without
 * --frozen-lockfile (or --offline after a `pnpm fetch`), `pnpm add`/`update`, `npm install` of a
 * project (use `npm ci`), a global `npm install -g` of anything not pinned to x.y.z, `yarn` without
 * --frozen-lockfile/--immutable.
 */
export function unlockedInstalls(file: Dockerfile): string[] {
  const problems: string[] = [];
  const commands = runCommands(file);
  const fetched = commands.some(({ command }) => /\bpnpm\s+(?:.*\s)?fetch\b/.test(command));
  for (const { command, line } of commands) {
    const words = command.split(/\s+/);
    const tool = words.findIndex((w) => w === 'pnpm' || w === 'npm' || w === 'yarn');
    if (tool < 0) continue;
    const name = words[tool];
    const rest = words.slice(tool + 1);
    const has = (flag: string) => rest.includes(flag);
    const where = `line ${line}: ${command}`;
    if (name === 'pnpm') {
      if (rest.some((w) => w === 'add' || w === 'update' || w === 'up'))
        problems.push(`${where} (changes the lockfile)`);
      if (rest.some((w) => w === 'install' || w === 'i')) {
        if (has('--no-frozen-lockfile')) problems.push(where);
        else if (!has('--frozen-lockfile') && !(has('--offline') && fetched)) problems.push(where);
      }
    } else if (name === 'npm') {
      if (rest.some((w) => w === 'install' || w === 'i' || w === 'add' || w === 'update')) {
        const global = has('-g') || has('--global');
        const packages = rest.filter(
          (w) => !w.startsWith('-') && !['install', 'i', 'add', 'update'].includes(w),
        );
        const pinned = (spec: string) => /^(@[^/]+\/)?[^@]+@\d+\.\d+\.\d+$/.test(spec);
        if (!global || packages.length === 0 || !packages.every(pinned)) problems.push(where);
      }
    } else if (name === 'yarn') {
      const installs = rest.length === 0 || rest[0]?.startsWith('-') || rest[0] === 'install';
      if (installs && !has('--frozen-lockfile') && !has('--immutable')) problems.push(where);
    }
  }
  return problems;
}

/** The user the final stage runs as, or undefined when it never says (and inherits root). */
export function finalUser(file: Dockerfile): string | undefined {
  const final = file.stages[file.stages.length - 1];
  const users = final?.instructions.filter((i) => i.keyword === 'USER') ?? [];
  return users[users.length - 1]?.args.trim();
}

export function isRootUser(user: string | undefined): boolean {
  if (user === undefined) return true;
  const name = user.split(':')[0]?.trim();
  return name === '' || name === 'root' || name === '0';
}

export function finalStage(file: Dockerfile): Stage {
  const final = file.stages[file.stages.length - 1];
  if (!final) throw new Error('no FROM in this Dockerfile');
  return final;
}

export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}
