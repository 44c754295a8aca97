/** @module The access-token signing key: ES256, generated on first start in data_dir (mode 0600), and its JWKS. */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-write.ts';
import type { Logger } from '../log.ts';
import { GatewayError } from '../errors.ts';

/** The only algorithm mcpgw signs and accepts (allow-list for jwtVerify). */
export const SIGNING_ALG = 'ES256';

/** File name of the key inside data_dir. */
export const SIGNING_KEY_FILE = 'oauth-signing-key.json';

/** A loaded key pair with its id (RFC 7638 thumbprint). */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

/** Loads the signing key from data_dir, creating it on first start; the same key after restart keeps tokens valid. */
export async function loadOrCreateSigningKey(dataDir: string, log: Logger): Promise<SigningKey> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SIGNING_KEY_FILE);
  if (!existsSync(path)) await createKeyFile(path, log);
  const mode = statSync(path).mode & 0o777;
  if (mode !== 0o600) {
    log.warn('signing key file had loose permissions; set to 0600', { path, mode: mode.toString(8) });
    chmodSync(path, 0o600);
  }
  return parseKeyFile(readFileSync(path, 'utf8'), path);
}

async function createKeyFile(path: string, log: Logger): Promise<void> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const body = JSON.stringify({ version: 1, alg: SIGNING_ALG, jwk }, null, 2) + '\n';
  // Linked into place from a private, fsynced temp file: a crash never leaves a half-written key, and if another
  // process created the key meanwhile, linking fails and both use that one.
  try {
    writeFileAtomic(path, body, { mode: 0o600, exclusive: true });
    log.info('generated access-token signing key', { path });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

async function parseKeyFile(text: string, path: string): Promise<SigningKey> {
  try {
    const file = JSON.parse(text) as { alg: string; jwk: JWK };
    if (file.alg !== SIGNING_ALG || !file.jwk?.d) throw new Error(`expected a private ${SIGNING_ALG} JWK`);
    const { d: _d, ...pub } = file.jwk;
    const privateKey = (await importJWK(file.jwk, SIGNING_ALG)) as CryptoKey;
    const publicKey = (await importJWK(pub, SIGNING_ALG)) as CryptoKey;
    const kid = await calculateJwkThumbprint(pub);
    return { kid, privateKey, publicKey, publicJwk: { ...pub, kid, alg: SIGNING_ALG, use: 'sig' } };
  } catch (cause) {
    throw new GatewayError('config_invalid', `cannot read signing key ${path}`, { cause });
  }
}

/** The JWKS document (RFC 7517 §5) with the public key only. */
export function jwksDocument(key: SigningKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}
