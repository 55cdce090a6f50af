/**
 * metav1.MicroTime as kube-apiserver decodes it (k8s.io/apimachinery micro_time.go): Go's
 * `time.Parse` with the layout `2006-01-02T15:04:05.000000Z07:00`, which demands exactly six
 * fraction digits, and re-encoded in UTC. Lease `acquireTime`/`renewTime` and Event `eventTime`
 * are MicroTimes: a client that sends `new Date().toISOString()` (milliseconds) gets a 400 from a
 * real server, which is why client-node has its own `V1MicroTime` class; the emulator answers
 * the same 400 with Go's parse error.
 */

export const RFC3339_MICRO = '2006-01-02T15:04:05.000000Z07:00';

/** One element of the layout, in order; `text` is how Go's error names it. */
type Chunk =
  | { kind: 'number'; text: string; digits: number; range?: [number, number, string] }
  | { kind: 'literal'; text: string }
  | { kind: 'fraction'; text: string }
  | { kind: 'zone'; text: string };

const LAYOUT: Chunk[] = [
  { kind: 'number', text: '2006', digits: 4 },
  { kind: 'literal', text: '-' },
  { kind: 'number', text: '01', digits: 2, range: [1, 12, 'month'] },
  { kind: 'literal', text: '-' },
  { kind: 'number', text: '02', digits: 2, range: [1, 31, 'day'] },
  { kind: 'literal', text: 'T' },
  { kind: 'number', text: '15', digits: 2, range: [0, 23, 'hour'] },
  { kind: 'literal', text: ':' },
  { kind: 'number', text: '04', digits: 2, range: [0, 59, 'minute'] },
  { kind: 'literal', text: ':' },
  { kind: 'number', text: '05', digits: 2, range: [0, 59, 'second'] },
  { kind: 'fraction', text: '.000000' },
  { kind: 'zone', text: 'Z07:00' },
];

export class MicroTimeError extends Error {
  override readonly name = 'MicroTimeError';
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function cannotParse(value: string, rest: string, element: string): MicroTimeError {
  return new MicroTimeError(
    `parsing time ${quote(value)} as ${quote(RFC3339_MICRO)}: cannot parse ${quote(rest)} as ${quote(element)}`,
  );
}

/**
 * The canonical text of a MicroTime (UTC, six fraction digits), or a MicroTimeError worded as
 * Go's `time.ParseError` for a value the real server refuses.
 */
export function parseMicroTime(value: string): string {
  let rest = value;
  const parts: number[] = [];
  let micros = '';
  let offsetMinutes = 0;
  for (const chunk of LAYOUT) {
    const hold = rest;
    switch (chunk.kind) {
      case 'literal':
        if (!rest.startsWith(chunk.text)) throw cannotParse(value, rest, chunk.text);
        rest = rest.slice(chunk.text.length);
        break;
      case 'number': {
        const digits = rest.slice(0, chunk.digits);
        if (!new RegExp(`^\\d{${chunk.digits}}$`).test(digits))
          throw cannotParse(value, hold, chunk.text);
        const n = Number(digits);
        if (chunk.range && (n < chunk.range[0] || n > chunk.range[1]))
          throw new MicroTimeError(`parsing time ${quote(value)}: ${chunk.range[2]} out of range`);
        parts.push(n);
        rest = rest.slice(chunk.digits);
        break;
      }
      case 'fraction':
        // Exactly six digits after the separator (Go's stdFracSecond0).
        if (!/^[.,]\d{6}/.test(rest)) throw cannotParse(value, hold, chunk.text);
        micros = rest.slice(1, 7);
        rest = rest.slice(7);
        break;
      case 'zone': {
        if (rest.startsWith('Z')) {
          rest = rest.slice(1);
          break;
        }
        const m = /^([+-])(\d{2}):(\d{2})/.exec(rest);
        if (!m) throw cannotParse(value, hold, chunk.text);
        const [, sign, hh, mm] = m as unknown as [string, string, string, string];
        offsetMinutes = (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm));
        rest = rest.slice(6);
        break;
      }
    }
  }
  if (rest !== '')
    throw new MicroTimeError(`parsing time ${quote(value)}: extra text: ${quote(rest)}`);
  const [year, month, day, hour, minute, second] = parts as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCDate() !== day)
    throw new MicroTimeError(`parsing time ${quote(value)}: day out of range`);
  return `${new Date(utc).toISOString().slice(0, 19)}.${micros}Z`;
}

/** The current time as a MicroTime (what a server-side writer such as the scheduler sets). */
export function nowMicro(ms = Date.now()): string {
  const micros = String(Math.floor((ms % 1000) * 1000)).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
}
