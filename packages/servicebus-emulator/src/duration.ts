/**
 * ISO-8601 durations as the official emulator's config.json uses them ("PT1M", "PT20S",
 * "P1DT2H", "PT0.5S"). Years and months have no fixed length; like .NET's XmlConvert.ToTimeSpan
 * (which parses these values for the real service) a year counts 365 days and a month 30 days.
 */
const DURATION =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Milliseconds of an ISO-8601 duration, or undefined when `text` is not one. */
export function parseIsoDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim().toUpperCase());
  if (!m) return undefined;
  const [, y, mo, w, d, h, mi, s] = m;
  const n = (v: string | undefined): number => (v === undefined ? 0 : Number(v));
  const ms =
    n(y) * 365 * DAY +
    n(mo) * 30 * DAY +
    n(w) * 7 * DAY +
    n(d) * DAY +
    n(h) * HOUR +
    n(mi) * MINUTE +
    Math.round(n(s) * SECOND);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The shortest ISO-8601 form of a millisecond duration (for messages and docs). */
export function formatIsoDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'infinite';
  let rest = Math.max(0, Math.round(ms));
  const days = Math.floor(rest / DAY);
  rest -= days * DAY;
  const hours = Math.floor(rest / HOUR);
  rest -= hours * HOUR;
  const minutes = Math.floor(rest / MINUTE);
  rest -= minutes * MINUTE;
  const seconds = rest / SECOND;
  let out = 'P';
  if (days) out += `${days}D`;
  if (hours || minutes || seconds || !days) {
    out += 'T';
    if (hours) out += `${hours}H`;
    if (minutes) out += `${minutes}M`;
    if (seconds || (!hours && !minutes)) out += `${seconds}S`;
  }
  return out;
}
