/**
 * The REAL official client (@fal-ai/client) against a real server on a socket, through the proxy route:
 * what people will point at this server must work unchanged. The suite runs against any layout:
 * test/api/client.test.ts (embedded: one process, SQLite, local files) and test/scale/client.test.ts
 * (Redis + S3, an API node and two worker processes).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiError, createFalClient, ValidationError, type FalClient } from "@fal-ai/client";
import type { JobQueue } from "../../src/queue/types.js";

/** A running layout: the API's URL, its queue (any node's view of it), and a way to make an API key. */
export interface ClientServer {
  url: string;
  queue: JobQueue;
  createKey(name: string): string;
  close(): Promise<void>;
}

export interface ClientLayout {
  /** Requests the layout renders at once (worker slots in all its workers). */
  slots: number;
  /** Starts it with the server tests' runner (test/support/test-runner.ts) in its workers. */
  start(): Promise<ClientServer>;
}

const INPUT = {
  image_url: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  audio_url: "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=",
  prompt: "A person talking",
  num_frames: 41,
};

type Log = { message: string; level: string; source: string; timestamp: string };
type Output = { video: { url: string; content_type: string; file_size: number }; seed: number };

export function runClientSuite(name: string, layout: ClientLayout): void {
  describe(`official @fal-ai/client through /api/fal/proxy: ${name}`, { timeout: 180_000 }, () => {
    let server: ClientServer;
    let fal: FalClient;
    let key: string;

    before(async () => {
      server = await layout.start();
      key = server.createKey("client-test");
      // In Node the proxy applies only with when: "always" (the default, "browser", skips it outside browsers).
      fal = createFalClient({ credentials: key, proxyUrl: { url: `${server.url}/api/fal/proxy`, when: "always" } });
    });
    after(async () => {
      await server?.close();
    });

    const jobOf = async (id: string) => (await server.queue.get(id))!;

    it("subscribe (polling) with logs: queue updates, then the result; the video is downloadable", async () => {
      const updates: { status: string; logs?: Log[] }[] = [];
      const result = await fal.subscribe("fal-ai/ai-avatar", {
        input: INPUT, logs: true, pollInterval: 100,
        onQueueUpdate: (u) => updates.push(u as { status: string; logs?: Log[] }),
      });
      const data = result.data as Output;
      assert.match(result.requestId, /^[0-9a-f-]{36}$/);
      assert.equal(updates.at(-1)!.status, "COMPLETED");
      const logs = updates.at(-1)!.logs!;
      assert.ok(logs.some((l) => l.message === "rendered 41/41 frames"), JSON.stringify(logs.map((l) => l.message)));
      assert.equal(logs[0].source, "USER");
      const video = await fetch(data.video.url);
      assert.equal(video.status, 200);
      assert.equal(video.headers.get("content-type"), "video/mp4");
      assert.equal((await video.arrayBuffer()).byteLength, data.video.file_size);
    });

    it("subscribe (streaming) with logs: every line once, ending COMPLETED", async () => {
      const updates: { status: string; logs?: Log[] }[] = [];
      const result = await fal.subscribe("fal-ai/infinitalk", {
        input: { ...INPUT, seed: 5 }, logs: true, mode: "streaming",
        onQueueUpdate: (u) => updates.push(u as { status: string; logs?: Log[] }),
      });
      assert.equal((result.data as Output).seed, 5);
      assert.equal(updates.at(-1)!.status, "COMPLETED");
      const seen = updates.at(-1)!.logs!.map((l) => l.message);
      const stored = (await server.queue.logs(result.requestId)).map((l) => l.message);
      assert.deepEqual(seen, stored, "the client's accumulated logs equal the stored ones: no line twice");
    });

    it("queue.submit / status / result, addressed by owner/alias for a sub-endpoint", async () => {
      const { request_id } = await fal.queue.submit("fal-ai/ai-avatar/single-text", {
        input: { image_url: INPUT.image_url, text_input: "Hello from the test.", voice: "Aria", prompt: "p", num_frames: 41 },
      });
      const first = await fal.queue.status("fal-ai/ai-avatar/single-text", { requestId: request_id, logs: true });
      assert.ok(["IN_QUEUE", "IN_PROGRESS", "COMPLETED"].includes(first.status));
      for (let i = 0; i < 300; i++) {
        const s = await fal.queue.status("fal-ai/ai-avatar/single-text", { requestId: request_id });
        if (s.status === "COMPLETED") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const result = await fal.queue.result("fal-ai/ai-avatar/single-text", { requestId: request_id });
      assert.equal(result.requestId, request_id);
      assert.equal((result.data as Output).video.content_type, "video/mp4");
    });

    it("cancel: a queued request and the running one ahead of it", async () => {
      // As many long requests as the layout runs at once, so that the next one waits.
      const longs = [];
      for (let i = 0; i < layout.slots; i++) longs.push(await fal.queue.submit("fal-ai/infinitalk", { input: { ...INPUT, num_frames: 721 } }));
      const long = longs[0];
      for (let i = 0; i < 500 && (await Promise.all(longs.map((l) => jobOf(l.request_id)))).some((j) => j.status !== "IN_PROGRESS"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const queued = await fal.queue.submit("fal-ai/ai-avatar", { input: INPUT });
      const status = await fal.queue.status("fal-ai/ai-avatar", { requestId: queued.request_id });
      assert.equal(status.status, "IN_QUEUE");
      assert.equal((status as { queue_position: number }).queue_position, 0);
      await fal.queue.cancel("fal-ai/ai-avatar", { requestId: queued.request_id });
      assert.equal((await jobOf(queued.request_id)).outcome, "CANCELLED");
      await assert.rejects(fal.queue.result("fal-ai/ai-avatar", { requestId: queued.request_id }), (e: unknown) => e instanceof ApiError && e.status === 499);
      for (let i = 0; i < 300 && (await jobOf(long.request_id)).status !== "IN_PROGRESS"; i++) await new Promise((r) => setTimeout(r, 20));
      await fal.queue.cancel("fal-ai/infinitalk", { requestId: long.request_id });
      for (let i = 0; i < 100 && (await jobOf(long.request_id)).status !== "COMPLETED"; i++) await new Promise((r) => setTimeout(r, 20));
      const done = await jobOf(long.request_id);
      assert.equal(done.outcome, "CANCELLED");
      assert.ok((done.progress?.done ?? 0) < 721);
      for (const other of longs.slice(1)) await fal.queue.cancel("fal-ai/infinitalk", { requestId: other.request_id });
      for (const other of longs.slice(1)) {
        for (let i = 0; i < 100 && (await jobOf(other.request_id)).status !== "COMPLETED"; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal((await jobOf(other.request_id)).outcome, "CANCELLED");
      }
    });

    it("storage.upload of a Blob, then the file is served back", async () => {
      const bytes = new Uint8Array(50_000).map((_, i) => i % 251);
      const url = await fal.storage.upload(new Blob([bytes], { type: "audio/wav" }));
      assert.ok(url.startsWith(`${server.url}/files/`), url);
      const res = await fetch(url);
      assert.equal(res.headers.get("content-type"), "audio/wav");
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
    });

    it("storage.upload of a Blob over 90 MB goes multipart and arrives whole", async () => {
      const size = 91 * 1024 * 1024 + 123;
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 256;
      const url = await fal.storage.upload(new Blob([bytes], { type: "video/mp4" }));
      const res = await fetch(url, { headers: { range: `bytes=${size - 4096 * 3}-` } });
      assert.equal(res.status, 206);
      const tail = new Uint8Array(await res.arrayBuffer());
      assert.equal(tail.length, 4096 * 3);
      assert.deepEqual(tail, bytes.subarray(size - 4096 * 3));
      assert.equal(res.headers.get("content-range"), `bytes ${size - 4096 * 3}-${size - 1}/${size}`);
    });

    it("auto-uploads Blob inputs, and takes data-URI inputs as they are", async () => {
      const png = Buffer.from(INPUT.image_url.split(",")[1], "base64");
      const result = await fal.subscribe("fal-ai/ai-avatar", {
        input: { ...INPUT, image_url: new Blob([png], { type: "image/png" }) }, logs: true,
      });
      const logs = (await server.queue.logs(result.requestId)).map((l) => l.message);
      assert.ok(logs.includes(`image_url: ${png.length} bytes image/png (storage)`), JSON.stringify(logs));
      assert.ok(logs.includes("audio_url: 44 bytes audio/wav (data)"), JSON.stringify(logs));
      const job = await jobOf(result.requestId);
      assert.match(String(job.input.image_url), /^http:\/\/127\.0\.0\.1:\d+\/files\//);
    });

    it("fal.run (sync) through the proxy", async () => {
      const result = await fal.run("fal-ai/ai-avatar/multi", {
        input: { image_url: INPUT.image_url, first_audio_url: INPUT.audio_url, prompt: "two people", num_frames: 41, seed: 3 },
      });
      assert.equal((result.data as Output).seed, 3);
      assert.ok(result.requestId);
    });

    it("422 in fal's shape: a bad enum and num_frames=5 surface as ValidationError", async () => {
      await assert.rejects(
        fal.subscribe("fal-ai/ai-avatar", { input: { ...INPUT, resolution: "1080p", num_frames: 5 } }),
        (e: unknown) => {
          assert.ok(e instanceof ValidationError);
          assert.equal(e.status, 422);
          assert.deepEqual(e.getFieldErrors("num_frames"), [{ loc: ["body", "num_frames"], msg: "Input should be greater than or equal to 41", type: "greater_than_equal" }]);
          assert.deepEqual(e.getFieldErrors("resolution"), [{ loc: ["body", "resolution"], msg: "Input should be '480p' or '720p'", type: "enum" }]);
          return true;
        },
      );
    });

    it("a failure inside the run reaches the client as the model's error", async () => {
      await assert.rejects(
        fal.subscribe("fal-ai/ai-avatar", { input: { ...INPUT, prompt: "fail:input" } }),
        (e: unknown) => e instanceof ValidationError && e.fieldErrors[0].loc[1] === "image_url",
      );
    });

    it("401 without a key", async () => {
      const anonymous = createFalClient({ credentials: undefined, proxyUrl: { url: `${server.url}/api/fal/proxy`, when: "always" } });
      await assert.rejects(anonymous.queue.submit("fal-ai/ai-avatar", { input: INPUT }), (e: unknown) => e instanceof ApiError && e.status === 401);
      const wrong = createFalClient({ credentials: "abc:def", proxyUrl: { url: `${server.url}/api/fal/proxy`, when: "always" } });
      await assert.rejects(wrong.subscribe("fal-ai/ai-avatar", { input: INPUT }), (e: unknown) => e instanceof ApiError && e.status === 401);
    });

    it("a sync caller that hangs up cancels its request", async () => {
      const controller = new AbortController();
      const call = fetch(`${server.url}/fal-ai/infinitalk`, {
        method: "POST", signal: controller.signal,
        headers: { authorization: `Key ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ ...INPUT, num_frames: 721 }),
      }).catch((e: unknown) => e);
      let id: string | undefined;
      for (let i = 0; i < 300 && !id; i++) {
        await new Promise((r) => setTimeout(r, 20));
        id = (await server.queue.listByOwner(`key:${key.split(":")[0]}`, 1)).find((j) => j.status === "IN_PROGRESS" && j.endpointId === "fal-ai/infinitalk")?.id;
      }
      assert.ok(id, "the sync request started");
      controller.abort();
      await call;
      for (let i = 0; i < 100 && (await jobOf(id)).status !== "COMPLETED"; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await jobOf(id)).outcome, "CANCELLED");
    });
  });
}
