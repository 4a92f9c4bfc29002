import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import ffprobe from "@ffprobe-installer/ffprobe";
import { pino } from "pino";
import { main } from "../../src/cli/main.js";
import { runGenerate } from "../../src/cli/generate.js";
import { loadConfig } from "../../src/config.js";
import { createRunner } from "../support/test-runner.js";

/** Runs the CLI in this process, capturing what it writes. */
async function run(args: string[]): Promise<{ stdout: string; stderr: string; error?: Error }> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    await main(["node", "mouthpiece", ...args], createRunner);
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error: error as Error };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe("mouthpiece CLI", () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-cli-"));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it("keys create | list | revoke", async () => {
    const created = await run(["--data-dir", dataDir, "keys", "create", "--name", "laptop"]);
    assert.equal(created.error, undefined);
    const key = created.stdout.trim();
    const id = key.split(":")[0];
    assert.match(created.stderr, new RegExp(`Created key ${id} \\(laptop\\)`));
    const listed = JSON.parse((await run(["--data-dir", dataDir, "keys", "list", "--json"])).stdout) as { id: string; name: string; revokedAt?: string }[];
    assert.deepEqual(listed.map((k) => [k.id, k.name, k.revokedAt]), [[id, "laptop", undefined]]);
    assert.ok(!JSON.stringify(listed).includes(key.split(":")[1]), "never prints the secret");
    assert.equal((await run(["--data-dir", dataDir, "keys", "revoke", id])).error, undefined);
    const text = (await run(["--data-dir", dataDir, "keys", "list"])).stdout;
    assert.match(text, new RegExp(`^${id}\\trevoked\\t`));
    const again = await run(["--data-dir", dataDir, "keys", "revoke", id]);
    assert.match(String(again.error?.message), /No active key/);
  });

  it("generate: one request locally, from local files and flags, to an MP4", async () => {
    const image = path.join(dataDir, "face.png");
    await writeFile(image, Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64"));
    const out = path.join(dataDir, "out.mp4");
    const lines: string[] = [];
    const config = loadConfig({}, { dataDir, logLevel: "silent" });
    const { output, file } = await runGenerate({
      config, logger: pino({ level: "silent" }), createRunner, endpointId: "fal-ai/ai-avatar/single-text",
      flags: { image, text: "Hello there", voice: "Aria", numFrames: "50", seed: "11", out },
      print: (l) => lines.push(l),
    });
    assert.equal(file, out);
    assert.equal(output.seed, 11);
    assert.ok(lines.includes("rendered 50/50 frames"));
    assert.ok(lines.some((l) => /image_url: \d+ bytes image\/png \(storage\)/.test(l)), JSON.stringify(lines));
    assert.equal((await stat(out)).size, output.video.file_size);
    const probe = await promisify(execFile)(ffprobe.path, ["-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height", "-of", "json", out]);
    const info = JSON.parse(probe.stdout) as { format: { duration: string }; streams: { codec_name: string; width?: number }[] };
    assert.deepEqual(info.streams.map((s) => s.codec_name).sort(), ["aac", "h264"]);
    assert.equal(info.streams.find((s) => s.codec_name === "h264")?.width, 854);
    assert.ok(Math.abs(Number(info.format.duration) - 2) < 0.1, info.format.duration);
  });

  it("generate rejects bad input with the field and reason", async () => {
    const config = loadConfig({}, { dataDir, logLevel: "silent" });
    await assert.rejects(
      runGenerate({ config, logger: pino({ level: "silent" }), createRunner, endpointId: "fal-ai/ai-avatar", flags: { image: "data:image/png;base64,AA==", audio: "data:audio/wav;base64,AA==", numFrames: "5" } }),
      /num_frames: Input should be greater than or equal to 41/,
    );
    await assert.rejects(
      runGenerate({ config, logger: pino({ level: "silent" }), createRunner, endpointId: "fal-ai/ai-avatar", flags: { image: "/no/such/file.png" } }),
      /image_url: \/no\/such\/file\.png is neither a URL nor a readable file/,
    );
    await assert.rejects(
      runGenerate({ config, logger: pino({ level: "silent" }), createRunner, endpointId: "fal-ai/nope", flags: {} }),
      /Unknown endpoint/,
    );
  });
});
