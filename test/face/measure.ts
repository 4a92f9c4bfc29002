/**
 * Manual check (not a test): times face analysis per picture and draws the meshes over each picture.
 *
 *   node --import tsx test/face/measure.ts [--out /tmp/face-measure] [--runs 3] [--fast] picture...
 *
 * Without pictures it uses the fixtures (test/support/face-fixtures.ts). For each picture it prints the
 * model load time, the first (cold) and the median warm detect time and CPU time, the faces found, and writes
 * <out>/<name>.png (whole picture, meshes drawn) and <out>/<name>-face<k>.png (each face, 3x, contours drawn).
 * --fast measures the cheap setting (no tiles, one refinement crop).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { createFaceAnalyzer } from "../../src/face/analyzer.js";
import * as L from "../../src/face/landmarks.js";
import type { Face } from "../../src/face/types.js";
import type { RawImage } from "../../src/media/types.js";
import { loadGroupFixture, loadOpenMouthFixture, loadPortraitFixture } from "../support/face-fixtures.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string", default: "/tmp/face-measure" },
    runs: { type: "string", default: "3" },
    fast: { type: "boolean", default: false },
  },
});
const runs = Math.max(1, Number(values.runs));
await fs.mkdir(values.out, { recursive: true });

const pictures: { name: string; image: RawImage; png: Buffer }[] = [];
if (positionals.length === 0) {
  for (const [name, load] of [["portrait", loadPortraitFixture], ["open-mouth", loadOpenMouthFixture], ["group", loadGroupFixture]] as const) {
    const fx = await load();
    pictures.push({ name, image: fx.image, png: fx.png });
  }
} else {
  for (const file of positionals) {
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const png = await sharp(file).removeAlpha().png().toBuffer();
    pictures.push({ name: path.basename(file).replace(/\.[^.]+$/, ""), image: { width: info.width, height: info.height, channels: 3, data }, png });
  }
}

let t = performance.now();
const analyzer = await createFaceAnalyzer(values.fast ? { tiles: false, refineMargins: [1.9] } : {});
console.log(`models loaded in ${(performance.now() - t).toFixed(0)} ms (human ${analyzer.info.human}, tfjs ${analyzer.info.tfjs}, ${analyzer.info.backend})`);

for (const pic of pictures) {
  t = performance.now();
  let faces = await analyzer.detect(pic.image);
  const cold = performance.now() - t;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    t = performance.now();
    faces = await analyzer.detect(pic.image);
    wall.push(performance.now() - t);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  console.log(
    `${pic.name} ${pic.image.width}x${pic.image.height}: ${faces.length} face(s); first ${cold.toFixed(0)} ms, ` +
      `warm median ${median(wall).toFixed(0)} ms wall / ${median(cpu).toFixed(0)} ms CPU`,
  );
  for (const [k, f] of faces.entries()) {
    const b = f.box;
    console.log(
      `  face ${k}: box ${b.x.toFixed(1)},${b.y.toFixed(1)} ${b.width.toFixed(1)}x${b.height.toFixed(1)} score ${f.score.toFixed(2)} ` +
        `yaw ${f.pose.yaw.toFixed(2)} pitch ${f.pose.pitch.toFixed(2)} roll ${f.pose.roll.toFixed(2)} ` +
        `inner-lip gap/iod ${(L.distance2d(f.mesh, 13, 14) / L.interocularDistance(f.mesh)).toFixed(3)}`,
    );
    await drawFace(pic, f, path.join(values.out, `${pic.name}-face${k}.png`));
  }
  await drawAll(pic, faces, path.join(values.out, `${pic.name}.png`));
}

async function drawAll(pic: { image: RawImage; png: Buffer }, faces: Face[], file: string): Promise<void> {
  const { width, height } = pic.image;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`;
  for (const f of faces) {
    svg += `<rect x="${f.box.x}" y="${f.box.y}" width="${f.box.width}" height="${f.box.height}" fill="none" stroke="red" stroke-width="2"/>`;
    for (let i = 0; i < 478; i++) svg += `<circle cx="${f.mesh[i * 3]}" cy="${f.mesh[i * 3 + 1]}" r="1.2" fill="yellow"/>`;
  }
  await sharp(pic.png).composite([{ input: Buffer.from(svg + "</svg>") }]).png().toFile(file);
}

async function drawFace(pic: { image: RawImage; png: Buffer }, f: Face, file: string): Promise<void> {
  const scale = 3;
  const left = Math.max(0, Math.floor(f.box.x - f.box.width * 0.15));
  const top = Math.max(0, Math.floor(f.box.y - f.box.height * 0.15));
  const width = Math.min(pic.image.width - left, Math.ceil(f.box.width * 1.3));
  const height = Math.min(pic.image.height - top, Math.ceil(f.box.height * 1.3));
  const P = (i: number) => `${((f.mesh[i * 3] - left) * scale).toFixed(1)},${((f.mesh[i * 3 + 1] - top) * scale).toFixed(1)}`;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width * scale}" height="${height * scale}">`;
  for (const g of [
    L.LIPS_OUTER_UPPER, L.LIPS_OUTER_LOWER, L.LIPS_INNER_UPPER, L.LIPS_INNER_LOWER, L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER,
    L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER, L.RIGHT_BROW_UPPER, L.LEFT_BROW_UPPER, L.JAW_LINE, L.NOSE_BRIDGE,
  ]) {
    svg += `<polyline points="${g.map(P).join(" ")}" fill="none" stroke="lime" stroke-width="1"/>`;
  }
  for (const [c, color] of [[L.RIGHT_IRIS_CENTER, "red"], [L.LEFT_IRIS_CENTER, "blue"]] as const) {
    const [x, y] = P(c).split(",");
    svg += `<circle cx="${x}" cy="${y}" r="3" fill="${color}"/>`;
  }
  await sharp(pic.png)
    .extract({ left, top, width, height })
    .resize(width * scale, height * scale, { kernel: "nearest" })
    .composite([{ input: Buffer.from(svg + "</svg>") }])
    .png()
    .toFile(file);
}
