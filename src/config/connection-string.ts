/**
 * Shape check of a Service Bus connection string that is set (whether one must be set is the
 * serviceBus part's rule: service-bus-part.ts), without ever echoing it: the messages below
 * name the members that are missing or wrong, never their values.
 *   Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<rule>;SharedAccessKey=<key>
 *   Endpoint=sb://...;SharedAccessSignature=SharedAccessSignature sr=...
 *   Endpoint=sb://localhost;SharedAccessKeyName=...;SharedAccessKey=...;UseDevelopmentEmulator=true
 */
export function connectionStringProblem(value: string): string | undefined {
  const members = connectionStringMembers(value);
  const endpoint = members.get('endpoint');
  if (endpoint === undefined) {
    return 'is not a Service Bus connection string: it has no Endpoint=sb://<namespace>/ member';
  }
  if (!/^sb:\/\/[^/\s;]+/i.test(endpoint)) {
    return 'is not a Service Bus connection string: its Endpoint must start with sb://<namespace>';
  }
  const hasKey = members.has('sharedaccesskeyname') && members.has('sharedaccesskey');
  if (!hasKey && !members.has('sharedaccesssignature')) {
    return 'is not a Service Bus connection string: it needs SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature)';
  }
  return undefined;
}

/** Members by lower-cased name; values may contain "=" (base64 keys, SAS tokens). */
export function connectionStringMembers(value: string): Map<string, string> {
  const members = new Map<string, string>();
  for (const part of value.split(';')) {
    const equals = part.indexOf('=');
    if (equals <= 0) continue;
    members.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  return members;
}
