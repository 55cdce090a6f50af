const MAX_PREVIEW = 60;

/** A short JSON rendering of a value for error text: `"lots"`, `0`, `{"a":1…}`. */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_PREVIEW ? `${text.slice(0, MAX_PREVIEW)}…` : text;
}
