/**
 * Picks the storage backend from the configuration: "local" (default) is the folder under dataDir.
 *
 * @example
 *   const storage = createStorage(config, { baseUrl: "http://127.0.0.1:8000" });
 */
import type { Config } from "../config.js";
import { LocalStorage } from "./local.js";
import type { KeyedStorage } from "./types.js";

export { LocalStorage } from "./local.js";
export { UploadSessions } from "./uploads.js";
export type { ByteRange, KeyedStorage, Storage, StoredFile } from "./types.js";

/** The base URL file URLs are built on: config.publicUrl, else this server's own listen address. */
export function defaultBaseUrl(config: Pick<Config, "publicUrl" | "host" | "port">): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, "");
  return `http://${loopbackHost(config.host)}:${config.port}`;
}

/** Origins that reach this server besides the base URL (loopback names for a local bind). */
export function aliasOrigins(config: Pick<Config, "host" | "port">): string[] {
  const port = config.port;
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`];
}

function loopbackHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

export function createStorage(config: Config, options: { baseUrl?: string } = {}): KeyedStorage {
  if (config.storage !== "local") {
    throw new Error(`MOUTHPIECE_STORAGE=${config.storage} is not supported yet; use "local" (files under ${config.dataDir}/files).`);
  }
  return new LocalStorage({
    dataDir: config.dataDir,
    baseUrl: options.baseUrl ?? defaultBaseUrl(config),
    aliasOrigins: aliasOrigins(config),
  });
}
