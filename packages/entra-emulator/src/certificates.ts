import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

import type * as X509 from '@peculiar/x509';

import { installReflectMetadata } from './reflect-metadata.js';

/**
 * The endpoint's own CA and the server certificate it signs: clients trust the CA (one PEM file,
 * e.g. NODE_EXTRA_CA_CERTS), never an insecure flag. ECDSA P-256 keys (fast to generate; Node,
 * curl and Go accept them).
 */
export interface EndpointCertificates {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

let loaded: Promise<typeof X509> | undefined;

/** @peculiar/x509 after the Reflect metadata it needs (a static import could run first). */
function loadX509(): Promise<typeof X509> {
  installReflectMetadata();
  loaded ??= import('@peculiar/x509').then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Parameters<typeof m.cryptoProvider.set>[0]);
    return m;
  });
  return loaded;
}

type Keys = Parameters<typeof X509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/** A CA and a certificate for `hosts` plus localhost, 127.0.0.1 and ::1. */
export async function generateEndpointCertificates(
  hosts: readonly string[],
): Promise<EndpointCertificates> {
  const x509 = await loadX509();
  const now = Date.now();
  const notBefore = new Date(now - 5 * 60 * 1000);
  const caKeys = await newKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=podbus-entra-emulator-ca',
    keys: caKeys as unknown as Keys,
    signingAlgorithm: ALGORITHM,
    notBefore,
    notAfter: new Date(now + 3650 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = await newKeys();
  const names = new Set([...hosts, 'localhost', '127.0.0.1', '::1']);
  const altNames = [...names]
    .filter((n) => n !== '' && n !== '0.0.0.0' && n !== '::')
    .map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const server = await x509.X509CertificateGenerator.create({
    subject: 'CN=podbus-entra-emulator',
    issuer: ca.subject,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    notBefore,
    notAfter: new Date(now + 365 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(altNames),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caPem: `${ca.toString('pem')}\n`,
    certPem: `${server.toString('pem')}\n`,
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey)),
  };
}
