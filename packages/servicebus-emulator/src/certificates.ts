import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * A CA and a server certificate it signs, for the AMQPS listener (README, "TLS"). Node can sign
 * but not build X.509 certificates, so the few DER structures of RFC 5280 needed here are written
 * directly: ECDSA P-256 keys, SHA-256 signatures, basic constraints, key usage, extended key usage
 * and subject alternative names. No dependency, and nothing process-wide (the X.509 libraries
 * need a Reflect metadata polyfill).
 */
export interface EmulatorCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

/** Generates a CA and a server certificate valid for `hosts` plus localhost and loopback. */
export function generateCertificates(hosts: readonly string[]): EmulatorCertificates {
  const now = Date.now();
  const notBefore = new Date(now - 5 * 60 * 1000);
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = name('podbus Service Bus emulator CA');
  const caCert = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter: new Date(now + 3650 * DAY_MS),
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true))),
      extension(OID.keyUsage, true, keyUsage({ keyCertSign: true, cRLSign: true })),
    ],
  });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const names = [...new Set([...hosts, 'localhost', '127.0.0.1', '::1'])].filter(
    (n) => n !== '' && n !== '0.0.0.0' && n !== '::',
  );
  const serverCert = certificate({
    subject: name('localhost'),
    issuer: caName,
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter: new Date(now + 365 * DAY_MS),
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, keyUsage({ digitalSignature: true })),
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...names.map(altName))),
    ],
  });
  return {
    caPem: pem('CERTIFICATE', caCert),
    certPem: pem('CERTIFICATE', serverCert),
    keyPem: server.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

interface CertificateFields {
  subject: Buffer;
  issuer: Buffer;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}

function certificate(f: CertificateFields): Buffer {
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const serial = Buffer.concat([Buffer.from([0x01]), randomBytes(15)]); // positive, 16 bytes
  const tbs = sequence(
    tagged(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    f.issuer,
    sequence(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.publicKey.export({ type: 'spki', format: 'der' }),
    tagged(3, sequence(...f.extensions)),
  );
  const signature = sign('sha256', tbs, f.signingKey); // DER-encoded ECDSA signature
  return sequence(tbs, algorithm, bitString(signature));
}

// ---- DER (ITU-T X.690) -------------------------------------------------------------------

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else throw new Error('DER value too long');
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function tagged(n: number, content: Buffer): Buffer {
  return tlv(0xa0 | n, content);
}

function integer(bytes: Buffer): Buffer {
  return tlv(0x02, (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function boolean(value: boolean): Buffer {
  return tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
}

function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

function octetString(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [40 * (parts[0] as number) + (parts[1] as number)];
  for (const part of parts.slice(2)) {
    const base128: number[] = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) // UTCTime
    : tlv(0x18, Buffer.from(iso, 'ascii')); // GeneralizedTime
}

function name(commonName: string): Buffer {
  const rdn = (type: string, value: string): Buffer =>
    tlv(0x31, sequence(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
  return sequence(rdn(OID.organization, 'podbus'), rdn(OID.commonName, commonName));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function keyUsage(usage: {
  digitalSignature?: boolean;
  keyCertSign?: boolean;
  cRLSign?: boolean;
}): Buffer {
  // bit 0 = digitalSignature (0x80), bit 5 = keyCertSign (0x04), bit 6 = cRLSign (0x02)
  const bits =
    (usage.digitalSignature ? 0x80 : 0) |
    (usage.keyCertSign ? 0x04 : 0) |
    (usage.cRLSign ? 0x02 : 0);
  let unused = 0;
  while (unused < 7 && !(bits & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, bits]));
}

function altName(host: string): Buffer {
  const version = isIP(host);
  if (version === 4) return tlv(0x87, Buffer.from(host.split('.').map(Number)));
  if (version === 6) return tlv(0x87, ipv6Bytes(host));
  return tlv(0x82, Buffer.from(host, 'ascii')); // dNSName
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((g) => parseInt(g, 16));
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function pem(label: string, der: Buffer): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
