import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { tempDir } from './archive';

/** A throwaway self-signed certificate and its key (openssl, RSA 2048, one day) in a new folder. */
export function selfSignedCertificate(commonName: string): { dir: string; key: string; cert: string } {
  const dir = tempDir('exit-plan-tls-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${commonName}`, '-days', '1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { dir, key, cert };
}
