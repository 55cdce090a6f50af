import { isIP } from 'node:net';
import { webcrypto } from 'node:crypto';

import type * as X509 from '@peculiar/x509';

import { installReflectMetadata } from './reflect-metadata.js';

/**
 * Certificates of one emulated cluster: a self-signed CA and a server certificate it signs.
 * ECDSA P-256 keys (fast to generate and accepted by Node, Go/kubectl and curl).
 */
export interface ClusterCertificates {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

let loaded: Promise<typeof X509> | undefined;

/**
 * Loads @peculiar/x509 after the Reflect metadata it needs is installed. A dynamic import,
 * because a static one may be linked (and tsyringe evaluated) before this module runs.
 */
function loadX509(): Promise<typeof X509> {
  installReflectMetadata();
  loaded ??= import('@peculiar/x509').then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Parameters<typeof m.cryptoProvider.set>[0]);
    return m;
  });
  return loaded;
}

async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/**
 * Generates a CA named after the cluster and a server certificate valid for `hosts` plus the
 * usual in-cluster names, like kubeadm's apiserver certificate.
 */
export async function generateClusterCertificates(
  clusterName: string,
  hosts: readonly string[],
): Promise<ClusterCertificates> {
  const x509 = await loadX509();
  const now = Date.now();
  const notBefore = new Date(now - 5 * 60 * 1000);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=podbus-emulator-ca-${clusterName}`,
    keys: caKeys as unknown as Parameters<
      typeof X509.X509CertificateGenerator.createSelfSigned
    >[0]['keys'],
    signingAlgorithm: ALGORITHM,
    notBefore,
    notAfter: new Date(now + 3650 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const serverKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const names = new Set([
    ...hosts,
    'localhost',
    '127.0.0.1',
    '::1',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ]);
  const altNames = [...names]
    .filter((n) => n !== '' && n !== '0.0.0.0' && n !== '::')
    .map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const server = await x509.X509CertificateGenerator.create({
    subject: 'CN=kube-apiserver',
    issuer: ca.subject,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    notBefore,
    notAfter: new Date(now + 365 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(altNames),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caPem: ca.toString('pem') + '\n',
    serverCertPem: server.toString('pem') + '\n',
    serverKeyPem: await exportPrivateKeyPem(serverKeys.privateKey),
  };
}
