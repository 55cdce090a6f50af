/**
 * Secret scrubbing for text podbus writes: log lines, configuration errors, dead-letter
 * descriptions. Two layers, because neither is enough alone:
 * - by key: values under keys that name secrets (`token`, `connectionString`, `authorization`,
 *   `password`, ...) at any depth of a JSON log line;
 * - by shape: secrets embedded in free text, which no key path can reach — a connection string
 *   inside an error message, `Authorization: Bearer ...` in a dumped request, a SAS URL.
 * Replacements never consume `"` or `\`, so a scrubbed JSON line is still valid JSON.
 */
export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets (matched case-insensitively; `tokenFile` is not a secret). */
const SECRET_KEY =
  '[A-Za-z0-9_-]*(?:token|connectionstring|password|secret|apikey|sharedaccesskey|sharedaccesssignature)|authorization|proxy-authorization|cookie|set-cookie';

const JSON_SECRET_MEMBER = new RegExp(
  `"(${SECRET_KEY})":("(?:[^"\\\\]|\\\\.)*"|-?[0-9][0-9.eE+-]*|true|false)`,
  'gi',
);

/** Free-text shapes of secrets; each keeps its label and replaces only the secret part. */
const TEXT_PATTERNS: readonly (readonly [RegExp, string])[] = [
  // Service Bus connection strings: SharedAccessKey=<base64>
  [/(SharedAccessKey\s*=\s*)[^;"'\s\\&]+/gi, `$1${REDACTED}`],
  // SAS tokens: "SharedAccessSignature sr=...&sig=...&se=...&skn=..." (also as a connection
  // string member, SharedAccessSignature=SharedAccessSignature sr=...)
  [
    /(SharedAccessSignature(?:\s*=\s*|\s+))(?:SharedAccessSignature\s+)?[^;"'\s\\]+/gi,
    `$1${REDACTED}`,
  ],
  // SAS query parameters in URLs: ...?sv=...&sig=<signature>
  [/(^|[^A-Za-z0-9_])(sig=)[^&;"'\s\\]+/gi, `$1$2${REDACTED}`],
  // HTTP bearer credentials (8+ token characters, so prose like "bearer of news" survives)
  [/(\bBearer\s+)[A-Za-z0-9\-._~+/]{8,}=*/gi, `$1${REDACTED}`],
  // JSON Web Tokens (Kubernetes service-account tokens are JWTs)
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // JSON members naming a secret inside free text, also JSON-escaped inside a JSON string:
  // a plugin's ExecCredential dumped on stderr, {"status":{"token":"sha256~..."}} (tokens that
  // are not JWTs have no shape of their own)
  [new RegExp(`(\\\\?"(?:${SECRET_KEY})\\\\?"\\s*:\\s*\\\\?")[^"\\\\]+`, 'gi'), `$1${REDACTED}`],
  // key=value pairs naming a secret: token=..., password=..., client_secret=...
  [
    /(\b(?:[a-z_]*token|password|secret|client_secret|api[_-]?key)=)[^&;"'\s\\]+/gi,
    `$1${REDACTED}`,
  ],
  // credentials in URLs: https://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"'\\]+:)[^@\s/"'\\]+@/gi, `$1${REDACTED}@`],
];

/** Scrubs secrets embedded in free text (an error message, a description). */
export function scrubText(text: string): string {
  let result = text;
  for (const [pattern, replacement] of TEXT_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/** Scrubs one serialised JSON log line: secret-named members first, then free-text shapes. */
export function scrubJsonLine(line: string): string {
  return scrubText(line.replace(JSON_SECRET_MEMBER, `"$1":"${REDACTED}"`));
}

/**
 * Paths for pino's own redaction (fast, structural, and it also covers object values that the
 * line scrubber leaves alone, e.g. an `authorization` header given as an array).
 */
export const REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  'connectionString',
  '*.connectionString',
  'config.serviceBus.connectionString',
  'clusters[*].token',
  '*.clusters[*].token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'password',
  '*.password',
  'sharedAccessKey',
  '*.sharedAccessKey',
];
