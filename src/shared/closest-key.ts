/**
 * The known key a person most likely meant by `typed`: same letters ignoring case, at most two
 * edits away (only for keys long enough that two edits are still a typo, not another word), or
 * one being the start of the other.
 */
export function closestKey(typed: string, known: readonly string[]): string | undefined {
  const lower = typed.toLowerCase();
  const sameLetters = known.find((k) => k.toLowerCase() === lower);
  if (sameLetters) return sameLetters;
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = editDistance(lower, key.toLowerCase());
    const allowed = Math.min(2, Math.floor(key.length / 4));
    if (distance <= allowed && (!best || distance < best.distance)) best = { key, distance };
  }
  if (best) return best.key;
  // A truncated or extended name ("queue" for "queueName", "activeDeadline" for "...Seconds").
  if (lower.length < 4) return undefined;
  return known.find((key) => {
    const k = key.toLowerCase();
    return k.startsWith(lower) || (k.length >= 4 && lower.startsWith(k));
  });
}

/** Levenshtein distance (insert, delete, substitute), two rows at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitute);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
