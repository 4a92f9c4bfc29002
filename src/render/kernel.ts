/**
 * The rasterizer's WebAssembly kernel (src/render/assembly/warp.ts, compiled into warp-wasm.ts) with its own linear
 * memory. A renderer allocates the surfaces the kernel draws from and into (photo, frame, mouth patch, mask) in
 * that memory; `drawTriangles` then runs the kernel, and falls back to the JavaScript rasterizer (./warp.ts, the
 * same bytes) for any surface that is not in it.
 *
 * - The memory is sized once, when the kernel is made, and never grows (growing would detach every view), so
 *   the views handed out stay valid; an allocation that does not fit returns null and the caller keeps a
 *   JavaScript surface.
 * - The yuv420p conversion of the changed blocks (./pixels.ts rgbxToYuv420Changed) and the mouth pass's other loops
 *   (the patch from the frame, the inner-lip shading, the average back into the frame) run in it as well, when
 *   their arrays live in its memory.
 * - Per call, the triangle set's vertices, indices and order are copied into a scratch area (a few tens of KB
 *   per frame), and a texture that lives outside the memory (the mouth interior, a few KB) into a second one.
 *
 * @example
 *   const k = new WarpKernel(2 * w * h * 4 + (1 << 20));
 *   const photo = k.surface(w, h)!; photo.px.set(pixels);
 *   const frame = k.surface(w, h)!;
 *   k.drawTriangles(set, photo, frame, fullRect(frame), { front: 0 });
 */
import { copyRect as copyRectJs, evenRect, isEmpty, rgbxToYuv420Changed, type Rect, type Surface } from "./pixels.js";
import { WARP_WASM_BASE64 } from "./warp-wasm.js";
import { downsampleInto as downsampleIntoJs, drawTriangles as drawTrianglesJs, type DrawOptions, type TriangleSet } from "./warp.js";

type KernelDraw = (
  dst: number, src: number, tris: number, order: number, total: number,
  tex: number, tw: number, th: number, out: number, ow: number, oh: number,
  cx0: number, cy0: number, cx1: number, cy1: number,
  front: number, s: number, ox: number, oy: number, mask: number, maskValue: number,
) => number;

type KernelYuv = (px: number, shown: number, out: number, width: number, height: number, x0: number, y0: number, x1: number, y1: number) => number;

type KernelCopy = (from: number, to: number, w: number, x0: number, y0: number, x1: number, y1: number) => void;
type KernelUpsample = (frame: number, fw: number, bx0: number, by0: number, patch: number, pw: number, ph: number, s: number) => void;
type KernelDownsample = (
  patch: number, pw: number, ph: number, s: number, out: number, ow: number, oh: number, originX: number, originY: number,
  cx0: number, cy0: number, cx1: number, cy1: number,
) => void;
type KernelShade = (
  px: number, mask: number, a: number, b: number, cs: number, w: number,
  x0: number, y0: number, x1: number, y1: number, r: number, kIn: number, kLip: number,
) => void;

/** The box of a mouth patch's shading and its parameters (see FrameRenderer's shadeEdges). */
export interface ShadeJob {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Box blur radius, samples. */
  r: number;
  kIn: number;
  kLip: number;
}

const PAGE = 65536;
/** Scratch for one call's vertices (two Float32 pairs each), indices and order. */
const GEOMETRY_BYTES = 256 * 1024;
/** Scratch for a texture that lives outside the kernel's memory. */
const TEXTURE_BYTES = 1024 * 1024;

/** Calls of every kind served by the kernel and by the JavaScript fallback (tests, diagnostics). */
export interface KernelStats {
  kernel: number;
  fallback: number;
}

export class WarpKernel {
  private readonly memory: WebAssembly.Memory;
  private readonly draw: KernelDraw;
  private readonly yuv: KernelYuv;
  private readonly up: KernelUpsample;
  private readonly copy: KernelCopy;
  private readonly down: KernelDownsample;
  private readonly shadeFn: KernelShade;
  private readonly geometry: number;
  private readonly texture: number;
  private top: number;
  private readonly limit: number;
  readonly stats: KernelStats = { kernel: 0, fallback: 0 };

  /** `bytes`: room for the caller's surfaces (the scratch areas come on top). */
  constructor(bytes: number) {
    const scratch = GEOMETRY_BYTES + TEXTURE_BYTES;
    const pages = Math.ceil((bytes + scratch + 64 * 16 + PAGE) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages });
    // Compiling a 4 KB module takes well under a millisecond, and V8 shares the compiled code between modules
    // made from the same bytes.
    const module = new WebAssembly.Module(Buffer.from(WARP_WASM_BASE64, "base64"));
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.draw = instance.exports.drawTriangles as KernelDraw;
    this.yuv = instance.exports.yuv420Changed as KernelYuv;
    this.up = instance.exports.upsample as KernelUpsample;
    this.copy = instance.exports.copyRect as KernelCopy;
    this.down = instance.exports.downsample as KernelDownsample;
    this.shadeFn = instance.exports.shade as KernelShade;
    // Address 0 stays unused: the kernel reads a null order or mask pointer as "none".
    this.geometry = 64;
    this.texture = this.geometry + GEOMETRY_BYTES;
    this.top = this.texture + TEXTURE_BYTES;
    this.limit = pages * PAGE;
  }

  /** `n` bytes of the kernel's memory, 16-byte aligned, or null when they do not fit. */
  private alloc(n: number): number | null {
    const at = (this.top + 15) & ~15;
    if (at + n > this.limit) return null;
    this.top = at + n;
    return at;
  }

  /** A zeroed surface in the kernel's memory, or null when it does not fit. */
  surface(width: number, height: number): Surface | null {
    const at = this.alloc(width * height * 4);
    return at === null ? null : { width, height, px: new Uint32Array(this.memory.buffer, at, width * height) };
  }

  /** A zeroed byte array in the kernel's memory (a coverage mask), or null when it does not fit. */
  bytes(n: number): Uint8Array | null {
    const at = this.alloc(n);
    return at === null ? null : new Uint8Array(this.memory.buffer, at, n);
  }

  /** A zeroed Float32Array in the kernel's memory, or null when it does not fit. */
  floats(n: number): Float32Array | null {
    const at = this.alloc(n * 4);
    return at === null ? null : new Float32Array(this.memory.buffer, at, n);
  }

  /** A zeroed Float64Array in the kernel's memory, or null when it does not fit. */
  doubles(n: number): Float64Array | null {
    const at = this.alloc(n * 8);
    return at === null ? null : new Float64Array(this.memory.buffer, at, n);
  }

  private owns(a: ArrayBufferView): boolean {
    return a.buffer === this.memory.buffer;
  }

  /**
   * drawTriangles of ./warp.ts: the same pixels, by the kernel when `out` (and `mask`) live in its memory. `clip`
   * in whole pixels.
   */
  drawTriangles(set: TriangleSet, tex: Surface, out: Surface, clip: Rect, opts: DrawOptions = {}): number {
    const { dst, src, tris, order } = set;
    const total = set.count ?? (order ? order.length : tris.length / 3);
    const nv = dst.length >> 1;
    const geometryBytes = nv * 16 + tris.length * 4 + (order ? total * 4 : 0);
    const texBytes = tex.width * tex.height * 4;
    const texInside = this.owns(tex.px);
    if (
      !this.owns(out.px) || (opts.mask && !this.owns(opts.mask)) || src.length < dst.length ||
      geometryBytes > GEOMETRY_BYTES || (!texInside && texBytes > TEXTURE_BYTES)
    ) {
      this.stats.fallback++;
      return drawTrianglesJs(set, tex, out, clip, opts);
    }
    // The clip as the JavaScript rasterizer clamps it (whole pixels; a clip past the surface is cut to it).
    const cx0 = Math.max(0, clip.x0), cy0 = Math.max(0, clip.y0);
    const cx1 = Math.min(out.width, clip.x1), cy1 = Math.min(out.height, clip.y1);
    if (!(cx1 > cx0 && cy1 > cy0)) return 0;
    this.stats.kernel++;
    const buf = this.memory.buffer;
    const dstAt = this.geometry;
    const srcAt = dstAt + nv * 8;
    const trisAt = srcAt + nv * 8;
    const orderAt = trisAt + tris.length * 4;
    new Float32Array(buf, dstAt, nv * 2).set(dst.subarray(0, nv * 2));
    new Float32Array(buf, srcAt, nv * 2).set(src.subarray(0, nv * 2));
    new Uint32Array(buf, trisAt, tris.length).set(tris);
    if (order) new Uint32Array(buf, orderAt, total).set(order.subarray(0, total));
    let texAt = tex.px.byteOffset;
    if (!texInside) {
      texAt = this.texture;
      new Uint32Array(buf, texAt, tex.width * tex.height).set(tex.px.subarray(0, tex.width * tex.height));
    }
    return this.draw(
      dstAt, srcAt, trisAt, order ? orderAt : 0, total,
      texAt, tex.width, tex.height, out.px.byteOffset, out.width, out.height,
      cx0, cy0, cx1, cy1,
      opts.front ?? 0, opts.scale ?? 1, opts.originX ?? 0, opts.originY ?? 0,
      opts.mask ? opts.mask.byteOffset : 0, opts.maskValue ?? 255,
    );
  }

  /**
   * rgbxToYuv420Changed of ./pixels.ts (the same bytes): by the kernel when frame, shown and out live in its
   * memory, else by the JavaScript function.
   */
  yuv420Changed(frame: Surface, shown: Surface, out: Uint8Array, rect: Rect): number {
    if (!this.owns(frame.px) || !this.owns(shown.px) || !this.owns(out)) {
      this.stats.fallback++;
      return rgbxToYuv420Changed(frame, shown, out, rect);
    }
    const r = evenRect(rect, frame.width, frame.height);
    if (isEmpty(r)) return 0;
    this.stats.kernel++;
    return this.yuv(frame.px.byteOffset, shown.px.byteOffset, out.byteOffset, frame.width, frame.height, r.x0, r.y0, r.x1, r.y1);
  }

  /**
   * The mouth patch from the frame: patch pixel (x, y) = frame pixel (x0 + floor(x / s), y0 + floor(y / s)).
   * By the kernel when both live in its memory; false (nothing done) otherwise.
   */
  upsample(frame: Surface, x0: number, y0: number, patch: Surface, s: number): boolean {
    if (!this.owns(frame.px) || !this.owns(patch.px)) {
      this.stats.fallback++;
      return false;
    }
    this.stats.kernel++;
    this.up(frame.px.byteOffset, frame.width, x0, y0, patch.px.byteOffset, patch.width, patch.height, s);
    return true;
  }

  /** downsampleInto of ./warp.ts (the same bytes): by the kernel when both surfaces live in its memory. */
  downsampleInto(patch: Surface, s: number, out: Surface, originX: number, originY: number, clip: Rect): void {
    if (!this.owns(patch.px) || !this.owns(out.px)) {
      this.stats.fallback++;
      downsampleIntoJs(patch, s, out, originX, originY, clip);
      return;
    }
    this.stats.kernel++;
    this.down(
      patch.px.byteOffset, patch.width, patch.height, s, out.px.byteOffset, out.width, out.height, originX, originY,
      clip.x0, clip.y0, clip.x1, clip.y1,
    );
  }

  /**
   * The blur and shading loops of FrameRenderer's shadeEdges on a patch and its mask, with the blur scratch `a`,
   * `b` (patch-sized) and `colSum` (patch width): by the kernel when all live in its memory; false (nothing done)
   * otherwise.
   */
  shade(patch: Surface, mask: Uint8Array, a: Float32Array, b: Float32Array, colSum: Float64Array, job: ShadeJob): boolean {
    if (!this.owns(patch.px) || !this.owns(mask) || !this.owns(a) || !this.owns(b) || !this.owns(colSum)) {
      this.stats.fallback++;
      return false;
    }
    this.stats.kernel++;
    this.shadeFn(
      patch.px.byteOffset, mask.byteOffset, a.byteOffset, b.byteOffset, colSum.byteOffset, patch.width,
      job.x0, job.y0, job.x1, job.y1, job.r, job.kIn, job.kLip,
    );
    return true;
  }

  /** copyRect of ./pixels.ts (two surfaces of one size): by the kernel when both live in its memory. */
  copyRect(from: Surface, to: Surface, r: Rect): void {
    if (isEmpty(r)) return;
    if (!this.owns(from.px) || !this.owns(to.px) || from.width !== to.width) {
      this.stats.fallback++;
      copyRectJs(from, to, r);
      return;
    }
    this.stats.kernel++;
    this.copy(from.px.byteOffset, to.px.byteOffset, from.width, r.x0, r.y0, r.x1, r.y1);
  }
}
