/**
 * SSRF: every refused address class through the real fetch path (fetchInput -> the safe fetcher ->
 * node:http with the checking lookup hook), redirects re-checked, host names resolving to private
 * addresses, the connection going to the checked address, and webhooks held to the same rules.
 * Test servers listen on 127.0.0.1 and 127.0.0.2 (Linux routes all of 127/8 to loopback); a hit counter
 * proves a refused request never reached them.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/errors.js";
import { fetchInput, type FetchOptions } from "../../src/media/fetch.js";
import { addressRefusal, createSafeHttpFetcher, type SafeFetchPolicy } from "../../src/media/safe-fetch.js";
import type { Job } from "../../src/queue/types.js";
import { deliverWebhook } from "../../src/queue/webhook.js";

let dir: string;
const hits: Record<string, number> = { "127.0.0.1": 0, "127.0.0.2": 0 };
const servers: http.Server[] = [];
const ports: Record<string, number> = {};

function serve(host: string): Promise<void> {
  const server = http.createServer((req, res) => {
    hits[host]++;
    if (req.url?.startsWith("/redirect?to=")) {
      res.writeHead(302, { location: decodeURIComponent(req.url.slice("/redirect?to=".length)) }).end();
      return;
    }
    res.writeHead(200, { "content-type": "image/png" }).end(Buffer.from("fake png bytes"));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, host, () => {
    ports[host] = (server.address() as AddressInfo).port;
    resolve();
  }));
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-ssrf-"));
  await serve("127.0.0.1");
  await serve("127.0.0.2");
});
after(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const opts = (over: Partial<FetchOptions> = {}): FetchOptions => ({ dir, maxBytes: 1 << 20, timeoutMs: 3000, ...over, field: over.field ?? `image_url${n++}` });
const withPolicy = (policy: SafeFetchPolicy, over: Partial<FetchOptions> = {}) => opts({ httpFetch: createSafeHttpFetcher(policy), ...over });

function refused(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.match(e.message, /does not fetch from/);
    return true;
  };
}

describe("address classes", () => {
  it("classifies IPv4, IPv6 and IPv4-mapped IPv6 addresses", () => {
    const table: [string, RegExp | undefined][] = [
      ["127.0.0.1", /loopback/], ["127.9.9.9", /loopback/], ["10.1.2.3", /private/], ["172.16.0.1", /private/],
      ["192.168.1.1", /private/], ["169.254.169.254", /link-local.*metadata/], ["169.254.1.1", /link-local/],
      ["224.0.0.1", /multicast/], ["239.255.255.250", /multicast/], ["0.0.0.0", /unspecified/], ["255.255.255.255", /broadcast/],
      ["100.64.0.1", /carrier-grade NAT/], ["::1", /loopback/], ["::", /unspecified/], ["fe80::1", /link-local/],
      ["fd00::1", /unique-local/], ["ff02::1", /multicast/], ["::ffff:127.0.0.1", /IPv4-mapped loopback/],
      ["::ffff:10.0.0.1", /IPv4-mapped private/], ["::ffff:169.254.169.254", /IPv4-mapped link-local/],
      ["64:ff9b::7f00:1", /address/], ["2002:7f00:1::1", /address/], ["not-an-ip", /malformed/],
      ["93.184.216.34", undefined], ["8.8.8.8", undefined], ["2606:4700::1111", undefined], ["::ffff:8.8.8.8", undefined],
    ];
    for (const [ip, want] of table) {
      const got = addressRefusal(ip);
      if (want === undefined) assert.equal(got, undefined, ip);
      else assert.match(got ?? "(allowed)", want, ip);
    }
    // allowPrivate admits private networks, never metadata, multicast or unspecified.
    for (const ip of ["127.0.0.1", "10.1.2.3", "192.168.0.9", "::1", "fd00::1", "::ffff:192.168.0.1"]) assert.equal(addressRefusal(ip, true), undefined, ip);
    for (const ip of ["169.254.169.254", "fd00:ec2::254", "224.0.0.1", "0.0.0.0", "::", "255.255.255.255"]) assert.ok(addressRefusal(ip, true), ip);
  });
});

describe("fetchInput refuses private targets by default", () => {
  it("refuses each literal address class before connecting", async () => {
    const p1 = ports["127.0.0.1"];
    const cases: [string, RegExp][] = [
      [`http://127.0.0.1:${p1}/a.png`, /loopback/],
      [`http://[::1]:${p1}/a.png`, /loopback/],
      [`http://[::ffff:127.0.0.1]:${p1}/a.png`, /IPv4-mapped loopback/],
      [`http://[::ffff:7f00:1]:${p1}/a.png`, /IPv4-mapped loopback/],
      ["http://10.0.0.1/a.png", /private/],
      ["http://172.16.5.4/a.png", /private/],
      ["https://192.168.1.1/a.png", /private/],
      ["http://[fd12:3456::1]/a.png", /unique-local/],
      ["http://169.254.169.254/latest/meta-data/", /link-local/],
      ["http://[fe80::1]/a.png", /link-local/],
      ["http://224.0.0.1/a.png", /multicast/],
      ["http://[ff02::1]/a.png", /multicast/],
      ["http://0.0.0.0/a.png", /unspecified/],
      ["http://[::]/a.png", /unspecified/],
      ["http://2130706433/a.png", /loopback/], // 127.0.0.1 as one decimal number (the URL parser normalizes it)
      ["http://0x7f.1/a.png", /loopback/],
    ];
    const before = hits["127.0.0.1"];
    for (const [url, why] of cases) await assert.rejects(fetchInput(url, opts()), refused(why), url);
    assert.equal(hits["127.0.0.1"], before, "no refused request reached the server");
  });

  it("refuses host names that resolve to private addresses (system resolver and injected ones)", async () => {
    const before = hits["127.0.0.1"];
    await assert.rejects(fetchInput(`http://localhost:${ports["127.0.0.1"]}/a.png`, opts()), refused(/localhost resolves to .*loopback/));
    const resolve = async (host: string) => {
      if (host === "intranet.example") return [{ address: "10.20.30.40", family: 4 }];
      if (host === "mixed.example") return [{ address: "93.184.216.34", family: 4 }, { address: "127.0.0.1", family: 4 }];
      if (host === "metadata.example") return [{ address: "169.254.169.254", family: 4 }];
      if (host === "v6.example") return [{ address: "::ffff:127.0.0.1", family: 6 }];
      throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    };
    await assert.rejects(fetchInput("http://intranet.example/a.png", withPolicy({ resolve })), refused(/intranet\.example resolves to 10\.20\.30\.40, a private address/));
    await assert.rejects(fetchInput(`http://mixed.example:${ports["127.0.0.1"]}/a.png`, withPolicy({ resolve })), refused(/127\.0\.0\.1, a loopback/));
    await assert.rejects(fetchInput("http://metadata.example/", withPolicy({ resolve, allowPrivate: true })), refused(/metadata/));
    await assert.rejects(fetchInput(`http://v6.example:${ports["127.0.0.1"]}/a.png`, withPolicy({ resolve })), refused(/IPv4-mapped loopback/));
    assert.equal(hits["127.0.0.1"], before);
  });

  it("re-checks every redirect: an allowed host redirecting to 127.0.0.1 is refused", async () => {
    const policy: SafeFetchPolicy = { allowAddresses: ["127.0.0.2"] };
    const target = `http://127.0.0.1:${ports["127.0.0.1"]}/secret.png`;
    const [b1, b2] = [hits["127.0.0.1"], hits["127.0.0.2"]];
    const ok = await fetchInput(`http://127.0.0.2:${ports["127.0.0.2"]}/a.png`, withPolicy(policy));
    assert.equal(ok.size, "fake png bytes".length, "the allowed host itself is fetched");
    await assert.rejects(
      fetchInput(`http://127.0.0.2:${ports["127.0.0.2"]}/redirect?to=${encodeURIComponent(target)}`, withPolicy(policy)),
      refused(/127\.0\.0\.1 is a loopback address/));
    await assert.rejects(
      fetchInput(`http://127.0.0.2:${ports["127.0.0.2"]}/redirect?to=${encodeURIComponent(`http://localhost:${ports["127.0.0.1"]}/x`)}`, withPolicy(policy)),
      refused(/localhost resolves to/));
    assert.equal(hits["127.0.0.2"], b2 + 3, "the redirector was asked");
    assert.equal(hits["127.0.0.1"], b1, "the redirect target was never contacted");
  });

  it("connects to the address that was checked (one lookup; a rebinding answer is never used)", async () => {
    let calls = 0;
    const resolve = async () => (calls++ === 0 ? [{ address: "127.0.0.2", family: 4 }] : [{ address: "127.0.0.1", family: 4 }]);
    const [b1, b2] = [hits["127.0.0.1"], hits["127.0.0.2"]];
    const f = await fetchInput(`http://media.example:${ports["127.0.0.2"]}/a.png`, withPolicy({ resolve, allowAddresses: ["127.0.0.2"] }));
    assert.equal(f.size, "fake png bytes".length);
    assert.equal(calls, 1);
    assert.equal(hits["127.0.0.2"], b2 + 1);
    assert.equal(hits["127.0.0.1"], b1);
  });

  it("allowPrivateUrls admits loopback hosts (media on one's own network)", async () => {
    const f = await fetchInput(`http://127.0.0.1:${ports["127.0.0.1"]}/a.png`, opts({ allowPrivateUrls: true }));
    assert.equal(f.size, "fake png bytes".length);
    const g = await fetchInput(`http://localhost:${ports["127.0.0.1"]}/a.png`, opts({ allowPrivateUrls: true }));
    assert.equal(g.size, "fake png bytes".length);
  });
});

describe("webhooks obey the same rules", () => {
  it("refuses a receiver on a private address unless allowed", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const job = {
      id: "0b0e8c5e-0000-4000-8000-000000000001", endpointId: "fal-ai/ai-avatar", owner: "local", input: {}, status: "COMPLETED",
      outcome: "OK", result: { ok: 1 }, cancelRequested: false, attempts: 1, createdAt: new Date().toISOString(), logCount: 0,
      webhookAttempts: 0, webhookUrl: `http://127.0.0.1:${ports["127.0.0.1"]}/hook`,
    } satisfies Job;
    const before = hits["127.0.0.1"];
    const refusedResult = await deliverWebhook(job, { signingKey: privateKey });
    assert.equal(refusedResult.ok, false);
    assert.match(refusedResult.error ?? "", /loopback/);
    assert.equal(hits["127.0.0.1"], before);
    const meta = await deliverWebhook({ ...job, webhookUrl: "http://169.254.169.254/hook" }, { signingKey: privateKey, allowPrivateUrls: true });
    assert.match(meta.error ?? "", /metadata/);
    const allowed = await deliverWebhook(job, { signingKey: privateKey, allowPrivateUrls: true });
    assert.deepEqual(allowed, { ok: true });
    assert.equal(hits["127.0.0.1"], before + 1);
  });
});
