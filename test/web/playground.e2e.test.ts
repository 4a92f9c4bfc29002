/**
 * The playground in a real browser (Debian's chromium through playwright-core) against the real server:
 * buildServer (via startServe) with the SQLite queue, the worker, storage uploads, the fal proxy route, the
 * test runner from test/support (a real MP4 made by ffmpeg, progress logged as "rendered N/M frames"), the
 * CLI's own playground wiring (playgroundPlugins: face preview through previewFaces with the real face analyzer,
 * history from the queue) and the process's shared speech synthesizer behind GET /voices.
 *
 * The whole flow on fal-ai/ai-avatar — upload a picture and audio, submit, watch progress, the video plays
 * with a length of num_frames / 25 s — plus labels, keyboard-only use, cancel, field errors, history, a
 * phone-sized screen, and both code snippets run as they are. Screenshots go to test-artifacts/playground/.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import ffmpegInstaller from "@ffmpeg-installer/ffmpeg";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import sharp from "sharp";
import { chromium, type Browser, type FileChooser, type Page } from "playwright-core";
import { playgroundPlugins } from "../../src/cli/main.js";
import { sharedSpeech } from "../../src/cli/runner.js";
import { startServe, type RunningServer } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { createFaceAnalyzer, type FaceAnalyzer } from "../../src/face/index.js";
import { registerPlayground, type DetectedFaces, type PreviewFace } from "../../src/web/plugin.js";
import { createTestRunner } from "../support/test-runner.js";

const run = promisify(execFile);
const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const ARTIFACTS = path.resolve("test-artifacts/playground");
/** A real photo of three people (face-api's demo picture). */
const PHOTO = path.resolve("node_modules/@vladmandic/face-api/demo/sample2.jpg");
const skip = existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (apt-get install chromium): browser test skipped`;

describe("playground in a real browser, on the real server", { skip, timeout: 240_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let analyzer: FaceAnalyzer;
  let tmp: string;
  let speech: string;
  const voices = sharedSpeech();
  /** Requests the pages submitted. */
  const submitted = new Set<string>();

  /** For the bare app of the last test: faces of an uploaded file. */
  async function detectFaces(imageUrl: string): Promise<DetectedFaces> {
    const key = server.storage.keyFromUrl(imageUrl);
    if (!key) throw Object.assign(new Error("This test detects faces only in uploaded files"), { statusCode: 422 });
    const chunks: Buffer[] = [];
    for await (const chunk of await server.storage.read(key)) chunks.push(chunk as Buffer);
    const { data, info } = await sharp(Buffer.concat(chunks)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const faces = await analyzer.detect({ width: info.width, height: info.height, channels: 3, data });
    return { width: info.width, height: info.height, faces: faces.map((f) => ({ box: [f.box.x, f.box.y, f.box.width, f.box.height] })) };
  }

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    tmp = await mkdtemp(path.join(os.tmpdir(), "mouthpiece-e2e-"));
    // 2.5 s of a tone that swells like syllables: real audio for the player.
    speech = path.join(tmp, "speech.wav");
    await run(ffmpegInstaller.path, [
      "-v", "error", "-f", "lavfi", "-i", "sine=frequency=180:duration=2.5",
      "-af", "volume='0.3+0.7*abs(sin(2*PI*3*t))':eval=frame", speech,
    ]);
    analyzer = await createFaceAnalyzer({ refine: false });
    const config = loadConfig({}, { port: 0, dataDir: path.join(tmp, "data"), logLevel: "silent", workerConcurrency: 1 });
    server = await startServe({
      config,
      logger: pino({ level: "silent" }),
      // 40 ms a frame: 50 frames take 2 s, long enough to watch the progress bar move.
      createRunner: ({ storage }) => createTestRunner({ storage, msPerFrame: 40 }),
      plugins: playgroundPlugins({ detect: (image, options) => analyzer.detect(image, options), analyzer: async () => analyzer }),
      speech: voices.get(config),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await voices.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function newPage(viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text());
    });
    page.on("response", async (res) => {
      if (res.request().method() === "POST" && new URL(res.url()).pathname.startsWith("/queue/") && res.ok()) {
        submitted.add((await res.json()).request_id);
      }
    });
    (page as Page & { jsErrors: string[] }).jsErrors = errors;
    return page;
  }
  const jsErrors = (page: Page) => (page as Page & { jsErrors: string[] }).jsErrors;
  /** Controls of the form without a label (label element, aria-label or aria-labelledby, a button's text). */
  const unlabelled = (page: Page): Promise<string[]> =>
    page.locator("form.endpoint-form").evaluate((form) =>
      [...form.querySelectorAll("input, select, textarea, button")]
        .filter((el) => {
          const e = el as HTMLInputElement;
          const byLabel = e.labels && [...e.labels].some((l) => l.textContent?.trim());
          const byAria = e.getAttribute("aria-label")?.trim() || e.getAttribute("aria-labelledby");
          const byText = e.tagName === "BUTTON" && e.textContent?.trim();
          return !(byLabel || byAria || byText);
        })
        .map((el) => el.outerHTML.slice(0, 120)),
    );
  /** The next face preview the page asks the server for. */
  const facesOf = async (page: Page): Promise<PreviewFace[]> => {
    const res = await page.waitForResponse((r) => new URL(r.url()).pathname === "/api/playground/faces", { timeout: 60_000 });
    return ((await res.json()) as { faces: PreviewFace[] }).faces;
  };
  /**
   * The tags the preview must show, from the boxes alone (faces come left to right): two-person endpoints name the
   * two largest "person 1" (left) and "person 2" (right); single-person ones name the largest "speaks"; others are
   * "other face k" from the left.
   */
  const expectedTags = (faces: PreviewFace[], twoPeople: boolean): string[] => {
    const area = (f: PreviewFace) => f.box[2] * f.box[3];
    const bySize = faces.map((_, i) => i).sort((a, b) => area(faces[b]) - area(faces[a]));
    const speakers = bySize.slice(0, twoPeople ? 2 : 1).sort((a, b) => a - b);
    let other = 0;
    return faces.map((_, i) =>
      speakers.includes(i) ? (twoPeople ? `person ${speakers.indexOf(i) + 1}` : "speaks") : `other face ${++other}`);
  };
  const latestJob = async () => (await server.queue.get([...submitted].at(-1)!))!;
  /** URLs of the first run's uploads, reused by later tests. */
  let uploaded: { image_url: string; audio_url: string };

  it("lists the seven endpoints at /", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/`);
    const cards = page.locator(".cards a.card");
    await cards.first().waitFor();
    assert.equal(await cards.count(), 7);
    const hrefs = await cards.evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    assert.ok(hrefs.includes("/playground/fal-ai/ai-avatar"));
    assert.ok(hrefs.includes("/playground/fal-ai/infinitalk/video-to-video"));
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "home.png"), fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();
  });

  it("labels every control of every endpoint's form, advanced ones included", async () => {
    const page = await newPage();
    const ids = (await (await fetch(`${server.url}/api/playground/config`)).json() as { endpoints: { id: string }[] }).endpoints.map((e) => e.id);
    assert.equal(ids.length, 7);
    for (const id of ids) {
      await page.goto(`${server.url}/playground/${id}`);
      await page.locator("form.endpoint-form").waitFor();
      const count = await page.locator("form.endpoint-form").locator("input, select, textarea, button").count();
      assert.ok(count >= 5, `${id}: ${count} controls`);
      assert.deepEqual(await unlabelled(page), [], id);
    }
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();
  });

  it("runs fal-ai/ai-avatar: upload, submit, progress, a video of num_frames / 25 s", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    await page.locator("form.endpoint-form").waitFor();

    assert.deepEqual(await unlabelled(page), []);

    // The slider says what the frames mean in seconds.
    await page.getByLabel("Length (frames), exact value").fill("50");
    assert.equal(await page.locator("output.frames").textContent(), "50 frames = 2.0 s at 25 fps");

    const facesFound = facesOf(page);
    await page.locator("#in-image_url-file").setInputFiles(PHOTO);
    await page.locator("#in-audio_url-file").setInputFiles(speech);
    await page.waitForFunction(() => (document.getElementById("in-image_url") as HTMLInputElement).value.includes("/files/"));
    await page.waitForFunction(() => (document.getElementById("in-audio_url") as HTMLInputElement).value.includes("/files/"));
    uploaded = {
      image_url: await page.locator("#in-image_url").inputValue(),
      audio_url: await page.locator("#in-audio_url").inputValue(),
    };
    // The uploads are in storage, byte for byte the files given.
    const stored = await fetch(uploaded.image_url);
    assert.equal(stored.status, 200);
    assert.deepEqual(Buffer.from(await stored.arrayBuffer()), await readFile(PHOTO));
    // The three faces of the photo outlined: on a single-person endpoint the largest speaks, the others stay still.
    const found = await facesFound;
    await page.locator(".preview .face").nth(2).waitFor({ timeout: 30_000 });
    assert.equal(found.length, 3);
    assert.deepEqual(await page.locator(".preview .face .tag").allTextContents(), expectedTags(found, false));
    const lefts = await page.locator(".preview .face").evaluateAll((els) => els.map((e) => parseFloat((e as HTMLElement).style.left)));
    assert.ok(lefts[0] < lefts[1] && lefts[1] < lefts[2], `faces not listed from the left: ${lefts}`);
    assert.match((await page.locator(".preview figcaption").textContent()) ?? "", /^3 faces found \(1920×1367\): the largest one speaks/);
    await page.locator("#field-audio_url audio").waitFor();
    // The code follows the form: the uploaded URLs and the frames are in the snippet.
    const js = (await page.locator("pre.code").textContent()) ?? "";
    assert.match(js, /fal\.subscribe\("fal-ai\/ai-avatar"/);
    assert.match(js, /"num_frames": 50/);
    assert.ok(js.includes(uploaded.image_url) && js.includes(uploaded.audio_url));
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "form.png"), fullPage: true });

    const statusCalls: string[] = [];
    page.on("request", (r) => {
      if (/\/requests\/[^/]+\/status/.test(r.url())) statusCalls.push(new URL(r.url()).pathname.replace(/.*\/status/, "status"));
    });
    await page.locator("#run").click();
    // Progress: the bar moves through the frames as the worker logs them.
    await page.waitForFunction(() => {
      const bar = document.getElementById("progress") as HTMLProgressElement | null;
      return !!bar && bar.max === 50 && bar.value > 0 && bar.value < 50;
    });
    // For the screenshot, a bar further along (not asserted: a busy machine may skip past it).
    await page
      .waitForFunction(() => {
        const bar = document.getElementById("progress") as HTMLProgressElement;
        return bar.value >= 15 && bar.value < 50;
      }, null, { timeout: 2000 })
      .catch(() => undefined);
    assert.match((await page.locator(".frames-count").textContent()) ?? "", /^\d+ \/ 50 frames$/);
    assert.match((await page.locator(`pre.logs[aria-label="Logs"]`).textContent()) ?? "", /rendered \d+\/50 frames/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "progress.png"), fullPage: true });

    const video = page.locator("#result-video");
    await video.waitFor({ timeout: 60_000 });
    const duration = await video.evaluate(
      (v: HTMLVideoElement) =>
        new Promise<number>((resolve, reject) => {
          if (v.readyState >= 1) resolve(v.duration);
          v.addEventListener("loadedmetadata", () => resolve(v.duration));
          v.addEventListener("error", () => reject(new Error(`video error ${v.error?.code}`)));
        }),
    );
    assert.ok(Math.abs(duration - 50 / 25) < 0.1, `video lasts ${duration} s, expected 2.0 s`);
    // Live status came from the SSE stream alone, without polling.
    assert.deepEqual(statusCalls, ["status/stream"]);
    // It plays: time advances.
    const played = await video.evaluate(async (v: HTMLVideoElement) => {
      v.muted = true;
      await v.play();
      await new Promise((r) => setTimeout(r, 600));
      return v.currentTime;
    });
    assert.ok(played > 0.2, `the video did not play (currentTime ${played})`);
    const src = await video.getAttribute("src");
    assert.equal(await page.getByRole("link", { name: "Download" }).first().getAttribute("href"), src);
    assert.equal(await page.locator("#progress").evaluate((b: HTMLProgressElement) => b.value === b.max), true);
    assert.match((await page.locator(".state").textContent()) ?? "", /^Finished · seed \d+$/);
    assert.equal(await page.locator("#cancel").count(), 0);

    // The queue ran exactly what the form said; history lists it with its result.
    const job = await latestJob();
    assert.equal(job.input.num_frames, 50);
    assert.equal(job.outcome, "OK");
    await page.locator(`.history-item[data-request-id="${job.id}"]`).waitFor();
    const item = page.locator(`.history-item[data-request-id="${job.id}"]`);
    assert.equal(await item.locator(".badge").textContent(), "completed");
    // With its inputs and its result.
    const inputs = JSON.parse((await item.locator("details.inputs pre").textContent()) ?? "{}") as Record<string, unknown>;
    assert.equal(inputs.num_frames, 50);
    assert.equal(inputs.image_url, uploaded.image_url);
    assert.equal(inputs.audio_url, uploaded.audio_url);
    assert.equal(await item.getByRole("link", { name: "Download" }).getAttribute("href"), src);
    await page.locator("#result-video").evaluate((v: HTMLVideoElement) => v.pause());
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "result.png"), fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();
  });

  it("keyboard alone fills the form and submits", async () => {
    assert.ok(uploaded, "needs the first run's uploads");
    const page = await newPage();
    // Listening before the page loads turns file-chooser interception on in time.
    const choosers: FileChooser[] = [];
    page.on("filechooser", (c) => choosers.push(c));
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    await page.locator("form.endpoint-form").waitFor();
    const before = submitted.size;

    const tabTo = async (id: string) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate((want) => document.activeElement?.id === want, id)) return;
      }
      assert.fail(`Tab never reached #${id}`);
    };
    // The file picker opens from the keyboard.
    await tabTo("in-image_url-file");
    await page.keyboard.press("Space");
    for (let i = 0; i < 50 && choosers.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(choosers.length, 1, "Space on the file field did not open the file picker");
    assert.equal(choosers[0].isMultiple(), false);
    assert.equal(await choosers[0].element().getAttribute("id"), "in-image_url-file");
    await tabTo("in-image_url");
    await page.keyboard.type(uploaded.image_url);
    await tabTo("in-audio_url");
    await page.keyboard.type(uploaded.audio_url);
    await tabTo("in-num_frames");
    // Arrow keys move the slider one frame at a time, from the default 145.
    for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowLeft");
    assert.equal(await page.locator("#in-num_frames-exact").inputValue(), "142");
    await tabTo("in-num_frames-exact");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("41");
    await tabTo("run");
    await page.keyboard.press("Enter");
    await page.locator("#result-video").waitFor({ timeout: 60_000 });
    assert.equal(submitted.size, before + 1);
    const job = await latestJob();
    assert.equal(job.input.image_url, uploaded.image_url);
    assert.equal(job.input.audio_url, uploaded.audio_url);
    assert.equal(job.input.num_frames, 41);
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();
  });

  it("cancels a running request", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/infinitalk`);
    await page.locator("#in-image_url").fill(uploaded.image_url);
    await page.locator("#in-audio_url").fill(uploaded.audio_url);
    await page.getByLabel("Length (frames), exact value").fill("700");
    await page.locator("#run").click();
    await page.waitForFunction(() => Number((document.getElementById("progress") as HTMLProgressElement | null)?.value) > 0);
    await page.locator("#cancel").click();
    await page.waitForFunction(() => document.querySelector(".state")?.textContent === "Cancelled.", null, { timeout: 20_000 });
    const job = await latestJob();
    assert.equal(job.status, "COMPLETED");
    assert.equal(job.outcome, "CANCELLED");
    assert.equal(await page.locator("#result-video").count(), 0);
    await page.context().close();
  });

  it("says what to fix, next to the field: its own checks and the server's", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    await page.locator("#run").click();
    // Nothing given: the page says what to add and does not submit.
    assert.match((await page.locator("#err-image_url").textContent()) ?? "", /Add an image/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "in-image_url");
    // A failure in the run shows the server's reason.
    await page.locator("#in-image_url").fill(uploaded.image_url);
    await page.locator("#in-audio_url").fill(uploaded.audio_url);
    await page.locator("#in-prompt").fill("fail:input");
    await page.getByLabel("Length (frames), exact value").fill("41");
    await page.locator("#run").click();
    await page.waitForFunction(() => /^Failed: /.test(document.querySelector(".state")?.textContent ?? ""));
    assert.match((await page.locator(".state").textContent()) ?? "", /No face found in the image/);
    await page.context().close();
  });

  it("fits a phone-sized screen; two-person faces bind to tracks", async () => {
    const page = await newPage({ width: 390, height: 844 });
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar/multi`);
    await page.locator("form.endpoint-form").waitFor();
    // Drop the photo on the image field: it uploads, and the field gets its storage URL.
    const bytes = (await readFile(PHOTO)).toString("base64");
    const dataTransfer = await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([data], "dropped.jpg", { type: "image/jpeg" }));
      return dt;
    }, bytes);
    const facesFound = facesOf(page);
    await page.dispatchEvent("#field-image_url", "drop", { dataTransfer });
    await page.waitForFunction(() => /\/files\/.+\/dropped\.jpg$/.test((document.getElementById("in-image_url") as HTMLInputElement).value));
    await page.locator(".preview .face").nth(2).waitFor({ timeout: 30_000 });
    // Numbered by the pipeline's rule: the two largest faces, person 1 on the left, person 2 on the right.
    const found = await facesFound;
    const tags = expectedTags(found, true);
    assert.deepEqual(await page.locator(".preview .face .tag").allTextContents(), tags);
    assert.deepEqual(tags.filter((t) => t.startsWith("person")), ["person 1", "person 2"]);
    assert.match((await page.locator(".preview figcaption").textContent()) ?? "", /person 1 \(left\) and person 2 \(right\) are the two largest; the others stay still/);
    // The track pickers offer the faces by the same names; person 1's box goes into the request as it is.
    await page.getByLabel("Who speaks track 2").selectOption({ label: "person 1" });
    const code = (await page.locator("pre.code").textContent()) ?? "";
    const box = /"person2_box": \[([\d., ]+)\]/.exec(code);
    assert.ok(box, "person2_box is not in the snippet");
    assert.deepEqual(box[1].split(",").map(Number), found[tags.indexOf("person 1")].box);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "phone.png"), fullPage: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "phone-top.png") });
    await page.context().close();
  });

  it("the cURL and JavaScript snippets run as they are", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    await page.locator("#in-image_url").fill(uploaded.image_url);
    await page.locator("#in-audio_url").fill(uploaded.audio_url);
    await page.getByLabel("Length (frames), exact value").fill("41");
    const js = (await page.locator("pre.code").textContent()) ?? "";
    await page.getByRole("tab", { name: "cURL" }).click();
    const sh = (await page.locator("pre.code").textContent()) ?? "";
    await page.context().close();

    const { stdout } = await run("bash", ["-c", sh], { timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!) as { video: { url: string }; seed: number };
    assert.match(out.video.url, /\/files\/.+\/video\.mp4$/);
    assert.match(stdout, /"status":"COMPLETED"/);
    assert.equal((await fetch(out.video.url)).headers.get("content-type"), "video/mp4");

    // The official client, from Node, through /api/fal/proxy (the file sits in the repo to find node_modules).
    const file = path.join(ARTIFACTS, "snippet.mjs");
    await writeFile(file, js);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FAL_")));
    const node = await run(process.execPath, [file], { timeout: 60_000, env });
    const url = node.stdout.trim().split("\n").at(-1)!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/files\/.+\/video\.mp4$/);
    assert.match(node.stdout, /rendered \d+\/41 frames/);
  });

  it("plays each voice's sample from GET /voices, and says so when the server has none", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar/single-text`);
    // The picker names each voice with its gender and accent, from GET /voices.
    await page.waitForFunction(() => document.querySelector('#in-voice option[value="Roger"]')?.textContent !== "Roger");
    assert.equal(await page.locator('#in-voice option[value="Roger"]').textContent(), "Roger · male · American");
    assert.equal(await page.locator('#in-voice option[value="Charlotte"]').textContent(), "Charlotte · female · Swedish");
    await page.getByLabel("Voice", { exact: true }).selectOption("Roger");
    const sample = page.waitForResponse((r) => new URL(r.url()).pathname === "/voices/Roger/sample.wav" && r.request().method() === "GET", { timeout: 30_000 });
    await page.getByRole("button", { name: "Play a sample of the chosen voice" }).click();
    const res = await sample;
    assert.equal(res.status(), 200);
    assert.equal(res.headers()["content-type"], "audio/wav");
    await page.waitForFunction(() => document.querySelector("#field-voice button")?.textContent === "■ Stop");
    // The browser decodes it: a few seconds of Roger introducing himself.
    const duration = await page.locator("#field-voice audio").evaluate(
      (a: HTMLAudioElement) =>
        new Promise<number>((resolve, reject) => {
          if (a.readyState >= 1) resolve(a.duration);
          a.addEventListener("loadedmetadata", () => resolve(a.duration));
          a.addEventListener("error", () => reject(new Error(`audio error ${a.error?.code}`)));
        }),
    );
    assert.ok(duration > 1.5 && duration < 8, `sample lasts ${duration} s`);
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();

    // A server without the voice routes: the button is disabled and says why.
    const bare = async (): Promise<FastifyInstance> => {
      const app = Fastify();
      await registerPlayground(app, { detectFaces, listRequests: async () => [] });
      await app.listen({ host: "127.0.0.1", port: 0 });
      return app;
    };
    const url = (app: FastifyInstance) => {
      const a = app.server.address() as { port: number };
      return `http://127.0.0.1:${a.port}`;
    };
    const without = await bare();
    try {
      const page = await newPage();
      await page.goto(`${url(without)}/playground/fal-ai/ai-avatar/single-text`);
      await page.waitForFunction(() => (document.querySelector("#field-voice button") as HTMLButtonElement | null)?.disabled === true);
      assert.equal(await page.locator("#field-voice .note").textContent(), "No voice samples on this server.");
      await page.context().close();
    } finally {
      await without.close();
    }
  });
});
