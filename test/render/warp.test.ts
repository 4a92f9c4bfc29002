import assert from "node:assert/strict";
import { test } from "node:test";
import { newSurface, type Surface } from "../../src/render/pixels.js";
import { downsampleInto, drawTriangles } from "../../src/render/warp.js";

/** A grid mesh: (n+1)^2 vertices over [x0, x0 + n*cell]^2, two triangles per cell. */
function grid(n: number, cell: number, x0: number, y0: number) {
  const nv = (n + 1) * (n + 1);
  const src = new Float32Array(nv * 2);
  for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) {
    const v = j * (n + 1) + i;
    src[v * 2] = x0 + i * cell;
    src[v * 2 + 1] = y0 + j * cell;
  }
  const tris: number[] = [];
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    const a = j * (n + 1) + i, b = a + 1, c = a + n + 1, d = c + 1;
    // Alternate the diagonal so both orientations of shared edges occur.
    if ((i + j) % 2) tris.push(a, c, b, b, c, d);
    else tris.push(a, c, d, a, d, b);
  }
  return { src, tris: Uint32Array.from(tris), boundary: [0, n, nv - 1, nv - 1 - n] };
}

function noisy(w: number, h: number): Surface {
  const s = newSurface(w, h);
  for (let i = 0; i < s.px.length; i++) s.px[i] = Math.imul(i + 1, 2654435761) & 0xffffff;
  return s;
}

test("a mesh that did not move copies its pixels exactly", () => {
  const tex = noisy(120, 100);
  const out = newSurface(120, 100);
  const g = grid(8, 10.5, 7.25, 3.5);
  const n = drawTriangles({ dst: g.src, src: g.src, tris: g.tris }, tex, out, { x0: 0, y0: 0, x1: 120, y1: 100 });
  assert.ok(n > 6000);
  let covered = 0;
  for (let i = 0; i < out.px.length; i++) {
    if (out.px[i] !== 0) {
      covered++;
      assert.equal(out.px[i], tex.px[i], `pixel ${i % 120},${Math.floor(i / 120)}`);
    }
  }
  assert.equal(covered, n, "every drawn pixel once");
});

test("a warped mesh has no cracks and draws no pixel twice", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const tex = newSurface(160, 160);
    tex.px.fill(0x00c000);
    const out = newSurface(160, 160);
    const SENTINEL = 0x0000ff;
    out.px.fill(SENTINEL);
    const g = grid(12, 10, 20, 20);
    const dst = g.src.slice();
    // Perturb interior vertices (some onto exact pixel centres, where ties decide).
    let h = seed * 7919;
    const rnd = () => ((h = Math.imul(h ^ (h >>> 15), 2246822519) + 12345) >>> 0) / 4294967296;
    for (let j = 1; j < 12; j++) for (let i = 1; i < 12; i++) {
      const v = j * 13 + i;
      dst[v * 2] += (rnd() - 0.5) * 4.8; // small enough that no triangle folds over
      dst[v * 2 + 1] += (rnd() - 0.5) * 4.8;
      if (rnd() < 0.3) { dst[v * 2] = Math.round(dst[v * 2]); dst[v * 2 + 1] = Math.round(dst[v * 2 + 1]); }
    }
    const drawn = drawTriangles({ dst, src: g.src, tris: g.tris }, tex, out, { x0: 0, y0: 0, x1: 160, y1: 160 });
    let notSentinel = 0;
    for (let y = 0; y < 160; y++) for (let x = 0; x < 160; x++) {
      const p = out.px[y * 160 + x];
      if (p !== SENTINEL) notSentinel++;
      // The outer boundary did not move: [20, 140] x [20, 140]. Every pixel centre strictly inside is covered.
      if (x > 20 && x < 140 && y > 20 && y < 140) assert.equal(p, 0x00c000, `crack at ${x},${y} (seed ${seed})`);
    }
    assert.equal(drawn, notSentinel, "each covered pixel drawn exactly once");
  }
});

test("orientation filter and clip rectangle are honoured", () => {
  const tex = newSurface(50, 50);
  tex.px.fill(0x123456);
  const dst = Float32Array.from([5, 5, 40, 5, 5, 40]);
  const tris = Uint16Array.from([0, 1, 2]);
  const out = newSurface(50, 50);
  // (5,5) -> (40,5) -> (5,40) has positive area with y down.
  assert.ok(drawTriangles({ dst, src: dst, tris }, tex, out, { x0: 0, y0: 0, x1: 50, y1: 50 }, { front: 1 }) > 0);
  const out2 = newSurface(50, 50);
  assert.equal(drawTriangles({ dst, src: dst, tris }, tex, out2, { x0: 0, y0: 0, x1: 50, y1: 50 }, { front: -1 }), 0);
  const out3 = newSurface(50, 50);
  drawTriangles({ dst, src: dst, tris }, tex, out3, { x0: 10, y0: 10, x1: 20, y1: 20 });
  for (let y = 0; y < 50; y++) for (let x = 0; x < 50; x++) {
    const inClip = x >= 10 && x < 20 && y >= 10 && y < 20;
    assert.equal(out3.px[y * 50 + x] !== 0, inClip, `pixel ${x},${y}`);
  }
});

test("bilinear sampling interpolates between texels", () => {
  const tex = newSurface(4, 4);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) tex.px[y * 4 + x] = x < 2 ? 0 : 200; // red channel step
  // Shift the whole texture by half a pixel: the column at the step samples the mean.
  const src = Float32Array.from([0.5, 0, 3.5, 0, 0.5, 3, 3.5, 3]);
  const dst = Float32Array.from([0, 0, 3, 0, 0, 3, 3, 3]);
  const out = newSurface(4, 4);
  drawTriangles({ dst, src, tris: Uint16Array.from([0, 2, 1, 1, 2, 3]) }, tex, out, { x0: 0, y0: 0, x1: 4, y1: 4 });
  assert.equal(out.px[1 * 4 + 0] & 0xff, 0);
  assert.equal(out.px[1 * 4 + 1] & 0xff, 100);
  assert.equal(out.px[1 * 4 + 2] & 0xff, 200);
});

test("a supersampled patch averages back to the frame", () => {
  const tex = newSurface(40, 40);
  tex.px.fill(0x336699);
  const s = 3;
  const patch = newSurface(10 * s, 10 * s);
  const dst = Float32Array.from([0, 0, 39, 0, 0, 39, 39, 39]);
  drawTriangles({ dst, src: dst, tris: Uint16Array.from([0, 2, 1, 1, 2, 3]) }, tex, patch, { x0: 0, y0: 0, x1: patch.width, y1: patch.height }, { scale: s, originX: 15, originY: 15 });
  const frame = newSurface(40, 40);
  downsampleInto(patch, s, frame, 15, 15, { x0: 15, y0: 15, x1: 25, y1: 25 });
  for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) {
    const inBox = x >= 15 && x < 25 && y >= 15 && y < 25;
    assert.equal(frame.px[y * 40 + x], inBox ? 0x336699 : 0, `pixel ${x},${y}`);
  }
});
