import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import ffprobe from "@ffprobe-installer/ffprobe";
import { pino } from "pino";
import sharp from "sharp";
import type { FastifyPluginAsync } from "fastify";
import { main, playgroundPlugins } from "../../src/cli/main.js";
import { productionRunner, sharedSpeech, type SharedSpeech } from "../../src/cli/runner.js";
import { freePort, startServe } from "../../src/cli/serve.js";
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

  it("one speech synthesizer per process: the production pipeline speaks with the shared one", async () => {
    const shared = sharedSpeech();
    const config = loadConfig({}, { dataDir, logLevel: "silent" });
    const synth = shared.get(config);
    assert.equal(shared.get(loadConfig({}, { dataDir, elevenLabsApiKey: "later" })), synth, "the first get() decides; later ones share it");
    assert.equal(synth.provider, "flite");
    const spoken: string[] = [];
    const spy: SharedSpeech = {
      get: (c, l) => {
        const s = shared.get(c, l);
        return { ...s, provider: s.provider, voices: s.voices, speak: (r) => (spoken.push(`${r.voice}: ${r.text}`), s.speak(r)) };
      },
      close: () => shared.close(),
    };
    const image = path.join(dataDir, "still.png");
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 160, b: 140 } } }).png().toFile(image);
    const noFaces = { detect: async () => [] };
    const { output } = await runGenerate({
      config, logger: pino({ level: "silent" }), createRunner: productionRunner(noFaces, spy), endpointId: "fal-ai/ai-avatar/single-text",
      flags: { image, text: "Hello there", voice: "Bill", numFrames: "41", out: path.join(dataDir, "spoken.mp4") },
      print: () => undefined,
    });
    assert.equal(output.video.content_type, "video/mp4");
    assert.deepEqual(spoken, ["Bill: Hello there"]);
    // Released at shutdown; a later use loads it again.
    await shared.close();
    assert.ok((await synth.sample("Bill")).length > 10_000);
    await shared.close();
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

/** Newest modification time (ms) of the files under dir. */
async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, (await stat(path.join(e.parentPath, e.name))).mtimeMs);
  }
  return t;
}

describe("npm start", () => {
  it("serves the API within a few seconds on a fresh data dir, and stops cleanly on SIGTERM", async (t) => {
    // `npm start` is `node bin/mouthpiece.js serve`, which runs dist/ (built by `npm install`'s prepare): that is the
    // bar, 5 s. When dist is missing or older than src (a working copy mid-edit), the same CLI runs from source through
    // tsx instead, which compiles every module first (a cold tsx cache on a busy machine took 8 s): a looser bound.
    const srcTime = await newest("src");
    const built = await stat("dist/cli/main.js").then((s) => s.mtimeMs >= srcTime, () => false);
    const [args, boundMs] = built ? [["bin/mouthpiece.js"], 5_000] : [["--import", "tsx", "src/cli/entry.ts"], 15_000];
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-start-"));
    const port = await freePort("127.0.0.1");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MOUTHPIECE_|PORT$|HOST$|LOG_LEVEL$|ELEVENLABS_)/.test(k)));
    const t0 = performance.now();
    const child = spawn(process.execPath, [...args, "serve", "--port", String(port), "--data-dir", path.join(dataDir, "data")], {
      env: { ...env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let readyMs = -1;
      let paths: string[] = [];
      while (performance.now() - t0 < 30_000 && child.exitCode === null) {
        const res = await fetch(`http://127.0.0.1:${port}/openapi.json`).catch(() => undefined);
        if (res?.status === 200) {
          readyMs = performance.now() - t0;
          paths = Object.keys(((await res.json()) as { paths: Record<string, unknown> }).paths);
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(readyMs > 0, `the server never answered: ${stderr}`);
      assert.ok(paths.some((p) => p.includes("fal-ai/ai-avatar")), paths.join(", "));
      const how = built ? "node bin/mouthpiece.js serve (dist)" : "node --import tsx src/cli/entry.ts serve (dist missing or stale)";
      t.diagnostic(`${how}: GET /openapi.json answered ${Math.round(readyMs)} ms after the start`);
      assert.ok(readyMs < boundMs, `${how} answered after ${Math.round(readyMs)} ms (bound ${boundMs} ms)`);
      // The API answers as soon as it listens; the shutdown handlers are in place once it logs that it is listening.
      while (!stdout.includes("mouthpiece is listening") && child.exitCode === null && performance.now() - t0 < 30_000) {
        await new Promise((r) => setTimeout(r, 25));
      }
      child.kill("SIGTERM");
      assert.equal(await exited, 0, `exit code on SIGTERM; stderr: ${stderr}`);
      assert.match(stdout, /"msg":"shutting down"/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * Every route the server registers, as "METHOD pattern": HEAD (implied by GET) left out, parameter names dropped
 * (":"), wildcards "*".
 */
async function registeredRoutes(): Promise<Set<string>> {
  const routes = new Set<string>();
  const spy: FastifyPluginAsync = Object.assign(
    async (app: Parameters<FastifyPluginAsync>[0]) => {
      app.addHook("onRoute", (r) => {
        for (const m of [r.method].flat()) if (m !== "HEAD") routes.add(`${m} ${r.url.replace(/:\w+/g, ":")}`);
      });
    },
    // Registered on the root, so the hook sees every later route, in every scope.
    { [Symbol.for("skip-override")]: true },
  );
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-routes-"));
  const config = loadConfig({}, { dataDir, port: 0, logLevel: "silent" });
  // As `mouthpiece serve` builds it: the API plus the playground.
  const server = await startServe({ config, logger: pino({ level: "silent" }), worker: false, createRunner, plugins: (svc) => [spy, ...playgroundPlugins()(svc)] });
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
  return routes;
}

/**
 * The rows of docs/api.md's route table as "METHOD pattern": `{endpoint_id}`, `{app}` and `{key}` span slashes
 * (a wildcard, which ends the pattern), other `{name}`s are one segment, `[?query]` is dropped.
 */
async function documentedRoutes(): Promise<Set<string>> {
  const doc = await readFile("docs/api.md", "utf8");
  const table = doc.slice(doc.indexOf("## Routes"), doc.indexOf("\n## ", doc.indexOf("## Routes") + 1));
  const routes = new Set<string>();
  for (const line of table.split("\n")) {
    const m = /^\| ([A-Z, ]+) \| `([^`]+)` \|/.exec(line);
    if (!m) continue;
    let pattern = m[2].replace(/\[[^\]]*\]/g, "");
    const wild = /\{(endpoint_id|app|key)\}/.exec(pattern);
    if (wild) pattern = `${pattern.slice(0, wild.index)}*`;
    pattern = pattern.replace(/\{\w+\}/g, ":");
    for (const method of m[1].split(",").map((x) => x.trim())) if (method !== "HEAD") routes.add(`${method} ${pattern}`);
  }
  return routes;
}

describe("docs/api.md", () => {
  it("lists exactly the routes the server registers", async () => {
    const registered = await registeredRoutes();
    const documented = await documentedRoutes();
    assert.ok(registered.size >= 20, [...registered].join("\n"));
    assert.deepEqual([...registered].filter((r) => !documented.has(r)).sort(), [], "registered but not in docs/api.md's route table");
    assert.deepEqual([...documented].filter((r) => !registered.has(r)).sort(), [], "in docs/api.md's route table but not registered");
  });
});
