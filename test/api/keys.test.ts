import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it, mock } from "node:test";
import { KeyStore, VERIFIED_TTL_MS } from "../../src/api/keys.js";

describe("KeyStore.verify's memory of verified keys", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const twoStores = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mp-keys-"));
    dirs.push(dir);
    const file = path.join(dir, "mouthpiece.db");
    return { server: KeyStore.open({ file }), cli: KeyStore.open({ file }) };
  };

  it("a key revoked by another process (the CLI) stops working within VERIFIED_TTL_MS", async () => {
    const { server, cli } = await twoStores();
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const { key, info } = cli.create("laptop");
      assert.deepEqual(server.verify(key), { owner: `key:${info.id}`, kind: "key" });
      assert.equal(cli.revoke(info.id), true);
      // Remembered: the server has not read the store again yet.
      mock.timers.tick(VERIFIED_TTL_MS - 1);
      assert.deepEqual(server.verify(key), { owner: `key:${info.id}`, kind: "key" });
      mock.timers.tick(1);
      assert.equal(server.verify(key), undefined);
      assert.equal(server.verify(key), undefined, "a refused key is not remembered as valid");
    } finally {
      mock.timers.reset();
      server.close();
      cli.close();
    }
  });

  it("remembers only keys that verified, and a wrong secret for a known id is refused", async () => {
    const { server, cli } = await twoStores();
    try {
      const { key, info } = cli.create("laptop");
      assert.ok(server.verify(key));
      assert.equal(server.verify(`${info.id}:not-the-secret`), undefined);
      assert.equal(server.verify(`${key}x`), undefined);
      assert.ok(server.verify(key));
    } finally {
      server.close();
      cli.close();
    }
  });
});
