/**
 * The playground in a real browser (Debian's chromium through playwright-core): the whole flow on
 * fal-ai/ai-avatar — upload a picture and audio, submit, watch progress, the video plays with a length
 * of num_frames / 25 s — plus labels, keyboard-only use, cancel, history, a phone-sized screen, and the
 * cURL snippet run as it is. Screenshots go to test-artifacts/playground/.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import ffmpegInstaller from "@ffmpeg-installer/ffmpeg";
import { chromium, type Browser, type Page } from "playwright-core";
import { startStubServer, type StubServer } from "./stub-server.js";

const run = promisify(execFile);
const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const ARTIFACTS = path.resolve("test-artifacts/playground");
const PHOTO = path.resolve("node_modules/@vladmandic/face-api/demo/sample2.jpg");
const skip = existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (apt-get install chromium): browser test skipped`;

describe("playground in a real browser", { skip, timeout: 180_000 }, () => {
  let server: StubServer;
  let browser: Browser;
  let tmp: string;
  let speech: string;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    tmp = await mkdtemp(path.join(os.tmpdir(), "mouthpiece-e2e-"));
    // 2.5 s of a tone that swells like syllables: real audio for the player and the render.
    speech = path.join(tmp, "speech.wav");
    await run(ffmpegInstaller.path, [
      "-v", "error", "-f", "lavfi", "-i", "sine=frequency=180:duration=2.5",
      "-af", "volume='0.3+0.7*abs(sin(2*PI*3*t))':eval=frame", speech,
    ]);
    server = await startStubServer({ voiceSamples: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
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
    (page as Page & { jsErrors: string[] }).jsErrors = errors;
    return page;
  }
  const jsErrors = (page: Page) => (page as Page & { jsErrors: string[] }).jsErrors;

  it("lists the seven endpoints at /", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/`);
    const cards = page.locator(".cards a.card");
    await cards.first().waitFor();
    assert.equal(await cards.count(), 7);
    const hrefs = await cards.evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    assert.ok(hrefs.includes("/playground/fal-ai/ai-avatar"));
    assert.ok(hrefs.includes("/playground/fal-ai/infinitalk/video-to-video"));
    await page.screenshot({ path: path.join(ARTIFACTS, "home.png"), fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();
  });

  it("runs fal-ai/ai-avatar: upload, submit, progress, a video of num_frames / 25 s", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    await page.locator("form.endpoint-form").waitFor();

    // Every control of the form has a label (label element, aria-label or aria-labelledby).
    const unlabelled = await page.locator("form.endpoint-form").evaluate((form) =>
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
    assert.deepEqual(unlabelled, []);

    // The slider says what the frames mean in seconds.
    await page.getByLabel("Length (frames), exact value").fill("50");
    assert.equal(await page.locator("output.frames").textContent(), "50 frames = 2.0 s at 25 fps");

    await page.locator("#in-image_url-file").setInputFiles(PHOTO);
    await page.locator("#in-audio_url-file").setInputFiles(speech);
    await page.waitForFunction(() => (document.getElementById("in-image_url") as HTMLInputElement).value.includes("/files/"));
    await page.waitForFunction(() => (document.getElementById("in-audio_url") as HTMLInputElement).value.includes("/files/"));
    // Faces outlined and numbered on the picture.
    await page.locator(".preview .face").first().waitFor();
    assert.equal(await page.locator(".preview .face .tag").first().textContent(), "person 1");
    await page.locator("#field-audio_url audio").waitFor();
    // The code follows the form: the uploaded URLs and the frames are in both snippets.
    const js = await page.locator("pre.code").textContent();
    assert.match(js ?? "", /fal\.subscribe\("fal-ai\/ai-avatar"/);
    assert.match(js ?? "", /"num_frames": 50/);
    assert.match(js ?? "", new RegExp(`${server.url}/files/`));
    await page.screenshot({ path: path.join(ARTIFACTS, "form.png"), fullPage: true });

    await page.locator("#run").click();
    // Progress: the bar moves through the frames as the worker logs them.
    await page.waitForFunction(() => {
      const bar = document.getElementById("progress") as HTMLProgressElement | null;
      return !!bar && bar.max === 50 && bar.value > 0 && bar.value < 50;
    });
    assert.match((await page.locator(".frames-count").textContent()) ?? "", /^\d+ \/ 50 frames$/);
    assert.match((await page.locator("pre.logs").textContent()) ?? "", /rendered \d+\/50 frames/);
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
    assert.match((await page.locator(".state").textContent()) ?? "", /^Finished/);

    // History lists it, with its result.
    await page.locator(`.history-item[data-request-id]`).first().waitFor();
    const job = [...server.jobs.values()].at(-1)!;
    assert.equal(job.input.num_frames, 50);
    assert.equal(await page.locator(`.history-item[data-request-id="${job.id}"] .badge`).textContent(), "completed");
    await page.locator("#result-video").evaluate((v: HTMLVideoElement) => v.pause());
    await page.screenshot({ path: path.join(ARTIFACTS, "result.png"), fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();
  });

  it("keyboard alone fills the form and submits", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    await page.locator("form.endpoint-form").waitFor();
    // Reuse the files the first test uploaded, typed as URLs.
    const done = [...server.jobs.values()].find((j) => j.outcome === "OK");
    assert.ok(done, "needs the first test's uploads");
    const before = server.jobs.size;

    const tabTo = async (id: string) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate((want) => document.activeElement?.id === want, id)) return;
      }
      assert.fail(`Tab never reached #${id}`);
    };
    // The file picker opens from the keyboard.
    await tabTo("in-image_url-file");
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
    assert.equal(chooser.isMultiple(), false);
    await tabTo("in-image_url");
    await page.keyboard.type(String(done.input.image_url));
    await tabTo("in-audio_url");
    await page.keyboard.type(String(done.input.audio_url));
    await tabTo("in-num_frames");
    // Arrow keys move the slider one frame at a time, from the default 145.
    for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowLeft");
    assert.equal(await page.locator("#in-num_frames-exact").inputValue(), "142");
    await tabTo("in-num_frames-exact");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("41");
    await tabTo("run");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector(".output-body")?.getAttribute("data-request-id"));
    assert.equal(server.jobs.size, before + 1);
    const job = [...server.jobs.values()].at(-1)!;
    assert.equal(job.input.image_url, done.input.image_url);
    assert.equal(job.input.audio_url, done.input.audio_url);
    assert.equal(job.input.num_frames, 41);
    await page.locator("#result-video").waitFor({ timeout: 60_000 });
    assert.deepEqual(jsErrors(page), []);
    await page.context().close();
  });

  it("cancels a running request", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/infinitalk`);
    const done = [...server.jobs.values()].find((j) => j.outcome === "OK")!;
    await page.locator("#in-image_url").fill(String(done.input.image_url));
    await page.locator("#in-audio_url").fill(String(done.input.audio_url));
    await page.getByLabel("Length (frames), exact value").fill("700");
    await page.locator("#run").click();
    await page.waitForFunction(() => Number((document.getElementById("progress") as HTMLProgressElement | null)?.value) > 0);
    await page.locator("#cancel").click();
    await page.waitForFunction(() => document.querySelector(".state")?.textContent === "Cancelled.");
    const job = [...server.jobs.values()].at(-1)!;
    assert.equal(job.outcome, "CANCELLED");
    assert.equal(await page.locator("#result-video").count(), 0);
    await page.context().close();
  });

  it("shows a server's field errors next to the field", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    await page.locator("#run").click();
    // Nothing uploaded: the page says what to add and does not submit.
    assert.match((await page.locator("#err-image_url").textContent()) ?? "", /Add an image/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "in-image_url");
    await page.context().close();
  });

  it("fits a phone-sized screen", async () => {
    const page = await newPage({ width: 390, height: 844 });
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar/multi`);
    await page.locator("form.endpoint-form").waitFor();
    const done = [...server.jobs.values()].find((j) => j.outcome === "OK")!;
    server.faceBoxes.push([0.62, 0.2, 0.18, 0.27]);
    await page.locator("#in-image_url").fill(String(done.input.image_url));
    await page.locator("#in-image_url").press("Tab");
    await page.locator(".preview .face").nth(1).waitFor();
    // Two faces: numbered from the left, and each can be bound to a track.
    assert.deepEqual(await page.locator(".preview .face .tag").allTextContents(), ["person 1", "person 2"]);
    await page.getByLabel("Face of person 2").selectOption({ label: "person 1 (leftmost)" });
    assert.match((await page.locator("pre.code").textContent()) ?? "", /"person2_box": \[/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: path.join(ARTIFACTS, "phone.png"), fullPage: true });
    server.faceBoxes.pop();
    await page.context().close();
  });

  it("plays each voice's sample, and says so when the server has none", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar/single-text`);
    await page.getByLabel("Voice", { exact: true }).selectOption("Roger");
    const play = page.getByRole("button", { name: "Play a sample of the chosen voice" });
    await play.click();
    await page.waitForFunction(() => document.querySelector("#field-voice button")?.textContent === "■ Stop");
    assert.match((await page.locator("#field-voice audio").getAttribute("src")) ?? "", /\/voices\/Roger\/sample\.wav$/);
    await page.context().close();

    const bare = await startStubServer({ voiceSamples: false });
    try {
      const page2 = await newPage();
      await page2.goto(`${bare.url}/playground/fal-ai/ai-avatar/single-text`);
      await page2.waitForFunction(() => (document.querySelector("#field-voice button") as HTMLButtonElement | null)?.disabled === true);
      assert.equal(await page2.locator("#field-voice .note").textContent(), "No voice samples on this server.");
      await page2.context().close();
    } finally {
      await bare.close();
    }
  });

  it("the cURL snippet runs as it is", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/playground/fal-ai/ai-avatar`);
    const done = [...server.jobs.values()].find((j) => j.outcome === "OK")!;
    await page.locator("#in-image_url").fill(String(done.input.image_url));
    await page.locator("#in-audio_url").fill(String(done.input.audio_url));
    await page.getByLabel("Length (frames), exact value").fill("41");
    await page.getByRole("tab", { name: "cURL" }).click();
    const script = (await page.locator("pre.code").textContent()) ?? "";
    assert.match(script, /curl -sS -X POST/);
    const { stdout } = await run("bash", ["-c", script], { timeout: 60_000 });
    const last = stdout.trim().split("\n").at(-1)!;
    const out = JSON.parse(last) as { video: { url: string } };
    assert.match(out.video.url, /\/files\/.+\/video\.mp4$/);
    assert.match(stdout, /"status":"COMPLETED"/);
    await page.context().close();
  });
});
