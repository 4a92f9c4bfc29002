/**
 * Crash safety with the real server process: submit 3 requests, `kill -9` the server while the first
 * renders, start it again on the same data dir: all 3 complete, the interrupted one on a second attempt.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { freePort } from "../../src/cli/serve.js";

const ENTRY = path.resolve("test/api/serve-process.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(dataDir: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", ENTRY, "--data-dir", dataDir, ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", TEST_MS_PER_FRAME: "25", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function output(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

async function waitUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error("server did not start");
}

describe("restart after kill -9", { timeout: 180_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it("runs every queued request, and the interrupted one again, after a crash", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-restart-"));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const created = await output(cli(dataDir, ["keys", "create", "--name", "restart"]));
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^[0-9a-f]{12}:[A-Za-z0-9_-]{43}$/);
    const port = await freePort("127.0.0.1");
    const url = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Key ${key}`, "content-type": "application/json" };

    const first = cli(dataDir, ["serve", "--port", String(port)]);
    cleanup.push(async () => void first.kill("SIGKILL"));
    await waitUp(url, first);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/queue/fal-ai/ai-avatar`, {
        method: "POST", headers,
        body: JSON.stringify({ image_url: "data:image/png;base64,iVBORw0KGgo=", audio_url: "data:audio/wav;base64,UklGRg==", prompt: `r${i}`, num_frames: 60 }),
      });
      assert.equal(res.status, 200);
      ids.push(((await res.json()) as { request_id: string }).request_id);
    }
    const status = async (id: string) =>
      (await (await fetch(`${url}/queue/fal-ai/ai-avatar/requests/${id}/status?logs=1`, { headers })).json()) as {
        status: string; queue_position?: number; logs: { message: string }[];
      };
    // Kill while the first one renders (some frames done, not all).
    for (let i = 0; i < 200; i++) {
      const s = await status(ids[0]);
      if (s.logs.some((l) => /^rendered (\d+)\/60 frames$/.test(l.message) && !l.message.startsWith("rendered 1/"))) break;
      await sleep(25);
    }
    const before = await Promise.all(ids.map(status));
    assert.deepEqual(before.map((s) => s.status), ["IN_PROGRESS", "IN_QUEUE", "IN_QUEUE"]);
    assert.deepEqual([before[1].queue_position, before[2].queue_position], [0, 1]);
    first.kill("SIGKILL");
    await once(first, "close");

    const second = cli(dataDir, ["serve", "--port", String(port)]);
    cleanup.push(async () => {
      if (second.exitCode === null) {
        second.kill("SIGTERM");
        await once(second, "close");
      }
    });
    await waitUp(url, second);
    for (let i = 0; i < 600; i++) {
      const all = await Promise.all(ids.map(status));
      if (all.every((s) => s.status === "COMPLETED")) break;
      await sleep(100);
    }
    const final = await Promise.all(ids.map(status));
    assert.deepEqual(final.map((s) => s.status), ["COMPLETED", "COMPLETED", "COMPLETED"]);
    for (const id of ids) {
      const res = await fetch(`${url}/queue/fal-ai/ai-avatar/requests/${id}`, { headers });
      assert.equal(res.status, 200);
      const out = (await res.json()) as { video: { url: string; file_size: number } };
      const video = await fetch(out.video.url);
      assert.equal((await video.arrayBuffer()).byteLength, out.video.file_size);
    }
    const messages = final[0].logs.map((l) => l.message);
    assert.ok(messages.includes("The worker running this request stopped; it is queued again."), JSON.stringify(messages));
    assert.ok(messages.includes("Started again (attempt 2)."));
    assert.ok(!final[1].logs.some((l) => l.message.startsWith("Started again")));
    // A graceful stop (SIGTERM) exits cleanly.
    second.kill("SIGTERM");
    const [code] = (await once(second, "close")) as [number | null];
    assert.equal(code, 0);
  });
});
