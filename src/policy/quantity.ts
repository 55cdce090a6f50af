/**
 * Kubernetes resource quantities ("500m", "2", "128Mi", "1e3", "1.5Gi"), parsed exactly as a
 * fraction of two bigints so comparisons never suffer float rounding ("0.1" + "0.2" style) and
 * huge binary suffixes stay exact.
 *
 * Grammar (k8s.io/apimachinery resource.Quantity), without a sign since podbus never accepts
 * negative resources:
 *   number   = digits | digits "." [digits] | "." digits
 *   suffix   = binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (n u m "" k M G T P E) | ("e"|"E") signed-integer
 * "1E" is one exa, "1E3" is one thousand; "1K" and "1e" are invalid, as in Kubernetes.
 */
export interface Quantity {
  /** The text as written. */
  readonly text: string;
  readonly numerator: bigint;
  readonly denominator: bigint;
}

export type QuantityResult =
  | { readonly ok: true; readonly quantity: Quantity }
  | { readonly ok: false; readonly problem: string };

const QUANTITY =
  /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([-+]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]))?$/;

/** Exponents beyond this are far outside any CPU or memory bound and would only cost bigints. */
const MAX_EXPONENT = 30;
const MAX_LENGTH = 64;

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL_EXPONENT: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

export const QUANTITY_EXAMPLES = '"500m", "2", "128Mi" or "1Gi"';

export function parseQuantity(input: string | number): QuantityResult {
  const text = typeof input === 'number' ? String(input) : input;
  const match = text.length <= MAX_LENGTH ? QUANTITY.exec(text) : null;
  if (!match) {
    return {
      ok: false,
      problem: `"${text}" is not a Kubernetes quantity such as ${QUANTITY_EXAMPLES}`,
    };
  }
  const [, number = '', exponent, binary, decimal] = match;
  const [whole = '', fraction = ''] = number.split('.');
  let numerator = BigInt(`${whole}${fraction}` || '0');
  let denominator = 10n ** BigInt(fraction.length);
  let power = 0;
  if (exponent !== undefined) power = Number(exponent);
  if (decimal !== undefined) power = DECIMAL_EXPONENT[decimal] ?? 0;
  if (Math.abs(power) > MAX_EXPONENT) {
    return { ok: false, problem: `"${text}" is out of range` };
  }
  if (power > 0) numerator *= 10n ** BigInt(power);
  if (power < 0) denominator *= 10n ** BigInt(-power);
  if (binary !== undefined) numerator *= BINARY[binary] ?? 1n;
  return { ok: true, quantity: { text, numerator, denominator } };
}

/** Negative, zero or positive as `a` is less than, equal to or greater than `b`. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** True for a quantity of exactly zero ("0", "0m", "0Gi", "0.0", "0e3"). */
export function isZeroQuantity(quantity: Quantity): boolean {
  return quantity.numerator === 0n;
}

/** The quantity for `text`, or an Error naming it: for values already validated upstream. */
export function mustParseQuantity(text: string): Quantity {
  const result = parseQuantity(text);
  if (!result.ok) throw new Error(result.problem);
  return result.quantity;
}
