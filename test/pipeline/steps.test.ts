import assert from "node:assert/strict";
import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { CancelledError, InputError } from "../../src/errors.js";
import { allOrAbort, chooseSeed, withJobDir } from "../../src/pipeline/steps.js";
import { tempDir } from "../support/media-fixtures.js";

describe("allOrAbort", () => {
  it("returns every value in order", async () => {
    const c = new AbortController();
    assert.deepEqual(await allOrAbort(c, [async () => 1, async () => "two"] as const), [1, "two"]);
    assert.equal(c.signal.aborted, false);
  });

  it("aborts the siblings at once on a non-input failure and throws that failure, not their cancellation", async () => {
    const c = new AbortController();
    let siblingSawAbort = false;
    const sibling = () => new Promise<number>((_, reject) => {
      c.signal.addEventListener("abort", () => {
        siblingSawAbort = true;
        reject(new CancelledError());
      });
    });
    await assert.rejects(allOrAbort(c, [sibling, async () => { throw new Error("disk full"); }] as const), /disk full/);
    assert.ok(siblingSawAbort && c.signal.aborted);
  });

  it("lets siblings finish after an InputError and merges every bad field", async () => {
    const c = new AbortController();
    const err = await allOrAbort(c, [
      async () => { throw InputError.field("image_url", "bad picture"); },
      async () => {
        await new Promise((r) => setTimeout(r, 30));
        throw InputError.field("audio_url", "bad audio");
      },
    ] as const).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof InputError);
    assert.deepEqual(err.detail.map((d) => d.loc), [["body", "image_url"], ["body", "audio_url"]]);
    assert.equal(c.signal.aborted, false);
  });
});

describe("chooseSeed", () => {
  it("keeps a given seed and draws a 32-bit one otherwise", () => {
    assert.equal(chooseSeed({ seed: 0 }), 0);
    assert.equal(chooseSeed({ seed: 4294967295 }), 4294967295);
    const drawn = new Set(Array.from({ length: 20 }, () => chooseSeed({})));
    assert.ok(drawn.size > 15, "random");
    for (const s of drawn) assert.ok(Number.isInteger(s) && s >= 0 && s <= 0xffffffff);
  });
});

describe("withJobDir", () => {
  it("removes the dir after success and after failure", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      let made = "";
      await withJobDir(dir, async (d) => {
        made = d;
        await writeFile(path.join(d, "x"), "y");
      });
      await assert.rejects(access(made));
      await assert.rejects(withJobDir(dir, async (d) => {
        made = d;
        throw new Error("boom");
      }), /boom/);
      await assert.rejects(access(made));
    } finally {
      await cleanup();
    }
  });
});
