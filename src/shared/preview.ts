const MAX_PREVIEW = 60;

/** A short JSON rendering of a value for error text: `"lots"`, `0`, `{"a":1…}`. */
export function preview(value: unknown, transform: (json: string) => string = (j) => j): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(transform(text));
}

export function truncate(text: string, max = MAX_PREVIEW): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
