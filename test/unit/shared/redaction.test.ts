import { describe, expect, it } from '@jest/globals';

import { scrubJsonLine, scrubText } from '../../../src/shared/redaction.js';

describe('scrubText', () => {
  it.each([
    [
      'Endpoint=sb://x/;SharedAccessKeyName=Root;SharedAccessKey=abc+/=;EntityPath=q',
      'Endpoint=sb://x/;SharedAccessKeyName=Root;SharedAccessKey=[REDACTED];EntityPath=q',
    ],
    [
      'Endpoint=sb://x/;SharedAccessSignature=SharedAccessSignature sr=a&sig=b&se=1&skn=k;EntityPath=q',
      'Endpoint=sb://x/;SharedAccessSignature=[REDACTED];EntityPath=q',
    ],
    [
      'auth: SharedAccessSignature sr=a&sig=b&se=1 next',
      'auth: SharedAccessSignature [REDACTED] next',
    ],
    ['https://a.blob/c?sv=1&sig=abc%2B&se=2', 'https://a.blob/c?sv=1&sig=[REDACTED]&se=2'],
    ['sig=abc', 'sig=[REDACTED]'],
    ['Authorization: Bearer abc.def-ghi_jkl', 'Authorization: Bearer [REDACTED]'],
    [
      'token=abc&x=1 password=p secret=s api_key=k',
      'token=[REDACTED]&x=1 password=[REDACTED] secret=[REDACTED] api_key=[REDACTED]',
    ],
    ['https://user:pass@host/x', 'https://user:[REDACTED]@host/x'],
    // An exec plugin's ExecCredential on stderr: tokens that are not JWTs have no shape.
    [
      'verbose: {"status":{"token":"sha256~Zx9AbCdEf","expirationTimestamp":"2026-12-05T11:00:00Z"}}',
      'verbose: {"status":{"token":"[REDACTED]","expirationTimestamp":"2026-12-05T11:00:00Z"}}',
    ],
    [
      '{"access_token": "ya29.a0AfH6", "expires_in": 3599}',
      '{"access_token": "[REDACTED]", "expires_in": 3599}',
    ],
  ])('%s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    const text =
      'tokenFile=/var/run/secrets/token signature design, bearer of news, https://host:443/x';
    expect(scrubText(text)).toBe(text);
  });
});

describe('scrubJsonLine', () => {
  it('redacts a secret-named member JSON-escaped inside a string value', () => {
    const line = JSON.stringify({
      msg: 'exec plugin failed',
      stderr: '{"status":{"token":"sha256~Zx9AbCdEf"},"tokenFile":"/var/run/token"}',
    });
    const scrubbed = scrubJsonLine(line);
    expect(scrubbed).not.toContain('Zx9AbCdEf');
    expect(JSON.parse(scrubbed)).toEqual({
      msg: 'exec plugin failed',
      stderr: '{"status":{"token":"[REDACTED]"},"tokenFile":"/var/run/token"}',
    });
  });

  it('redacts secret-named members at any depth and keeps the line valid JSON', () => {
    const line = JSON.stringify({
      a: {
        b: {
          accessToken: 'x"y',
          tokenFile: '/t',
          Authorization: 'Basic abc',
          n: { clientSecret: 7 },
        },
      },
      password: true,
    });
    const scrubbed = scrubJsonLine(line);
    expect(JSON.parse(scrubbed)).toEqual({
      a: {
        b: {
          accessToken: '[REDACTED]',
          tokenFile: '/t',
          Authorization: '[REDACTED]',
          n: { clientSecret: '[REDACTED]' },
        },
      },
      password: '[REDACTED]',
    });
  });
});
