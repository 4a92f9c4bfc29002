/**
 * MotionFrame -> target position of every warp-mesh vertex. Pure (the output depends only on the rig and
 * the frame) and allocation-free per frame (the scratch holds the work arrays). Every motion is a
 * displacement added to the photo's position, so the all-zero frame gives exactly the photo's positions.
 *
 * - jaw: rotation about the hinge axis near the ears, weighted by the jaw field (chin, lower lip, lower
 *   face; nothing above the nose), up to the opening the picture can carry;
 * - lips: per column of the inner-lip contour the gap is set to its target (the photo's own gap at
 *   jawOpen 0, an elliptical opening profile on top, closed by lipClose >= 0.6), the correction shared
 *   between upper lip (lifts a little) and lower lip and fading through the lip rows; lipWidth stretches the
 *   corners out, lipRound pulls them in, protrudes and thickens the lips, lipClose > 0.6 presses them thin;
 * - smile: corners up and out, cheeks up; brows up;
 * - eyes: the upper lid comes down to meet the lower lid (damped on an eye seen too obliquely), the iris
 *   centre follows the gaze;
 * - head: rotation of the face and rings about the head centre in 3D (small angles, using the model's depth),
 *   weighted to 0 at the fixed outer ring, plus translation.
 */
import { NEUTRAL_FRAME, type MotionFrame } from "../motion/types.js";
import { LOWER_LIP_ROWS, UPPER_LIP_ROWS, axisRotation, mulMat3, type Rig } from "./rig.js";

export interface DeformScratch {
  dx: Float32Array;
  dy: Float32Array;
  dz: Float32Array;
  rot: Float64Array;
  tmp: Float64Array;
  tmp2: Float64Array;
  /** Filled by deform: the jaw rotation (rad), the target inner-lip gap at the centre (px), lip closure 0..1. */
  jawAngle: number;
  gap: number;
  closure: number;
}

export function newDeformScratch(rig: Rig): DeformScratch {
  const n = rig.mesh.vertexCount;
  return {
    dx: new Float32Array(n), dy: new Float32Array(n), dz: new Float32Array(n),
    rot: new Float64Array(9), tmp: new Float64Array(9), tmp2: new Float64Array(9), jawAngle: 0, gap: 0, closure: 0,
  };
}

const ROW_FOLLOW = [1, 0.8, 0.55, 0.3];
const ROW_THICK = [0, 0.35, 0.7, 1];
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const finite = (v: number) => (Number.isFinite(v) ? v : 0);

/** Writes the target position of every vertex ([x, y] per vertex) into `out`. */
export function deform(rig: Rig, frame: Readonly<MotionFrame>, out: Float32Array, s: DeformScratch): void {
  const f = frame ?? NEUTRAL_FRAME;
  const { mesh } = rig;
  const n = mesh.vertexCount;
  const { src, z } = mesh;
  const { dx, dy, dz } = s;
  dx.fill(0);
  dy.fill(0);
  dz.fill(0);
  const [rx, ry, rz] = rig.right;
  const [ux, uy, uz] = rig.up;
  const [fx, fy, fz] = rig.forward;
  const [d2x, d2y] = rig.down2;

  // --- Mouth targets.
  const jo = clamp(finite(f.jawOpen), 0, 1);
  const lc = clamp(finite(f.lipClose), 0, 1);
  const c = clamp(lc / 0.6, 0, 1);
  const closure = c * c * (3 - 2 * c);
  const press = clamp((lc - 0.6) / 0.4, 0, 1);
  const g0 = rig.photoGapCentre;
  const open = g0 + jo * Math.max(0, rig.maxGap - g0);
  const gap = open * (1 - closure);
  const jawGap = open * (1 - 0.7 * closure);
  let theta = (0.88 * (jawGap - g0)) / rig.gapPerRad;
  theta = clamp(theta, -g0 / rig.gapPerRad, rig.maxJawOpen);
  s.jawAngle = theta;
  s.gap = gap;
  s.closure = closure;

  // --- Jaw rotation about the hinge axis (Rodrigues, as a displacement).
  if (theta !== 0) {
    const [px, py, pz] = rig.pivot;
    const jw = rig.jaw;
    const sign = rig.axisSign.jaw;
    for (let v = 0; v < n; v++) {
      const w = jw[v];
      if (w === 0) continue;
      const a = sign * theta * w;
      const ca = Math.cos(a) - 1, sa = Math.sin(a);
      const qx = src[v * 2] - px, qy = src[v * 2 + 1] - py, qz = z[v] - pz;
      const kd = rx * qx + ry * qy + rz * qz;
      // k x q
      const cx = ry * qz - rz * qy, cy = rz * qx - rx * qz, cz = rx * qy - ry * qx;
      dx[v] += qx * ca + cx * sa - rx * kd * ca;
      dy[v] += qy * ca + cy * sa - ry * kd * ca;
      dz[v] += qz * ca + cz * sa - rz * kd * ca;
    }
  }

  // --- Corners, cheeks, brows, protrusion.
  const lipWidth = clamp(finite(f.lipWidth), -1, 1);
  const lipRound = clamp(finite(f.lipRound), 0, 1);
  const smile = clamp(finite(f.smile), -1, 1);
  const brow = clamp(finite(f.browRaise), -0.5, 1);
  const lat = (rig.mouthWidth / 2) * (0.14 * lipWidth - 0.22 * lipRound + 0.07 * smile);
  const lift = rig.mouthWidth * 0.1 * smile;
  const cheekUp = rig.faceHeight * 0.02 * Math.max(0, smile);
  const browUp = rig.faceHeight * 0.035 * brow;
  const protrude = rig.mouthWidth * 0.1 * lipRound;
  if (lat !== 0 || lift !== 0 || cheekUp !== 0 || browUp !== 0 || protrude !== 0) {
    const { stretch, corner, cheek, brow: browW, lips } = rig;
    for (let v = 0; v < n; v++) {
      const a = stretch[v] * lat;
      const b = corner[v] * lift + cheek[v] * cheekUp + browW[v] * browUp;
      const p = lips[v] * protrude;
      if (a === 0 && b === 0 && p === 0) continue;
      dx[v] += rx * a + ux * b + fx * p;
      dy[v] += ry * a + uy * b + fy * p;
      dz[v] += rz * a + uz * b + fz * p;
    }
  }

  // --- Lip columns: set each column's gap to its target.
  const inU = UPPER_LIP_ROWS[0], inL = LOWER_LIP_ROWS[0];
  const thick = rig.mouthWidth * (0.035 * lipRound - 0.03 * press);
  for (let i = 1; i < 10; i++) {
    const u = inU[i], l = inL[i];
    const cur = (src[l * 2] + dx[l] - src[u * 2] - dx[u]) * d2x + (src[l * 2 + 1] + dy[l] - src[u * 2 + 1] - dy[u]) * d2y;
    const gi = gap >= g0 ? rig.photoGap[i] + (gap - g0) * rig.lipProfile[i] : g0 > 0 ? (rig.photoGap[i] * gap) / g0 : 0;
    const r = gi - cur;
    const beta = r > 0 ? 0.3 : 0.45;
    const up = beta * r, down = (1 - beta) * r;
    const th = thick * rig.lipProfile[i];
    for (let k = 0; k < 4; k++) {
      const vu = UPPER_LIP_ROWS[k][i], vl = LOWER_LIP_ROWS[k][i];
      const mu = -(up * ROW_FOLLOW[k] + th * ROW_THICK[k]);
      const ml = down * ROW_FOLLOW[k] + th * ROW_THICK[k];
      dx[vu] += d2x * mu;
      dy[vu] += d2y * mu;
      dx[vl] += d2x * ml;
      dy[vl] += d2y * ml;
    }
  }

  // --- Eyes: blinks and gaze.
  const r2n = Math.hypot(rx, ry) || 1;
  const gx = clamp(finite(f.gazeX), -0.6, 0.6), gy = clamp(finite(f.gazeY), -0.6, 0.6);
  for (let e = 0; e < 2; e++) {
    const eye = rig.eyes[e];
    const blink = clamp(finite(e === 0 ? f.blinkRight : f.blinkLeft), 0, 1) * eye.trust;
    if (blink > 0) {
      const { upper, lower, meet } = eye;
      const m = upper.length;
      for (let i = 1; i < m - 1; i++) {
        const u = upper[i], l = lower[i];
        const dux = (meet[i * 2] - src[u * 2]) * blink, duy = (meet[i * 2 + 1] - src[u * 2 + 1]) * blink;
        const dlx = (meet[(m + i) * 2] - src[l * 2]) * blink, dly = (meet[(m + i) * 2 + 1] - src[l * 2 + 1]) * blink;
        dx[u] += dux; dy[u] += duy;
        dx[l] += dlx; dy[l] += dly;
        dx[eye.upperRing1[i]] += 0.45 * dux; dy[eye.upperRing1[i]] += 0.45 * duy;
        dx[eye.upperRing2[i]] += 0.15 * dux; dy[eye.upperRing2[i]] += 0.15 * duy;
        dx[eye.lowerRing1[i]] += 0.35 * dlx; dy[eye.lowerRing1[i]] += 0.35 * dly;
        dx[eye.lowerRing2[i]] += 0.1 * dlx; dy[eye.lowerRing2[i]] += 0.1 * dly;
      }
    }
    if (eye.iris >= 0) {
      const [a, b, cc] = eye.irisTri;
      const [la, lb, lcc] = eye.irisBary;
      let ix = la * dx[a] + lb * dx[b] + lcc * dx[cc];
      let iy = la * dy[a] + lb * dy[b] + lcc * dy[cc];
      if (gx !== 0 || gy !== 0) {
        const reach = 0.5 * eye.width * (1 - blink);
        let ox = ((gx * rx) / r2n + gy * d2x) * reach;
        let oy = ((gx * ry) / r2n + gy * d2y) * reach;
        const len = Math.hypot(ox, oy), lim = 0.16 * eye.width;
        if (len > lim) { ox *= lim / len; oy *= lim / len; }
        ix += ox;
        iy += oy;
      }
      dx[eye.iris] = ix;
      dy[eye.iris] = iy;
    }
  }

  // --- Head rotation and translation.
  const yaw = clamp(finite(f.headYaw), -0.5, 0.5);
  const pitch = clamp(finite(f.headPitch), -0.5, 0.5);
  const roll = clamp(finite(f.headRoll), -0.5, 0.5);
  const tx = clamp(finite(f.headX), -0.5, 0.5) * rig.faceWidth;
  const ty = clamp(finite(f.headY), -0.5, 0.5) * rig.faceWidth;
  if (yaw !== 0 || pitch !== 0 || roll !== 0 || tx !== 0 || ty !== 0) {
    const m = s.rot;
    axisRotation(rig.up, rig.axisSign.yaw * yaw, s.tmp2);
    axisRotation(rig.right, rig.axisSign.pitch * pitch, s.tmp);
    mulMat3(s.tmp2, s.tmp, m);
    axisRotation(rig.forward, rig.axisSign.roll * roll, s.tmp);
    mulMat3(m, s.tmp, s.tmp2);
    m.set(s.tmp2);
    m[0] -= 1; m[4] -= 1; m[8] -= 1;
    const [hx, hy, hz] = rig.headCentre;
    const hw = rig.head;
    for (let v = 0; v < n; v++) {
      const w = hw[v];
      if (w === 0) continue;
      const qx = src[v * 2] + dx[v] - hx, qy = src[v * 2 + 1] + dy[v] - hy, qz = z[v] + dz[v] - hz;
      dx[v] += w * (m[0] * qx + m[1] * qy + m[2] * qz + tx);
      dy[v] += w * (m[3] * qx + m[4] * qy + m[5] * qz + ty);
    }
  }

  for (let v = 0; v < n; v++) {
    out[v * 2] = src[v * 2] + dx[v];
    out[v * 2 + 1] = src[v * 2 + 1] + dy[v];
  }
}
