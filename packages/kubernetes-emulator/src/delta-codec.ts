/**
 * A dictionary-delta codec for stored JSON. Objects of one collection are near copies of each
 * other (a pod differs from the next in names, uid, timestamps), so each is encoded as copies of
 * dictionary ranges plus literal text, greedily, in one compact string:
 *
 *   literal chars ... \u0001 o1 o2 l1 l2 ... literal chars ...
 *
 * where `\u0001` starts a copy of `l` chars at dictionary offset `o`, both numbers written as two
 * chars of 7 bits each in 0x80..0xFF (so the result stays a one-byte string). JSON.stringify
 * escapes every control character, so `\u0001` never occurs in the input. Unlike zlib this
 * allocates no native memory (zlib's per-call state fragments the C heap badly at 1,000s of
 * calls per second) and decoding is a handful of string slices.
 */

const MARK = '\u0001';
const MIN_MATCH = 12;
const MAX_REF = 1 << 14; // offsets and lengths fit two 7-bit digits
const SEED = 8; // hashed prefix length
const GOOD_MATCH = 48; // stop searching candidates once a match is this long

function hashAt(s: string, i: number): number {
  let h = 0;
  for (let k = 0; k < SEED; k++) h = (Math.imul(h, 31) + s.charCodeAt(i + k)) | 0;
  return h;
}

/**
 * A copy of `s` that shares no memory with the strings it was built from. V8 represents
 * `a.slice(i)` as a view into `a` and `a + b` as a pair, so an encoded string made of slices
 * would keep the whole original alive; slicing a concatenation forces V8 to flatten it into a
 * new buffer first.
 */
export function detach(s: string): string {
  return (' ' + s).slice(1);
}

function num(n: number): string {
  return String.fromCharCode(0x80 | (n >> 7), 0x80 | (n & 0x7f));
}

export class DeltaDictionary {
  /** Hash of each SEED-char window -> dictionary positions (a few, most recent last). */
  private readonly index = new Map<number, number[]>();
  readonly text: string;

  constructor(text: string) {
    this.text = text.length > MAX_REF - 1 ? text.slice(text.length - (MAX_REF - 1)) : text;
    const t = this.text;
    for (let i = 0; i + SEED <= t.length; i++) {
      const h = hashAt(t, i);
      const list = this.index.get(h);
      if (list === undefined) this.index.set(h, [i]);
      else if (list.length < 4) list.push(i);
    }
  }

  /** The encoded form, or undefined when it would not be at least 20% smaller. */
  encode(input: string): string | undefined {
    const d = this.text;
    let out = '';
    let literalStart = 0;
    let i = 0;
    const n = input.length;
    // Where the previous copy ended in the dictionary: objects of a collection share their layout,
    // so the next match usually starts right after it (or a few chars on).
    let expected = -1;
    const extend = (pos: number, at: number, max: number): number => {
      let len = 0;
      while (len < max && input.charCodeAt(at + len) === d.charCodeAt(pos + len)) len++;
      return len;
    };
    while (i + SEED <= n) {
      let bestLen = 0;
      let bestPos = 0;
      const limit = Math.min(n - i, MAX_REF - 1);
      if (expected >= 0 && expected < d.length) {
        bestLen = extend(expected, i, Math.min(limit, d.length - expected));
        bestPos = expected;
      }
      if (bestLen < GOOD_MATCH) {
        const candidates = this.index.get(hashAt(input, i));
        if (candidates !== undefined) {
          for (let k = candidates.length - 1; k >= 0; k--) {
            const pos = candidates[k] as number;
            const len = extend(pos, i, Math.min(limit, d.length - pos));
            if (len > bestLen) {
              bestLen = len;
              bestPos = pos;
              if (len >= GOOD_MATCH) break;
            }
          }
        }
      }
      if (bestLen >= MIN_MATCH) {
        if (literalStart < i) out += input.slice(literalStart, i);
        out += MARK + num(bestPos) + num(bestLen);
        i += bestLen;
        literalStart = i;
        expected = bestPos + bestLen;
      } else {
        i++;
        if (expected >= 0) expected++;
      }
    }
    if (literalStart < n) out += input.slice(literalStart);
    return out.length <= n * 0.8 ? detach(out) : undefined;
  }

  decode(encoded: string): string {
    const d = this.text;
    const parts: string[] = [];
    let start = 0;
    for (;;) {
      const at = encoded.indexOf(MARK, start);
      if (at < 0) {
        parts.push(encoded.slice(start));
        break;
      }
      if (at > start) parts.push(encoded.slice(start, at));
      const pos = ((encoded.charCodeAt(at + 1) & 0x7f) << 7) | (encoded.charCodeAt(at + 2) & 0x7f);
      const len = ((encoded.charCodeAt(at + 3) & 0x7f) << 7) | (encoded.charCodeAt(at + 4) & 0x7f);
      parts.push(d.slice(pos, pos + len));
      start = at + 5;
    }
    return parts.join('');
  }
}
