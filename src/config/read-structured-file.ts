import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';

export type FileResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

/** Reads a YAML or JSON file (YAML 1.2 is a superset of JSON, so one parser reads both). */
export function readStructuredFile(file: string): FileResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { ok: false, problem: `cannot read "${file}": ${describeFsError(error)}` };
  }
  try {
    return { ok: true, value: parseYaml(text) as unknown };
  } catch (error) {
    // Only the first line ("... at line 3, column 5:"): the rest quotes the file, which may
    // hold secrets.
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return { ok: false, problem: `"${file}" is not valid YAML or JSON: ${first}` };
  }
}

/** "no such file or directory" rather than "ENOENT: no such file or directory, open '...'". */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}
