/**
 * A small PromQL tokenizer, enough to say which metrics and which label names an expression
 * reads — not a parser. Strings, numbers, durations, Grafana variables, function and aggregation
 * names and the keywords are told apart from metric names; anything it does not recognise is an
 * error rather than a guess, so a check built on it cannot pass by skipping what it misread.
 */

export type TokenKind = 'ident' | 'string' | 'number' | 'duration' | 'variable' | 'op' | 'punct';

export interface Token {
  kind: TokenKind;
  text: string;
}

/** PromQL functions as of Prometheus 2.42 (and start()/end() of the @ modifier). */
const FUNCTIONS = new Set([
  'abs',
  'absent',
  'absent_over_time',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'avg_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'cos',
  'cosh',
  'count_over_time',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'deg',
  'delta',
  'deriv',
  'end',
  'exp',
  'floor',
  'histogram_count',
  'histogram_fraction',
  'histogram_quantile',
  'histogram_stddev',
  'histogram_stdvar',
  'histogram_sum',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'last_over_time',
  'ln',
  'log10',
  'log2',
  'max_over_time',
  'min_over_time',
  'minute',
  'month',
  'pi',
  'predict_linear',
  'present_over_time',
  'quantile_over_time',
  'rad',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sin',
  'sinh',
  'sort',
  'sort_desc',
  'sqrt',
  'start',
  'stddev_over_time',
  'stdvar_over_time',
  'sum_over_time',
  'tan',
  'tanh',
  'time',
  'timestamp',
  'vector',
  'year',
]);

const AGGREGATIONS = new Set([
  'avg',
  'bottomk',
  'count',
  'count_values',
  'group',
  'max',
  'min',
  'quantile',
  'stddev',
  'stdvar',
  'sum',
  'topk',
]);

/** Followed by a parenthesised list of label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Binary operators and modifiers spelled as words. */
const WORD_OPERATORS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2']);

const OPERATORS = ['=~', '!~', '!=', '==', '>=', '<=', '=', '>', '<', '+', '-', '*', '/', '%', '^', '@'];
const MATCH_OPERATORS = new Set(['=', '!=', '=~', '!~']);

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+(?![A-Za-z0-9_])/;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![A-Za-z_])/;
// Metric names may start with ':' too, but ours never do, and a subquery's [1h:1m] needs ':' as punctuation.
const IDENT = /^[A-Za-z_][A-Za-z0-9_:]*/;
// Grafana: ${name}, ${name:format}, $name, $__rate_interval, [[name]].
const VARIABLE = /^(?:\$\{[^}]+\}|\$[A-Za-z0-9_]+|\[\[[A-Za-z0-9_:.]+\]\])/;

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const ch = expr[i]!;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    if (ch === '#') {
      const end = expr.indexOf('\n', i);
      i = end === -1 ? expr.length : end + 1;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== ch) j += ch !== '`' && expr[j] === '\\' ? 2 : 1;
      if (j >= expr.length) throw new Error(`unterminated string at ${i} in: ${expr}`);
      tokens.push({ kind: 'string', text: expr.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const variable = VARIABLE.exec(rest);
    if (variable) {
      tokens.push({ kind: 'variable', text: variable[0] });
      i += variable[0].length;
      continue;
    }
    const duration = DURATION.exec(rest);
    if (duration) {
      tokens.push({ kind: 'duration', text: duration[0] });
      i += duration[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0] });
      i += number[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      const lower = ident[0].toLowerCase();
      tokens.push({ kind: lower === 'inf' || lower === 'nan' ? 'number' : 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'op', text: op });
      i += op.length;
      continue;
    }
    if ('(){}[],:'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch });
      i += 1;
      continue;
    }
    throw new Error(`unexpected ${JSON.stringify(ch)} at ${i} in: ${expr}`);
  }
  return tokens;
}

export interface PromqlReferences {
  /** Metric names the expression selects (including `{__name__="x"}`). */
  metrics: string[];
  /** Label names it matches on, groups by or joins on. */
  labels: string[];
  /** Functions and aggregations it calls. */
  functions: string[];
}

const sorted = (set: Set<string>) => [...set].sort();

/** Which metrics, labels and functions a PromQL expression uses. Throws on anything unrecognised. */
export function promqlReferences(expr: string): PromqlReferences {
  const tokens = tokenize(expr);
  const metrics = new Set<string>();
  const labels = new Set<string>();
  const functions = new Set<string>();
  const fail = (at: number, why: string): never => {
    throw new Error(`${why} at token ${at} (${JSON.stringify(tokens[at]?.text)}) in: ${expr}`);
  };

  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && token.text === '{') {
      i = readMatchers(i + 1);
      continue;
    }
    if (token.kind !== 'ident') {
      i += 1;
      continue;
    }
    const word = token.text;
    const next = tokens[i + 1];
    const opensCall = next?.kind === 'punct' && next.text === '(';
    if (LABEL_LIST_KEYWORDS.has(word.toLowerCase())) {
      if (opensCall) i = readLabelList(i + 2);
      else if (word.startsWith('group_')) i += 1;
      else fail(i, `"${word}" without a label list`);
      continue;
    }
    if (WORD_OPERATORS.has(word.toLowerCase())) {
      i += 1;
      continue;
    }
    const groupsFirst = next?.kind === 'ident' && ['by', 'without'].includes(next.text.toLowerCase());
    if (opensCall || groupsFirst) {
      if (!FUNCTIONS.has(word) && !AGGREGATIONS.has(word)) fail(i, `unknown function "${word}"`);
      if (groupsFirst && !AGGREGATIONS.has(word)) fail(i, `"${word}" is not an aggregation`);
      functions.add(word);
      i += 1;
      continue;
    }
    metrics.add(word);
    i += 1;
  }
  return { metrics: sorted(metrics), labels: sorted(labels), functions: sorted(functions) };

  /** From just after `{` to just after its `}`: `name op "value"`, comma separated. */
  function readMatchers(start: number): number {
    let j = start;
    while (j < tokens.length && tokens[j]!.text !== '}') {
      const name = tokens[j];
      const op = tokens[j + 1];
      const value = tokens[j + 2];
      if (name?.kind !== 'ident' || op?.kind !== 'op' || !MATCH_OPERATORS.has(op.text)) {
        fail(j, 'expected a label matcher');
      }
      if (value?.kind !== 'string' && value?.kind !== 'variable')
        fail(j + 2, 'expected a quoted label value');
      if (name!.text === '__name__') {
        if (op!.text === '=' && value!.kind === 'string') metrics.add(value!.text);
        else fail(j, 'only __name__="exact" can be checked');
      } else {
        labels.add(name!.text);
      }
      j += 3;
      if (tokens[j]?.text === ',') j += 1;
    }
    if (j >= tokens.length) fail(start, 'unclosed {');
    return j + 1;
  }

  /** From just after `(` to just after its `)`: label names, comma separated. */
  function readLabelList(start: number): number {
    let j = start;
    while (j < tokens.length && tokens[j]!.text !== ')') {
      const name = tokens[j]!;
      if (name.kind !== 'ident') fail(j, 'expected a label name');
      labels.add(name.text);
      j += 1;
      if (tokens[j]?.text === ',') j += 1;
    }
    if (j >= tokens.length) fail(start, 'unclosed label list');
    return j + 1;
  }
}

/**
 * A Grafana template-variable query for a Prometheus datasource, as PromQL plus the label it
 * reads: `label_values(expr, label)`, `label_values(label)`, `query_result(expr)`, or plain
 * PromQL.
 */
export function grafanaVariableQuery(query: string): { expr: string | undefined; label: string | undefined } {
  const trimmed = query.trim();
  const labelValues = /^label_values\(\s*(.*?)\s*(?:,\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?\)$/s.exec(trimmed);
  if (labelValues) {
    const [, first, second] = labelValues;
    return second ? { expr: first, label: second } : { expr: undefined, label: first };
  }
  const queryResult = /^query_result\((.*)\)$/s.exec(trimmed);
  if (queryResult) return { expr: queryResult[1], label: undefined };
  return { expr: trimmed, label: undefined };
}

/**
 * The expression Prometheus would receive from Grafana, with its variables given typical values:
 * intervals become 1m, `$__range` 1h, and every other variable (a multi-value `$instance`, say)
 * the regex `.*` (they only ever appear inside =~ matchers in our dashboards).
 */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$\{?__(?:rate_interval|interval|range)(?::[a-z]+)?\}?/g, (m) =>
      m.includes('range') ? '1h' : '1m',
    )
    .replace(/\$\{[^}]+\}|\$[A-Za-z0-9_]+|\[\[[A-Za-z0-9_:.]+\]\]/g, '.*');
}
