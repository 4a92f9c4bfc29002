import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import fc from "fast-check";
import sharp from "sharp";
import { InputError } from "../../src/errors.js";
import {
  BUCKETS, chooseBucket, composeTransforms, cropImage, decodeImage, fitImage, mapBox, mapFace, mapPoint, planCropOffset,
  planFit, readImageHeader,
} from "../../src/media/image.js";
import type { RawImage } from "../../src/media/types.js";
import { makeJunk, makePicture, tempDir } from "../support/media-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

/** A PNG whose header claims width x height (one tiny IDAT: decoding it would fail, reading the header must not). */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.alloc(16))), chunk("IEND", Buffer.alloc(0))]);
}

const pixel = (img: RawImage, x: number, y: number) => {
  const i = (Math.round(y) * img.width + Math.round(x)) * img.channels;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
};

describe("chooseBucket", () => {
  const table: [number, number, string, string][] = [
    [1920, 1080, "480p", "854x480"], [1080, 1920, "480p", "480x854"], [1000, 1000, "480p", "480x480"],
    [1600, 1200, "480p", "640x480"], [1200, 1600, "480p", "480x640"], [2366, 1318, "480p", "854x480"],
    [3000, 1000, "480p", "854x480"], [1000, 3000, "480p", "480x854"], [1400, 1000, "480p", "640x480"],
    [1150, 1000, "480p", "480x480"], [1000, 1150, "480p", "480x480"], [1250, 1000, "480p", "640x480"],
    [1920, 1080, "720p", "1280x720"], [1080, 1920, "720p", "720x1280"], [512, 512, "720p", "720x720"],
    [1024, 768, "720p", "960x720"], [768, 1024, "720p", "720x960"],
  ];
  for (const [w, h, res, want] of table) {
    it(`${w}x${h} at ${res} → ${want}`, () => {
      const b = chooseBucket(w, h, res as "480p" | "720p");
      assert.equal(`${b.width}x${b.height}`, want);
    });
  }
  it("every bucket is even-sized with the stated short side", () => {
    for (const [res, list] of Object.entries(BUCKETS)) {
      for (const b of list) {
        assert.equal(b.width % 2 + b.height % 2, 0);
        assert.equal(Math.min(b.width, b.height), res === "480p" ? 480 : 720);
      }
    }
  });
});

describe("planFit / planCropOffset (pure)", () => {
  const square = BUCKETS["480p"][2]; // 480x480
  it("centers without faces", () => {
    const p = planFit(1920, 1080, square);
    assert.equal(p.scale, 480 / 1080);
    assert.deepEqual([p.resizedWidth, p.resizedHeight], [853, 480]);
    assert.deepEqual([p.transform.offsetX, p.transform.offsetY], [Math.round((853 - 480) / 2), 0]);
  });

  it("shifts the crop so a face near the edge stays inside, with margin when it fits", () => {
    for (const face of [{ x: 10, y: 300, width: 200, height: 260 }, { x: 1700, y: 300, width: 200, height: 260 }]) {
      const p = planFit(1920, 1080, square, [face]);
      const b = mapBox(face, p.transform);
      assert.ok(b.x >= 0 && b.x + b.width <= 480, `box ${JSON.stringify(b)} inside the width`);
      assert.ok(b.y >= 0 && b.y + b.height <= 480);
    }
    const left = planFit(1920, 1080, square, [{ x: 10, y: 300, width: 200, height: 260 }]);
    assert.equal(left.transform.offsetX, 0);
    const right = planFit(1920, 1080, square, [{ x: 1700, y: 300, width: 200, height: 260 }]);
    assert.equal(right.transform.offsetX, 853 - 480);
    // A face just right of centre: the crop moves only as far as needed for the margin.
    const near = planFit(1920, 1080, square, [{ x: 1300, y: 300, width: 200, height: 260 }]);
    const nb = mapBox({ x: 1300, y: 300, width: 200, height: 260 }, near.transform);
    assert.ok(near.transform.offsetX > Math.round((853 - 480) / 2) && nb.x + nb.width * 1.25 <= 480.5);
  });

  it("keeps the first (speaker's) box when all boxes cannot fit", () => {
    const speaker = { x: 1500, y: 100, width: 150, height: 200 };
    const other = { x: 50, y: 100, width: 150, height: 200 };
    const p = planFit(1920, 1080, square, [speaker, other]);
    const b = mapBox(speaker, p.transform);
    assert.ok(b.x >= 0 && b.x + b.width <= 480);
    const o = mapBox(other, p.transform);
    assert.ok(o.x + o.width < 0, "the other face is cut away");
  });

  it("property: any box that fits the frame ends up inside it", () => {
    fc.assert(fc.property(
      fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 100, max: 5000 }), fc.constantFrom(...BUCKETS["480p"], ...BUCKETS["720p"]),
      fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }),
      (w, h, bucket, fx, fy, fw, fh) => {
        const p = planFit(w, h, bucket);
        // A box of at most the frame's size (in source pixels) somewhere in the picture.
        const bw = Math.min(w, (bucket.width / p.scale) * fw), bh = Math.min(h, (bucket.height / p.scale) * fh);
        const box = { x: fx * (w - bw), y: fy * (h - bh), width: bw, height: bh };
        const t = planFit(w, h, bucket, [box]).transform;
        const m = mapBox(box, t);
        const tol = 1; // rounding of the resized size and offset
        assert.ok(t.offsetX >= 0 && t.offsetY >= 0);
        assert.ok(t.offsetX + bucket.width <= p.resizedWidth && t.offsetY + bucket.height <= p.resizedHeight);
        assert.ok(m.x >= -tol && m.y >= -tol && m.x + m.width <= bucket.width + tol && m.y + m.height <= bucket.height + tol,
          `${JSON.stringify({ w, h, bucket, box, t, m })}`);
      }), { numRuns: 300 });
  });

  it("ignores empty or outside boxes", () => {
    assert.deepEqual(planCropOffset(1000, 480, 480, 480, [{ x: 0, y: 0, width: 0, height: 10 }, { x: 2000, y: 0, width: 10, height: 10 }]),
      { offsetX: 260, offsetY: 0 });
  });

  it("maps points, faces and composed transforms", () => {
    const t = { scale: 0.5, offsetX: 10, offsetY: 4 };
    assert.deepEqual(mapPoint(100, 50, t), [40, 21]);
    const mesh = new Float32Array(478 * 3);
    mesh.set([100, 50, 8], 0);
    const f = mapFace({ box: { x: 100, y: 50, width: 40, height: 60 }, score: 0.9, mesh, pose: { yaw: 0, pitch: 0, roll: 0 } }, t);
    assert.deepEqual(f.box, { x: 40, y: 21, width: 20, height: 30 });
    assert.deepEqual(Array.from(f.mesh.subarray(0, 3)), [40, 21, 4]);
    const c = composeTransforms(t, { scale: 2, offsetX: 1, offsetY: 1 });
    assert.deepEqual(mapPoint(100, 50, c), mapPoint(...mapPoint(100, 50, t), { scale: 2, offsetX: 1, offsetY: 1 }));
  });
});

describe("decoding and fitting (sharp)", () => {
  it("fits a picture to the bucket and the transform finds source points in the frame", async () => {
    const file = path.join(dir, "wide.png");
    await makePicture(file, 1600, 900);
    // A red marker at a known source position.
    const src = await decodeImage(file, "image_url");
    const mx = 1200, my = 200;
    for (let y = my - 10; y < my + 10; y++) for (let x = mx - 10; x < mx + 10; x++) src.data.set([255, 0, 0], (y * src.width + x) * 3);
    for (const res of ["480p", "720p"] as const) {
      const bucket = chooseBucket(src.width, src.height, res);
      const face = { x: mx - 10, y: my - 10, width: 20, height: 20 };
      const fitted = await fitImage(src, bucket, [face]);
      assert.deepEqual([fitted.image.width, fitted.image.height, fitted.image.channels], [bucket.width, bucket.height, 3]);
      assert.equal(fitted.image.data.length, bucket.width * bucket.height * 3);
      const [fx, fy] = mapPoint(mx, my, fitted.transform);
      const [r, g, b] = pixel(fitted.image, fx, fy);
      assert.ok(r > 200 && g < 60 && b < 60, `marker found at ${fx},${fy}: ${r},${g},${b}`);
    }
  });

  it("honours EXIF orientation", async () => {
    // Stored 40x20: left half red, right half blue; orientation 6 = displayed rotated 90° clockwise (20x40, red on top).
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    const file = path.join(dir, "rotated.jpg");
    await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(file);
    const header = await readImageHeader(file, "image_url");
    assert.deepEqual([header.width, header.height, header.format], [20, 40, "jpeg"]);
    const img = await decodeImage(file, "image_url");
    assert.deepEqual([img.width, img.height], [20, 40]);
    assert.ok(pixel(img, 10, 5)[0] > 200 && pixel(img, 10, 35)[2] > 200, "red on top, blue below");
  });

  it("flattens alpha onto white, or keeps RGBA when asked; decodes with resize", async () => {
    const file = path.join(dir, "alpha.png");
    await sharp({ create: { width: 32, height: 32, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(file);
    const rgb = await decodeImage(file, "image_url");
    assert.equal(rgb.channels, 3);
    assert.deepEqual(pixel(rgb, 5, 5), [255, 255, 255]);
    const rgba = await decodeImage(file, "image_url", { channels: 4, resizeTo: { width: 20, height: 10 } });
    assert.deepEqual([rgba.width, rgba.height, rgba.channels, rgba.data[3]], [20, 10, 4, 0]);
    const cropped = await cropImage(rgb, 4, 6, 10, 8);
    assert.deepEqual([cropped.width, cropped.height, cropped.data.length], [10, 8, 240]);
  });

  it("rejects a decompression bomb from its header, fast", async () => {
    const file = path.join(dir, "bomb.png");
    await writeFile(file, pngHeaderOnly(60000, 60000));
    const t0 = performance.now();
    await assert.rejects(decodeImage(file, "image_url"), (e: unknown) => e instanceof InputError &&
      /image_url: the picture is 60000x60000 \(3600\.0 megapixels\), over the 50 megapixel limit/.test(e.message));
    assert.ok(performance.now() - t0 < 500, "rejected without decoding");
    await assert.rejects(readImageHeader(file, "image_url", { maxPixels: 1000 }), /over the 1000 pixel limit; send a smaller picture/);
  });

  it("names the field and the real type of files that are not pictures", async () => {
    const zip = path.join(dir, "a.zip");
    await makeJunk(zip, "zip");
    await assert.rejects(decodeImage(zip, "image_url"), (e: unknown) => e instanceof InputError &&
      e.detail[0].loc.join(".") === "body.image_url" &&
      e.detail[0].msg === "the file is not a decodable image (found: zip archive); send a JPEG, PNG or WebP picture");
    const html = path.join(dir, "a.html");
    await makeJunk(html, "html");
    await assert.rejects(decodeImage(html, "image_url"), /not a decodable image \(found: HTML page\)/);
    const tiny = path.join(dir, "tiny.png");
    await makePicture(tiny, 8, 8);
    await assert.rejects(decodeImage(tiny, "image_url"), /only 8x8/);
  });

  it("rejects a truncated picture", async () => {
    const file = path.join(dir, "whole.jpg");
    await makePicture(file, 400, 300);
    const bytes = await readFile(file);
    const cut = path.join(dir, "cut.jpg");
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(decodeImage(cut, "image_url"), (e: unknown) => e instanceof InputError && /image_url: the picture could not be decoded \(JPEG image/.test(e.message));
  });
});
