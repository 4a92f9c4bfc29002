/**
 * API keys. A key looks like fal's: "<id>:<secret>" (the id is public, the secret is 32 random bytes).
 * Only sha256(key) is stored; checks compare hashes in constant time. Keys from the environment
 * (MOUTHPIECE_API_KEYS) are any strings of 8+ characters, checked the same way, never stored.
 * Each key is its own owner: it sees only the requests it made.
 *
 * A verified key is remembered for VERIFIED_TTL_MS (by its hash, never the key itself), so a client polling a status
 * many times a second costs one hash, not a database read each time. Revoking through this store takes effect at
 * once; a revocation made by another process (the `mouthpiece keys revoke` command) within that TTL.
 *
 * @example
 *   const keys = KeyStore.open({ file: path.join(config.dataDir, "mouthpiece.db"), envKeys: config.envKeys });
 *   const { key } = keys.create("laptop");       // shown once
 *   keys.verify(key);                             // { owner: "key:1a2b3c4d5e6f", kind: "key" }
 */
import { hash as digest, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

export interface Principal {
  /** "key:<id>" for stored keys, "env:<hash prefix>" for environment keys, "local" for the playground session. */
  owner: string;
  kind: "key" | "env" | "local";
}

export interface KeyInfo {
  id: string;
  name: string;
  createdAt: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

/** What the HTTP layer needs from a key store. */
export interface KeyVerifier {
  verify(key: string): Principal | undefined;
}

const sha256 = (s: string) => digest("sha256", s, "buffer");
const DUMMY = sha256("mouthpiece-no-such-key");

/** How long a verified key is trusted without reading the store again. */
export const VERIFIED_TTL_MS = 2_000;
/** At most this many verified keys are remembered (the memory is cleared when full). */
const VERIFIED_MAX = 10_000;

export class KeyStore implements KeyVerifier {
  private readonly envHashes: Buffer[];
  /** The lookup run on every authenticated request, prepared once. */
  private byId?: Database.Statement;
  /** Recently verified keys: sha256 hex → who and until when. */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  private constructor(private readonly db: Database.Database, envKeys: readonly string[]) {
    this.envHashes = envKeys.map(sha256);
  }

  static open(options: { file: string; envKeys?: readonly string[] }): KeyStore {
    if (options.file !== ":memory:") mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    const db = new Database(options.file);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    db.exec(`CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      hash BLOB NOT NULL,
      created_at INTEGER NOT NULL,
      revoked_at INTEGER,
      last_used_at INTEGER
    )`);
    return new KeyStore(db, options.envKeys ?? []);
  }

  /** Makes a key; the returned `key` is the only time the secret is visible. */
  create(name = "default"): { key: string; info: KeyInfo } {
    const id = randomBytes(6).toString("hex");
    const key = `${id}:${randomBytes(32).toString("base64url")}`;
    const now = Date.now();
    this.db.prepare(`INSERT INTO api_keys (id, name, hash, created_at) VALUES (?, ?, ?, ?)`).run(id, name, sha256(key), now);
    return { key, info: { id, name, createdAt: new Date(now).toISOString() } };
  }

  list(): KeyInfo[] {
    const rows = this.db.prepare(`SELECT id, name, created_at, revoked_at, last_used_at FROM api_keys ORDER BY created_at`).all() as {
      id: string; name: string; created_at: number; revoked_at: number | null; last_used_at: number | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: new Date(r.created_at).toISOString(),
      revokedAt: r.revoked_at === null ? undefined : new Date(r.revoked_at).toISOString(),
      lastUsedAt: r.last_used_at === null ? undefined : new Date(r.last_used_at).toISOString(),
    }));
  }

  /** Revokes a key by id (or by the full key); false when there is no such active key. */
  revoke(idOrKey: string): boolean {
    const id = idOrKey.includes(":") ? idOrKey.slice(0, idOrKey.indexOf(":")) : idOrKey;
    for (const [hex, { principal }] of this.verified) if (principal.owner === `key:${id}`) this.verified.delete(hex);
    return this.db.prepare(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`).run(Date.now(), id).changes === 1;
  }

  verify(key: string): Principal | undefined {
    const hex = digest("sha256", key, "hex");
    const now = Date.now();
    const known = this.verified.get(hex);
    if (known && known.until > now) return known.principal;
    const principal = this.lookup(key, Buffer.from(hex, "hex"), now);
    if (principal) {
      if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
      this.verified.set(hex, { principal, until: now + VERIFIED_TTL_MS });
    } else {
      this.verified.delete(hex);
    }
    return principal;
  }

  private lookup(key: string, hash: Buffer, now: number): Principal | undefined {
    const colon = key.indexOf(":");
    if (colon > 0) {
      this.byId ??= this.db.prepare(`SELECT id, hash, revoked_at, last_used_at FROM api_keys WHERE id = ?`);
      const row = this.byId.get(key.slice(0, colon)) as
        | { id: string; hash: Buffer; revoked_at: number | null; last_used_at: number | null }
        | undefined;
      const equal = timingSafeEqual(hash, row ? row.hash : DUMMY);
      if (row && equal && row.revoked_at === null) {
        if (row.last_used_at === null || now - row.last_used_at > 60_000) {
          this.db.prepare(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`).run(now, row.id);
        }
        return { owner: `key:${row.id}`, kind: "key" };
      }
    }
    let match: Buffer | undefined;
    for (const envHash of this.envHashes) {
      if (timingSafeEqual(hash, envHash)) match = envHash;
    }
    if (match) return { owner: `env:${match.toString("hex").slice(0, 12)}`, kind: "env" };
    return undefined;
  }

  close(): void {
    this.db.close();
  }
}
