/**
 * Label and field selectors with the grammar of k8s.io/apimachinery/pkg/{labels,fields}.
 * Parse errors become 400 BadRequest at the HTTP layer.
 */
import { isLabelKey, isLabelValue } from './validation.js';

export type LabelRequirement =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: Set<string> }
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'gt' | 'lt'; key: string; value: number };

export type Labels = Readonly<Record<string, string>> | undefined;

export class SelectorParseError extends Error {
  override readonly name = 'SelectorParseError';
}

/** A parsed label selector; `matches` is what list and watch filters call per object. */
export class LabelSelector {
  constructor(readonly requirements: readonly LabelRequirement[]) {}

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Labels): boolean {
    for (const r of this.requirements) {
      const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
      const v = has ? labels[r.key] : undefined;
      switch (r.op) {
        case 'exists':
          if (!has) return false;
          break;
        case 'notexists':
          if (has) return false;
          break;
        case 'eq':
          if (!has || v !== r.value) return false;
          break;
        case 'neq':
          if (has && v === r.value) return false;
          break;
        case 'in':
          if (!has || !r.values.has(v as string)) return false;
          break;
        case 'notin':
          if (has && r.values.has(v as string)) return false;
          break;
        case 'gt':
        case 'lt': {
          if (!has) return false;
          const n = Number(v);
          if (!/^-?\d+$/.test(v as string)) return false;
          if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false;
          break;
        }
      }
    }
    return true;
  }
}

const EMPTY_LABEL_SELECTOR = new LabelSelector([]);

type Token = { kind: 'id' | 'op' | 'comma' | 'open' | 'close' | 'not'; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
      continue;
    }
    if (c === ',') {
      tokens.push({ kind: 'comma', text: c });
      i++;
    } else if (c === '(') {
      tokens.push({ kind: 'open', text: c });
      i++;
    } else if (c === ')') {
      tokens.push({ kind: 'close', text: c });
      i++;
    } else if (c === '!' && input[i + 1] === '=') {
      tokens.push({ kind: 'op', text: '!=' });
      i += 2;
    } else if (c === '!') {
      tokens.push({ kind: 'not', text: '!' });
      i++;
    } else if (c === '=' && input[i + 1] === '=') {
      tokens.push({ kind: 'op', text: '==' });
      i += 2;
    } else if (c === '=' || c === '>' || c === '<') {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else {
      let j = i;
      while (j < input.length && !' \t\n,()!=<>'.includes(input[j] as string)) j++;
      const text = input.slice(i, j);
      tokens.push({ kind: 'id', text });
      i = j;
    }
  }
  return tokens;
}

function checkKey(key: string): void {
  const errs = isLabelKey(key);
  if (errs.length > 0)
    throw new SelectorParseError(
      `unable to parse requirement: values[0][${key}]: Invalid value: "${key}": ${errs.join('; ')}`,
    );
}

function checkValue(key: string, value: string): void {
  const errs = isLabelValue(value);
  if (errs.length > 0)
    throw new SelectorParseError(
      `unable to parse requirement: values[0][${key}]: Invalid value: "${value}": ${errs.join('; ')}`,
    );
}

/** Parses `a=b,c!=d,e in (f,g),!h,i`. Throws SelectorParseError. */
export function parseLabelSelector(input: string | undefined): LabelSelector {
  if (input === undefined || input.trim() === '') return EMPTY_LABEL_SELECTOR;
  const tokens = tokenize(input);
  const reqs: LabelRequirement[] = [];
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const fail = (found: Token | undefined, expected: string): never => {
    throw new SelectorParseError(
      `unable to parse requirement: found '${found ? found.text : ''}', expected: ${expected}`,
    );
  };
  for (;;) {
    let t = peek();
    if (t === undefined) fail(t, 'identifier');
    if (t!.kind === 'not') {
      i++;
      t = peek();
      if (t === undefined || t.kind !== 'id') fail(t, "identifier after '!'");
      checkKey(t!.text);
      reqs.push({ op: 'notexists', key: t!.text });
      i++;
    } else if (t!.kind === 'id') {
      const key = t!.text;
      checkKey(key);
      i++;
      const op = peek();
      if (op === undefined || op.kind === 'comma') {
        reqs.push({ op: 'exists', key });
      } else if (op.kind === 'op') {
        i++;
        const v = peek();
        let value = '';
        if (v !== undefined && v.kind === 'id') {
          value = v.text;
          i++;
        } else if (op.text === '>' || op.text === '<') {
          fail(v, 'integer value');
        }
        if (op.text === '>' || op.text === '<') {
          if (!/^-?\d+$/.test(value))
            throw new SelectorParseError(
              `unable to parse requirement: for 'gt', 'lt' operators, the value must be an integer`,
            );
          reqs.push({ op: op.text === '>' ? 'gt' : 'lt', key, value: Number(value) });
        } else {
          checkValue(key, value);
          reqs.push({ op: op.text === '!=' ? 'neq' : 'eq', key, value });
        }
      } else if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        i++;
        if (peek()?.kind !== 'open') fail(peek(), "'('");
        i++;
        const values = new Set<string>();
        for (;;) {
          const v = peek();
          if (v === undefined) fail(v, "')'");
          if (v!.kind === 'close') {
            i++;
            break;
          }
          if (v!.kind === 'comma') {
            i++;
            continue;
          }
          if (v!.kind !== 'id') fail(v, 'value');
          checkValue(key, v!.text);
          values.add(v!.text);
          i++;
        }
        if (values.size === 0 && op.text === 'in')
          throw new SelectorParseError(
            `unable to parse requirement: values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`,
          );
        reqs.push({ op: op.text as 'in' | 'notin', key, values });
      } else {
        fail(op, 'in, notin, =, ==, !=, gt, lt');
      }
    } else {
      fail(t, 'identifier');
    }
    const sep = peek();
    if (sep === undefined) break;
    if (sep.kind !== 'comma') fail(sep, "',' or 'end of string'");
    i++;
  }
  return new LabelSelector(reqs);
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** Parses `a=b,c!=d` (with `\` escapes). Throws SelectorParseError on bad syntax. */
export function parseFieldSelector(input: string | undefined): FieldRequirement[] {
  if (input === undefined || input.trim() === '') return [];
  const reqs: FieldRequirement[] = [];
  // One pass over the characters: `\x` is a literal x; `,` ends a term; the first unescaped
  // `!=`, `==` or `=` splits field from value.
  let field: string | undefined;
  let op = '';
  let cur = '';
  let term = '';
  const finish = (): void => {
    if (field === undefined || field.trim() === '')
      throw new SelectorParseError(`invalid selector: '${input}'; can't understand '${term}'`);
    reqs.push({ field: field.trim(), value: cur, negate: op === '!=' });
    field = undefined;
    op = '';
    cur = '';
    term = '';
  };
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (c === '\\' && i + 1 < input.length) {
      cur += input[i + 1];
      term += c + input[i + 1];
      i++;
      continue;
    }
    if (c === ',') {
      finish();
      continue;
    }
    term += c;
    if (field === undefined && (c === '=' || (c === '!' && input[i + 1] === '='))) {
      field = cur;
      cur = '';
      if (c === '!' || input[i + 1] === '=') {
        op = c === '!' ? '!=' : '==';
        term += input[i + 1];
        i++;
      } else op = '=';
      continue;
    }
    cur += c;
  }
  finish();
  return reqs;
}

/** True when every requirement holds; `get` returns the object's value of a field. */
export function matchFields(
  reqs: readonly FieldRequirement[],
  get: (field: string) => string | undefined,
): boolean {
  for (const r of reqs) {
    const v = get(r.field) ?? '';
    if (r.negate ? v === r.value : v !== r.value) return false;
  }
  return true;
}
