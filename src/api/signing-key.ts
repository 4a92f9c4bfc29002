/**
 * The ED25519 key that signs completion webhooks: generated on first start, kept in the data dir
 * (webhook-signing-key.pem, PKCS#8, mode 0600), and its public half served as a JWKS at
 * /.well-known/jwks.json so receivers can verify X-Fal-Webhook-Signature.
 *
 * @example
 *   const key = await loadSigningKey(config.dataDir);
 *   startWorker({ ..., webhooks: { sender: { signingKey: key.privateKey } } });
 *   reply.send(jwks(key)); // {keys: [{kty: "OKP", crv: "Ed25519", x, kid, use: "sig", alg: "EdDSA"}]}
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export const SIGNING_KEY_FILE = "webhook-signing-key.pem";

export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  /** The raw public key, base64url. */
  x: string;
  /** RFC 7638 thumbprint. */
  kid: string;
  use: "sig";
  alg: "EdDSA";
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: PublicJwk;
}

function fromPrivate(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`the webhook signing key is ${privateKey.asymmetricKeyType}, not ed25519`);
  const publicKey = createPublicKey(privateKey);
  const { x } = publicKey.export({ format: "jwk" }) as { x: string };
  const kid = createHash("sha256").update(JSON.stringify({ crv: "Ed25519", kty: "OKP", x })).digest("base64url");
  return { privateKey, publicKey, jwk: { kty: "OKP", crv: "Ed25519", x, kid, use: "sig", alg: "EdDSA" } };
}

/**
 * The configured key (config.webhookSigningKey, a PEM) when there is one; else the data dir's signing key, created
 * (atomically: concurrent first starts agree) when missing.
 */
export async function loadSigningKey(dataDir: string, configured?: string): Promise<SigningKey> {
  if (configured !== undefined) {
    try {
      return fromPrivate(createPrivateKey(configured));
    } catch (err) {
      throw new Error(`MOUTHPIECE_WEBHOOK_SIGNING_KEY is not a usable key (${(err as Error).message}): give an ED25519 private key in PKCS#8 PEM, e.g. from \`openssl genpkey -algorithm ed25519\`.`);
    }
  }
  const file = path.join(dataDir, SIGNING_KEY_FILE);
  try {
    return fromPrivate(createPrivateKey(await readFile(file, "utf8")));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`cannot read the webhook signing key ${file}: ${(err as Error).message}`);
  }
  await mkdir(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, pem, { mode: 0o600 });
  try {
    await link(tmp, file); // fails if another process made one first: then use theirs
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  return fromPrivate(createPrivateKey(await readFile(file, "utf8")));
}

/** The JWKS document for /.well-known/jwks.json. */
export function jwks(...keys: SigningKey[]): { keys: PublicJwk[] } {
  return { keys: keys.map((k) => k.jwk) };
}
