/**
 * Retention (MOUTHPIECE_RETENTION_HOURS): a sweep deletes the requests that finished before now - retention
 * (status, result and logs then answer 404) and the stored files made before then (their URLs answer 404);
 * newer ones and unfinished requests stay. Off by default.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { pino } from "pino";
import { startServe } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { startRetention } from "../../src/queue/retention.js";
import { createRunner } from "../support/test-runner.js";
import { AVATAR_INPUT, makeApp } from "./helpers.js";

const HOUR = 3600_000;

describe("retention", () => {
  it("deletes finished requests and stored files past the retention; newer ones and unfinished requests stay", async () => {
    const t = await makeApp();
    try {
      const submit = async (prompt: string) => {
        const res = await t.app.inject({ method: "POST", url: "/queue/fal-ai/ai-avatar", headers: t.auth, payload: { ...AVATAR_INPUT, prompt } });
        assert.equal(res.statusCode, 200);
        return (res.json() as { request_id: string }).request_id;
      };
      const get = (url: string) => t.app.inject({ method: "GET", url, headers: t.auth });
      const done = await submit("finishes");
      await t.waitDone(done);
      const held = await submit("hold");
      const upload = await t.storage.put({ body: Buffer.from("an upload"), contentType: "text/plain", fileName: "note.txt" });
      // A temp file left by a process killed while storing, last written half an hour ago.
      const stale = path.join(t.dataDir, "tmp", "1-killed.part");
      await writeFile(stale, "partial");
      await utimes(stale, new Date(Date.now() - HOUR / 2), new Date(Date.now() - HOUR / 2));
      const result = (await get(`/queue/fal-ai/ai-avatar/requests/${done}`)).json() as { video: { url: string } };
      const video = new URL(result.video.url).pathname;
      assert.equal((await get(video)).statusCode, 200);

      let clock = Date.now();
      const retention = startRetention({ queue: t.queue, storage: t.storage, retentionMs: HOUR, logger: pino({ level: "silent" }), now: () => clock, firstAfterMs: HOUR });
      try {
        assert.deepEqual(await retention.sweep(), { requests: 0, files: 0 }, "nothing is an hour old yet");
        assert.equal((await get(`/queue/fal-ai/ai-avatar/requests/${done}/status`)).statusCode, 200);
        assert.equal(existsSync(stale), true, "a temp file half an hour old stays");

        clock += 2 * HOUR;
        const swept = await retention.sweep();
        assert.equal(swept.requests, 1, "the finished request");
        assert.ok(swept.files >= 2, `the output video and the upload (${swept.files})`);
        for (const url of [`/queue/fal-ai/ai-avatar/requests/${done}/status`, `/queue/fal-ai/ai-avatar/requests/${done}`, video, new URL(upload.url).pathname]) {
          assert.equal((await get(url)).statusCode, 404, url);
        }
        const status = (await get(`/queue/fal-ai/ai-avatar/requests/${held}/status`)).json() as { status: string };
        assert.equal(status.status, "IN_PROGRESS", "a running request is never deleted");
        assert.equal(existsSync(stale), false, "the killed process's temp file is gone");
      } finally {
        await retention.stop();
      }
    } finally {
      await t.close();
    }
  });

  it("`serve` sweeps only when MOUTHPIECE_RETENTION_HOURS is set", async () => {
    const logger = pino({ level: "silent" });
    for (const [env, on] of [[{}, false], [{ MOUTHPIECE_RETENTION_HOURS: "168" }, true]] as const) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-retention-"));
      const server = await startServe({ config: loadConfig(env, { dataDir, port: 0, logLevel: "silent" }), logger, worker: false, createRunner });
      try {
        assert.equal(server.config.retentionHours, on ? 168 : 0);
        assert.equal(server.retention !== undefined, on);
      } finally {
        await server.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    }
    assert.throws(() => loadConfig({ MOUTHPIECE_RETENTION_HOURS: "-1" }), /retentionHours/);
    assert.throws(() => loadConfig({ MOUTHPIECE_RETENTION_HOURS: "0.5" }), /retentionHours: 0 \(keep everything\) or at least 1 hour/);
    assert.equal(loadConfig({ MOUTHPIECE_RETENTION_HOURS: "1.5" }).retentionHours, 1.5);
  });
});
