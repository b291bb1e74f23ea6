/**
 * A throw-away certificate authority and a server certificate signed by it, made with Debian's `openssl`
 * CLI (scripts/setup.sh installs it), for TLS tests on loopback.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './run.js';

/** PEM files written by `makeTestCertificates`. */
export interface TestCertificates {
  /** The CA certificate clients trust. */
  caFile: string;
  /** The server certificate (signed by the CA) and its private key. */
  certFile: string;
  keyFile: string;
}

async function openssl(args: string[]): Promise<void> {
  const r = await run('openssl', args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/**
 * Write a CA and a server certificate valid for `hosts` (IP addresses or DNS names; default 127.0.0.1,
 * ::1 and localhost) into `dir`, which must exist. EC P-256 keys, valid for one day.
 */
export async function makeTestCertificates(
  dir: string,
  hosts: string[] = ['127.0.0.1', '::1', 'localhost'],
): Promise<TestCertificates> {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    caFile,
    '-days',
    '1',
    '-subj',
    '/CN=test CA',
  ]);
  await openssl(['req', '-new', ...ec, '-keyout', keyFile, '-out', csr, '-subj', '/CN=photoncloud test']);
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '1',
    '-extfile',
    ext,
  ]);
  return { caFile, certFile, keyFile };
}
