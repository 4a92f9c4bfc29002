import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CancelledError, ProcessError } from "../../src/errors.js";
import { appendTail, resolveBinaries, runProcess, spawnProcess } from "../../src/media/ffmpeg.js";
import { bins } from "../support/media-fixtures.js";

describe("resolveBinaries", () => {
  it("uses configured paths first, else the installer packages' binaries", () => {
    assert.deepEqual(resolveBinaries({ ffmpegPath: "/opt/ff", ffprobePath: "/opt/fp" }), { ffmpeg: "/opt/ff", ffprobe: "/opt/fp" });
    const def = resolveBinaries({});
    assert.match(def.ffmpeg, /@ffmpeg-installer.*ffmpeg$/);
    assert.match(def.ffprobe, /@ffprobe-installer.*ffprobe$/);
  });
});

describe("appendTail", () => {
  it("keeps only the last bytes", () => {
    assert.equal(appendTail("abc", "def", 4), "cdef");
    assert.equal(appendTail("", "xy", 4), "xy");
  });
});

describe("spawnProcess", () => {
  it("reports quit-successfully and returns stdout", async () => {
    const h = spawnProcess(bins.ffmpeg, ["-version"], { label: "ffmpeg" });
    assert.equal(h.state().status, "running");
    const out = await h.done;
    assert.match(out.toString(), /^ffmpeg version/);
    assert.deepEqual(h.state(), { status: "quit-successfully" });
  });

  it("rejects with a ProcessError quoting stderr, and reports quit-with-error", async () => {
    const h = spawnProcess(bins.ffmpeg, ["-v", "error", "-i", "/nonexistent/input.wav", "-f", "null", "-"], { label: "ffmpeg (test)" });
    const err = await h.done.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ProcessError);
    assert.match(err.message, /ffmpeg \(test\) failed \(exit code 1\).*No such file or directory/);
    assert.equal(err.exitCode, 1);
    const state = h.state();
    assert.equal(state.status, "quit-with-error");
    if (state.status === "quit-with-error") {
      assert.equal(state.exitCode, 1);
      assert.equal(state.aborted, false);
      assert.match(state.stderrTail, /No such file/);
    }
  });

  it("kills the child when the signal aborts, and rejects with CancelledError", async () => {
    const ac = new AbortController();
    // An endless real-time source: runs until killed.
    const h = spawnProcess(bins.ffmpeg, ["-v", "error", "-re", "-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"], { label: "ffmpeg", signal: ac.signal });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.state().status, "running");
    const t0 = Date.now();
    ac.abort();
    await assert.rejects(h.done, CancelledError);
    assert.ok(Date.now() - t0 < 1000, "stopped within 1 s");
    const state = h.state();
    assert.equal(state.status, "quit-with-error");
    if (state.status === "quit-with-error") assert.equal(state.aborted, true);
    assert.notEqual(h.child.signalCode ?? h.child.exitCode, null);
  });

  it("rejects (not throws) for a missing binary", async () => {
    await assert.rejects(runProcess("/nonexistent/ffmpeg", ["-version"], { label: "ffmpeg" }), (e: unknown) =>
      e instanceof ProcessError && /could not start/.test(e.message) && e.exitCode === null);
  });

  it("kills at once when the signal already fired", async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(runProcess(bins.ffmpeg, ["-version"], { label: "ffmpeg", signal: ac.signal }), CancelledError);
  });

  it("caps collected stdout", async () => {
    await assert.rejects(
      runProcess(bins.ffmpeg, ["-v", "error", "-f", "lavfi", "-i", "sine=duration=5", "-f", "s16le", "pipe:1"], { label: "ffmpeg", maxStdoutBytes: 1000 }),
      (e: unknown) => e instanceof ProcessError && /more than 1000 bytes/.test(e.message));
  });
});
