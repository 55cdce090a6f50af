/**
 * convict reports every failed option in one Error whose message has one line per problem:
 *   <path>: <format message>[: value was <JSON>]
 *   configuration param '<path>' not declared in the schema
 *   configuration param '<path>' missing from config, did you override its parent?
 * (convict 6, src/main.js `validate`). podbus's format messages are single lines that never
 * contain ": value was ", so each line splits back into a path and a message; the value part is
 * dropped because the loader adds the value itself, and only when it is not sensitive.
 */
export interface ConvictProblem {
  readonly path: string;
  readonly message: string;
}

const UNDECLARED = /^configuration param '(.+)' not declared in the schema$/;
const MISSING = /^configuration param '(.+)' missing from config, did you override its parent\?$/;
const INVALID = /^([A-Za-z0-9_.]+): (.*)$/;

export function parseConvictErrors(text: string): ConvictProblem[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line): ConvictProblem => {
      const undeclared = UNDECLARED.exec(line);
      if (undeclared) return { path: undeclared[1] ?? '', message: 'is not a podbus option' };
      const missing = MISSING.exec(line);
      if (missing)
        return { path: missing[1] ?? '', message: 'is missing (was its section replaced?)' };
      const invalid = INVALID.exec(line);
      if (!invalid) return { path: '', message: line };
      const message = invalid[2] ?? '';
      const cut = message.indexOf(': value was ');
      return { path: invalid[1] ?? '', message: cut >= 0 ? message.slice(0, cut) : message };
    });
}
