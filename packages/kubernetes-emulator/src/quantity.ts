/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource, quantity.go): parsing,
 * the canonical form the API server stores and prints (`0.5` -> `500m`, `1536Mi`, `2k`),
 * addition and comparison. Values are held exactly in nano units; finer values round up, as
 * upstream does.
 */
import { badRequest } from './status.js';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value times 10^9. */
  readonly nanos: bigint;
  /** How the canonical form is written (from the suffix it was parsed with). */
  readonly format: QuantityFormat;
}

/** Quantity syntax as ParseQuantity accepts it. */
export const QUANTITY_RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const NANO = 1_000_000_000n;

/** Thrown for text that is not a quantity; callers turn it into their own error. */
export class QuantityError extends Error {
  override readonly name = 'QuantityError';
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Parses `text` (`500m`, `1.5Gi`, `1e3`, `2`); throws QuantityError when it is none. */
export function parseQuantity(text: string | number): Quantity {
  const s = typeof text === 'number' ? String(text) : text.trim();
  const m = QUANTITY_RE.exec(s);
  if (!m || s === '')
    throw new QuantityError(`quantities must match the regular expression '${QUANTITY_RE.source}'`);
  const number = m[1] as string;
  const suffix = m[2] as string;
  let format: QuantityFormat;
  let scale10 = 0;
  let scale1024 = 0;
  if (suffix in DECIMAL_SUFFIXES) {
    format = 'DecimalSI';
    scale10 = DECIMAL_SUFFIXES[suffix] as number;
  } else if (suffix in BINARY_SUFFIXES) {
    format = 'BinarySI';
    scale1024 = BINARY_SUFFIXES[suffix] as number;
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    format = 'DecimalExponent';
    scale10 = Number(suffix.slice(1));
  } else throw new QuantityError("unable to parse quantity's suffix");
  const digits = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(number);
  if (!digits || (digits[2] === '' && (digits[3] ?? '') === ''))
    throw new QuantityError(`quantities must match the regular expression '${QUANTITY_RE.source}'`);
  const negative = digits[1] === '-';
  const whole = digits[2] ?? '';
  const fraction = digits[3] ?? '';
  // value = int(whole+fraction) * 10^(scale10 - len(fraction)) * 1024^scale1024, in nanos.
  const mantissa = BigInt(`${whole}${fraction}` || '0') * 1024n ** BigInt(scale1024);
  const exponent = scale10 - fraction.length + 9;
  let nanos: bigint;
  if (exponent >= 0) nanos = mantissa * pow10(exponent);
  else {
    const divisor = pow10(-exponent);
    nanos = mantissa / divisor;
    if (mantissa % divisor !== 0n) nanos += 1n; // finer than a nano: round up
  }
  return { nanos: negative ? -nanos : nanos, format };
}

/** Whether `text` parses as a quantity. */
export function isQuantity(text: unknown): boolean {
  if (typeof text !== 'string' && typeof text !== 'number') return false;
  try {
    parseQuantity(text);
    return true;
  } catch {
    return false;
  }
}

function removeFactors(value: bigint, base: bigint): { amount: bigint; times: number } {
  let amount = value;
  let times = 0;
  while (amount !== 0n && amount % base === 0n) {
    amount /= base;
    times++;
  }
  return { amount, times };
}

const DECIMAL_BY_EXPONENT = new Map(
  Object.entries(DECIMAL_SUFFIXES).map(([suffix, exp]) => [exp, suffix]),
);
const BINARY_BY_EXPONENT = new Map(
  Object.entries(BINARY_SUFFIXES).map(([suffix, exp]) => [exp, suffix]),
);

/** The canonical form (Quantity.String()): how the API server stores and prints a quantity. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  let format = q.format;
  if (
    format === 'BinarySI' &&
    (q.nanos % NANO !== 0n || (q.nanos > -1024n * NANO && q.nanos < 1024n * NANO))
  )
    format = 'DecimalSI'; // small or fractional binary values print in decimal, without rounding
  if (format === 'BinarySI') {
    const { amount, times } = removeFactors(q.nanos / NANO, 1024n);
    return `${amount}${BINARY_BY_EXPONENT.get(times) ?? ''}`;
  }
  const removed = removeFactors(q.nanos, 10n);
  let amount = removed.amount;
  let exponent = removed.times - 9;
  // Exponents in steps of three (Go's % keeps the sign).
  const r = exponent % 3;
  if (r === 1 || r === -2) {
    amount *= 10n;
    exponent -= 1;
  } else if (r === 2 || r === -1) {
    amount *= 100n;
    exponent -= 2;
  }
  if (format === 'DecimalExponent') return exponent === 0 ? `${amount}` : `${amount}e${exponent}`;
  const suffix = DECIMAL_BY_EXPONENT.get(exponent);
  return suffix === undefined ? `${amount}e${exponent}` : `${amount}${suffix}`;
}

/** `text` in its canonical form; unchanged when it is not a quantity. */
export function canonicalQuantity(text: unknown): unknown {
  if (typeof text !== 'string' && typeof text !== 'number') return text;
  try {
    return formatQuantity(parseQuantity(text));
  } catch {
    return text;
  }
}

/** Quantity.Add: the sum keeps the left operand's format unless that operand is zero. */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

export function compareQuantities(a: Quantity, b: Quantity): number {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

export const ZERO: Quantity = { nanos: 0n, format: 'DecimalSI' };

/** MilliValue(): thousandths, rounded up. */
export function milliValue(q: Quantity): bigint {
  const d = 1_000_000n;
  const v = q.nanos / d;
  return q.nanos % d > 0n ? v + 1n : v;
}

/** A map of resource name -> quantity text (a ResourceList) with every value canonical. */
export function canonicalResourceList(list: unknown, field: string): unknown {
  if (typeof list !== 'object' || list === null || Array.isArray(list)) return list;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(list)) {
    try {
      out[k] = formatQuantity(parseQuantity(v as string));
    } catch {
      throw badRequest(
        `quantities must match the regular expression '${QUANTITY_RE.source}' (${field}[${k}])`,
      );
    }
  }
  return out;
}

/** Parses each value of a ResourceList (values already validated). */
export function resourceListOf(list: unknown): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  if (typeof list !== 'object' || list === null || Array.isArray(list)) return out;
  for (const [k, v] of Object.entries(list)) {
    try {
      out.set(k, parseQuantity(v as string));
    } catch {
      // not a quantity: validation reports it
    }
  }
  return out;
}

/** prettyPrint of the quota plugin: `k=v` sorted by key, joined with commas. */
export function printResourceList(list: Map<string, Quantity>): string {
  return [...list.keys()]
    .sort()
    .map((k) => `${k}=${formatQuantity(list.get(k) as Quantity)}`)
    .join(',');
}
