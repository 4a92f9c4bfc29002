/**
 * HTTP(S) requests that cannot be turned against the host's network (SSRF): every address a request would
 * connect to is checked, and the connection goes to exactly the address that was checked.
 *   - IP-literal hosts are checked before connecting; host names are resolved through a lookup hook handed
 *     to node:http(s), which checks every resolved address and gives the socket only checked ones (no DNS
 *     rebinding between check and connect).
 *   - Refused: loopback, private (RFC 1918, IPv6 unique-local), link-local (incl. 169.254.169.254),
 *     carrier-grade NAT, multicast, broadcast, unspecified, reserved/documentation ranges, and IPv6 outside
 *     global unicast (2000::/3: NAT64, 6to4, Teredo...); IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as
 *     its IPv4 address.
 *   - `allowPrivate` (config.allowPrivateUrls) admits loopback, private, link-local and CGNAT hosts (media
 *     on one's own network), never the cloud metadata addresses, multicast, broadcast or unspecified.
 *   - Redirects are followed by hand (at most maxRedirects), each hop checked again; a deadline covers the
 *     whole exchange; the caller caps the body.
 *
 * @example
 *   const fetcher = createSafeHttpFetcher({ allowPrivate: config.allowPrivateUrls });
 *   await fetchInput(url, { ..., httpFetch: fetcher });
 *   addressRefusal("169.254.169.254", false); // "link-local address (cloud metadata)"
 */
import { createWriteStream } from "node:fs";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import ipaddr from "ipaddr.js";
import { CancelledError } from "../errors.js";
import { FetchFailure, type HttpFetcher } from "./fetch.js";

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface SafeFetchPolicy {
  /** Admit private, loopback and link-local hosts (config.allowPrivateUrls). Default false. */
  allowPrivate?: boolean;
  /** Resolves a host name to addresses. Default: the system resolver (dns.lookup, all addresses). Tests inject one. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Alias of resolve (kept for callers that name it so). */
  lookup?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Exact addresses admitted whatever their class (one trusted media host), e.g. ["10.1.2.3"]. */
  allowAddresses?: readonly string[];
}

/** addressRefusal under a policy (its allowPrivate and allowAddresses). */
export function policyRefusal(ip: string, policy: SafeFetchPolicy): string | undefined {
  if (policy.allowAddresses?.length) {
    try {
      const normal = ipaddr.process(ip.replace(/^\[|\]$/g, "")).toString();
      if (policy.allowAddresses.some((a) => ipaddr.process(a).toString() === normal)) return undefined;
    } catch {
      // falls through to the class check, which refuses what does not parse
    }
  }
  return addressRefusal(ip, policy.allowPrivate);
}

/** A request refused because of where it would connect. */
export class UnsafeAddressError extends Error {
  constructor(readonly host: string, readonly address: string, readonly why: string) {
    super(host === address ? `${address} is a ${why}` : `${host} resolves to ${address}, a ${why}`);
    this.name = "UnsafeAddressError";
  }
}

const PRIVATE_V4 = new Set(["private", "loopback", "linkLocal", "carrierGradeNat"]);
const PRIVATE_V6 = new Set(["uniqueLocal", "loopback", "linkLocal"]);
const METADATA = new Set(["169.254.169.254", "169.254.170.2", "fd00:ec2::254"]);
const NAMES: Record<string, string> = {
  private: "private address", loopback: "loopback address", linkLocal: "link-local address",
  carrierGradeNat: "carrier-grade NAT address", multicast: "multicast address", broadcast: "broadcast address",
  unspecified: "unspecified address", uniqueLocal: "private (unique-local) address", reserved: "reserved address",
};

/**
 * Why connecting to `ip` is refused ("loopback address", ...), or undefined when it is allowed.
 * Anything that does not parse as an IP address is refused.
 */
export function addressRefusal(ip: string, allowPrivate = false): string | undefined {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(ip.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  } catch {
    return "malformed address";
  }
  let mapped = "";
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
    mapped = "IPv4-mapped ";
  }
  const normal = addr.toNormalizedString();
  if (METADATA.has(normal) || METADATA.has(addr.toString())) return `${mapped}link-local address (cloud metadata)`;
  const range = addr.range();
  if (addr.kind() === "ipv4") {
    if (range === "unicast") return undefined;
    if (allowPrivate && PRIVATE_V4.has(range)) return undefined;
    return `${mapped}${NAMES[range] ?? `${range} address`}`;
  }
  const first = (addr as ipaddr.IPv6).parts[0];
  if (range === "unicast" && first >= 0x2000 && first <= 0x3fff) return undefined;
  if (allowPrivate && PRIVATE_V6.has(range)) return undefined;
  return NAMES[range] ?? (range === "unicast" ? "non-global IPv6 address" : `${range} address`);
}

const systemResolve = async (hostname: string): Promise<ResolvedAddress[]> => dns.promises.lookup(hostname, { all: true, verbatim: true });

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A lookup hook for node:http(s): resolves, refuses if ANY address is refused, hands over only checked ones. */
function guardedLookup(policy: SafeFetchPolicy) {
  const resolve = policy.resolve ?? policy.lookup ?? systemResolve;
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    resolve(hostname).then(
      (list) => {
        const wanted = options.family === 4 || options.family === 6 ? list.filter((a) => a.family === options.family) : list;
        if (wanted.length === 0) {
          const err = Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" });
          callback(err, "", 0);
          return;
        }
        for (const a of wanted) {
          const why = policyRefusal(a.address, policy);
          if (why) {
            callback(new UnsafeAddressError(hostname, a.address, why), "", 0);
            return;
          }
        }
        if (options.all) callback(null, wanted.map((a) => ({ address: a.address, family: a.family })));
        else callback(null, wanted[0].address, wanted[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}

export interface SafeRequestInit {
  method?: "GET" | "POST" | "HEAD";
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The deadline for the answer's head (and, for safeFetchToFile, the whole body). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Redirects followed (GET/HEAD only). Default 5; 0 returns the 3xx itself. */
  maxRedirects?: number;
}

export interface SafeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
}

/** Checks a URL's scheme and, for IP-literal hosts, its address (host names are checked at lookup). */
export function checkUrl(url: URL, policy: SafeFetchPolicy): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new FetchFailure(`the scheme ${url.protocol} is not supported`, "send an http(s) URL");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(host)) {
    const why = policyRefusal(host, policy);
    if (why) throw new UnsafeAddressError(host, host, why);
  }
}

function requestOnce(url: URL, init: SafeRequestInit, policy: SafeFetchPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  checkUrl(url, policy);
  const lib = url.protocol === "https:" ? https : http;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = lib.request(url, {
      method: init.method ?? "GET",
      headers: { accept: "*/*", ...init.headers, ...(init.body !== undefined ? { "content-length": String(Buffer.byteLength(init.body)) } : {}) },
      lookup: guardedLookup(policy) as unknown as net.LookupFunction,
      signal,
      agent: false,
    });
    req.once("response", resolve);
    req.once("error", reject);
    req.end(init.body);
  });
}

/**
 * One HTTP exchange under the policy; redirects followed and re-checked. Throws UnsafeAddressError,
 * FetchFailure (bad scheme, too many redirects), CancelledError (init.signal), or the network error
 * (an AbortError when the deadline passed). The caller must consume or destroy `body`.
 */
export async function safeRequest(url: URL, init: SafeRequestInit, policy: SafeFetchPolicy = {}): Promise<SafeResponse> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  const maxRedirects = init.maxRedirects ?? 5;
  let current = url;
  for (let hop = 0; ; hop++) {
    let res: IncomingMessage;
    try {
      res = await requestOnce(current, init, policy, signal);
    } catch (err) {
      if (init.signal?.aborted) throw new CancelledError();
      if (timeout.aborted && !(err instanceof UnsafeAddressError)) {
        throw new FetchFailure(`no answer within ${Math.round(init.timeoutMs / 1000)} s`, "use a faster host");
      }
      throw err;
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(status) && location && (init.method ?? "GET") !== "POST";
    if (!redirect || maxRedirects === 0) return { status, headers: res.headers, body: res, url: current };
    res.resume();
    if (hop >= maxRedirects) throw new FetchFailure(`more than ${maxRedirects} redirects`, "link the file itself");
    try {
      current = new URL(location, current);
    } catch {
      throw new FetchFailure("the server redirected to an invalid URL", "link the file itself");
    }
  }
}

const mb = (n: number) => `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
const UPLOAD_ADVICE = "use a public URL, or upload the file to this server (fal.storage.upload: POST /storage/upload/initiate) and pass the URL it returns";

/** An HttpFetcher (see fetch.ts) under the policy: the default download of fetchInput. */
export function createSafeHttpFetcher(policy: SafeFetchPolicy = {}): HttpFetcher {
  return async (url, dest, { maxBytes, timeoutMs, signal }) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const failed = (err: unknown): never => {
      if (signal?.aborted) throw new CancelledError();
      if (err instanceof UnsafeAddressError) throw new FetchFailure(`${err.message}, which this server does not fetch from`, UPLOAD_ADVICE);
      if (err instanceof FetchFailure || err instanceof CancelledError) throw err;
      if (timeout.aborted) {
        throw new FetchFailure(`the download did not finish within ${Math.round(timeoutMs / 1000)} s`, "use a faster host or upload the file to this server");
      }
      const e = err as NodeJS.ErrnoException;
      throw new FetchFailure(`the request failed (${e?.code ?? e?.message ?? String(err)})`, "check that the URL is public and reachable");
    };
    let res: SafeResponse;
    try {
      res = await safeRequest(url, { timeoutMs, signal: combined, maxRedirects: 5 }, policy);
    } catch (err) {
      return failed(err);
    }
    if (res.status < 200 || res.status >= 300) {
      res.body.destroy();
      throw new FetchFailure(`the server answered HTTP ${res.status}${res.body.statusMessage ? ` ${res.body.statusMessage}` : ""}`,
        "check that the URL is correct and publicly readable");
    }
    const declared = Number(res.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.body.destroy();
      throw new FetchFailure(`the file is ${mb(declared)}, over the ${mb(maxBytes)} limit`, "send a smaller file");
    }
    let bytes = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > maxBytes) cb(new FetchFailure(`the file is larger than the ${mb(maxBytes)} limit`, "send a smaller file"));
        else cb(null, chunk);
      },
    });
    try {
      await pipeline(res.body, cap, createWriteStream(dest), { signal: combined });
    } catch (err) {
      return failed(err);
    }
    if (bytes === 0) throw new FetchFailure("the server sent an empty file", "check the URL");
    const type = res.headers["content-type"];
    return { size: bytes, contentType: typeof type === "string" ? type : undefined };
  };
}
