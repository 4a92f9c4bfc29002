import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Acceleration } from "../../src/api/endpoints.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../../src/motion/types.js";
import { WarpKernel } from "../../src/render/kernel.js";
import { newSurface, rgbxToYuv420Changed, yuvBytes, type Surface } from "../../src/render/pixels.js";
import { FrameRenderer, type OutputFormat } from "../../src/render/renderer.js";
import { drawTriangles, type DrawOptions } from "../../src/render/warp.js";
import { syntheticFace } from "./synthetic.js";

/** A deterministic PRNG in [0, 1). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

test("the kernel draws the same pixels as the JavaScript rasterizer, on every path", () => {
  const W = 200, H = 150;
  const rnd = lcg(7);
  const kernel = new WarpKernel(4 * W * H * 4 + 4 * W * H);
  const tex = kernel.surface(W, H)!;
  for (let i = 0; i < tex.px.length; i++) tex.px[i] = (rnd() * 0x1000000) >>> 0;
  const outK = kernel.surface(W, H)!;
  const maskK = kernel.bytes(W * H)!;
  const outJ = newSurface(W, H);
  const maskJ = new Uint8Array(W * H);
  // A small texture outside the kernel's memory (as the mouth interior is): copied per call.
  const small = newSurface(40, 30);
  for (let i = 0; i < small.px.length; i++) small.px[i] = (rnd() * 0x1000000) >>> 0;
  let pixels = 0;
  for (let trial = 0; trial < 240; trial++) {
    const nv = 60, nt = 90;
    const dst = new Float32Array(nv * 2), src = new Float32Array(nv * 2);
    const still = trial % 5 === 0; // unmoved triangles: the exact-copy path
    const spread = trial % 3 === 0 ? 20 : 2;
    const useSmall = trial % 7 === 3;
    const tw = useSmall ? small.width : W, th = useSmall ? small.height : H;
    for (let v = 0; v < nv; v++) {
      // Vertices up to 15 px outside the picture: clipping, and texture positions at its border (the clamped path).
      const x = rnd() * (tw + 30) - 15, y = rnd() * (th + 30) - 15;
      dst[v * 2] = x; dst[v * 2 + 1] = y;
      src[v * 2] = still ? x : x + (rnd() - 0.5) * spread;
      src[v * 2 + 1] = still ? y : y + (rnd() - 0.5) * spread;
    }
    const tris = trial % 2 ? new Uint16Array(nt * 3) : new Uint32Array(nt * 3);
    for (let t = 0; t < nt; t++) {
      const a = (rnd() * nv) | 0;
      tris[t * 3] = a; tris[t * 3 + 1] = (a + 1 + ((rnd() * 4) | 0)) % nv; tris[t * 3 + 2] = (a + 2 + ((rnd() * 6) | 0)) % nv;
    }
    const order = trial % 4 === 2 ? Uint32Array.from({ length: nt }, (_, i) => nt - 1 - i) : undefined;
    const count = order ? 50 : undefined;
    const scale = trial % 4 === 1 ? 2 : trial % 8 === 3 ? 3 : 1;
    const opts: DrawOptions = {
      front: ([0, 1, -1] as const)[trial % 3], scale, originX: scale > 1 ? 30 : 0, originY: scale > 1 ? 20 : 0,
      ...(trial % 2 ? { mask: maskK, maskValue: 200 } : {}),
    };
    const clip = { x0: (rnd() * 40) | 0, y0: (rnd() * 30) | 0, x1: W - ((rnd() * 40) | 0), y1: H - ((rnd() * 30) | 0) };
    outK.px.fill(0x123456); outJ.px.fill(0x123456); maskK.fill(0); maskJ.fill(0);
    const texture: Surface = useSmall ? small : tex;
    const set = { dst, src, tris, order, count };
    const nK = kernel.drawTriangles(set, texture, outK, clip, opts);
    const nJ = drawTriangles(set, texture, outJ, clip, opts.mask ? { ...opts, mask: maskJ } : opts);
    assert.equal(nK, nJ, `trial ${trial}: pixels drawn`);
    assert.ok(Buffer.from(outK.px.buffer, outK.px.byteOffset, outK.px.byteLength).equals(Buffer.from(outJ.px.buffer)), `trial ${trial}: pixels`);
    assert.ok(Buffer.from(maskK).equals(Buffer.from(maskJ)), `trial ${trial}: mask`);
    pixels += nK;
  }
  assert.ok(pixels > 100_000, `the trials draw (${pixels} pixels)`);
  assert.equal(kernel.stats.fallback, 0, "every call ran in the kernel");
});

test("surfaces outside the kernel's memory fall back to the JavaScript rasterizer", () => {
  const kernel = new WarpKernel(64);
  assert.equal(kernel.surface(2000, 2000), null, "an allocation that does not fit is refused");
  const tex: Surface = { width: 16, height: 16, px: Uint32Array.from({ length: 256 }, (_, i) => (i * 99991) & 0xffffff) };
  const out = newSurface(16, 16);
  const set = { dst: Float32Array.of(1, 1, 14, 2, 3, 13), src: Float32Array.of(1.5, 1, 14, 2.5, 3, 13), tris: Uint32Array.of(0, 1, 2) };
  const n = kernel.drawTriangles(set, tex, out, { x0: 0, y0: 0, x1: 16, y1: 16 });
  const ref = newSurface(16, 16);
  assert.equal(n, drawTriangles(set, tex, ref, { x0: 0, y0: 0, x1: 16, y1: 16 }));
  assert.deepEqual(out.px, ref.px);
  assert.deepEqual(kernel.stats, { kernel: 0, fallback: 1 });
});

test("the kernel's yuv420p conversion of changed blocks gives the same bytes as the JavaScript one", () => {
  const rnd = lcg(11);
  for (const [W, H] of [[64, 48], [63, 47], [1, 1], [2, 3]]) {
    const kernel = new WarpKernel(3 * W * H * 4 + yuvBytes(W, H));
    const frameK = kernel.surface(W, H)!, shownK = kernel.surface(W, H)!, outK = kernel.bytes(yuvBytes(W, H))!;
    const frameJ = newSurface(W, H), shownJ = newSurface(W, H), outJ = new Uint8Array(yuvBytes(W, H));
    for (let round = 0; round < 20; round++) {
      // Change a random rectangle of pixels (sometimes to the values they had: those blocks are skipped).
      const x0 = (rnd() * W) | 0, y0 = (rnd() * H) | 0, x1 = x0 + 1 + ((rnd() * (W - x0)) | 0), y1 = y0 + 1 + ((rnd() * (H - y0)) | 0);
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
        if (rnd() < 0.3) continue;
        frameJ.px[y * W + x] = frameK.px[y * W + x] = (rnd() * 0x1000000) >>> 0;
      }
      const rect = { x0: Math.max(0, x0 - 1), y0, x1, y1: Math.min(H, y1 + 1) };
      const nK = kernel.yuv420Changed(frameK, shownK, outK, rect);
      const nJ = rgbxToYuv420Changed(frameJ, shownJ, outJ, rect);
      assert.equal(nK, nJ, `${W}x${H} round ${round}: blocks converted`);
      assert.deepEqual(Buffer.from(outK), Buffer.from(outJ), `${W}x${H} round ${round}: yuv bytes`);
      assert.deepEqual(Array.from(shownK.px), Array.from(shownJ.px));
    }
    assert.equal(kernel.stats.fallback, 0);
  }
});

test("a renderer with the kernel renders the same frames as with the JavaScript rasterizer", () => {
  const frame = (f: Partial<MotionFrame>): MotionFrame => ({ ...NEUTRAL_FRAME, ...f });
  const motion = [
    frame({ jawOpen: 0.6, lipWidth: 0.3 }),
    frame({ jawOpen: 0.2, lipRound: 0.7, blinkLeft: 1, headYaw: 0.05 }),
    frame({ lipClose: 0.9, smile: 0.6, headPitch: 0.06, headRoll: -0.05, browRaise: 0.8 }),
    frame({ jawOpen: 1, headX: 0.05, headY: -0.03, gazeX: 0.3 }),
    frame({}),
  ];
  const synth = syntheticFace({ width: 256, height: 256, size: 160 });
  for (const [acceleration, pixelFormat] of [["none", "rgb24"], ["regular", "yuv420p"], ["high", "yuv420p"]] as [Acceleration, OutputFormat][]) {
    const withKernel = new FrameRenderer(synth.image, [synth.face], { acceleration, seed: 3, pixelFormat });
    const plain = new FrameRenderer(synth.image, [synth.face], { acceleration, seed: 3, pixelFormat, kernel: false });
    for (const [i, m] of motion.entries()) {
      withKernel.render([m]);
      plain.render([m]);
      assert.ok(Buffer.from(withKernel.output()).equals(Buffer.from(plain.output())), `${acceleration}: frame ${i} identical`);
    }
    assert.equal(withKernel.kernelStats?.fallback, 0, `${acceleration}: every draw ran in the kernel`);
    assert.ok((withKernel.kernelStats?.kernel ?? 0) > 20);
    assert.equal(plain.kernelStats, null);
  }
});

test("the committed kernel binary is what its AssemblyScript source compiles to", async () => {
  const build = fileURLToPath(new URL("../../src/render/assembly/build.mjs", import.meta.url));
  const { compileKernel, moduleSource } = (await import(build)) as {
    compileKernel: () => Promise<Buffer>;
    moduleSource: (b: Buffer) => string;
  };
  const committed = await readFile(new URL("../../src/render/warp-wasm.ts", import.meta.url), "utf8");
  assert.equal(committed, moduleSource(await compileKernel()), "src/render/warp-wasm.ts is stale: run npm run build:wasm");
});
