/** Small helpers on per-frame curves (Float32Array, one value per video frame). */

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** One-pole follower with a fast attack (rising) and a slower release (falling); coefficients 0..1 per frame. */
export function attackRelease(x: ArrayLike<number>, attack: number, release: number, start = 0): Float32Array {
  const y = new Float32Array(x.length);
  let s = start;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    s += (v > s ? attack : release) * (v - s);
    y[i] = s;
  }
  return y;
}

/** Symmetric one-pole smoothing run forward then backward (zero phase). */
export function smoothZeroPhase(x: ArrayLike<number>, a: number): Float32Array {
  const n = x.length;
  const y = new Float32Array(n);
  if (n === 0) return y;
  let s = x[0];
  for (let i = 0; i < n; i++) {
    s += a * (x[i] - s);
    y[i] = s;
  }
  s = y[n - 1];
  for (let i = n - 1; i >= 0; i--) {
    s += a * (y[i] - s);
    y[i] = s;
  }
  return y;
}

/** Centred moving average over 2*half+1 frames (edges use what exists). */
export function movingAverage(x: ArrayLike<number>, half: number): Float32Array {
  const n = x.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let c = 0;
    for (let k = Math.max(0, i - half); k <= Math.min(n - 1, i + half); k++) {
      s += x[k];
      c++;
    }
    y[i] = c ? s / c : 0;
  }
  return y;
}

/**
 * Shifts a curve earlier in time by `frames` (fractional allowed): out[i] = x(i + frames), linear
 * interpolation, holding the last/first value past the ends.
 */
export function shiftEarlier(x: ArrayLike<number>, frames: number): Float32Array {
  const n = x.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = clamp(i + frames, 0, n - 1);
    const lo = Math.floor(t);
    const hi = Math.min(n - 1, lo + 1);
    y[i] = x[lo] + (x[hi] - x[lo]) * (t - lo);
  }
  return y;
}

/** Pearson correlation of two equal-length sequences (NaN when either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/**
 * Best-lag correlation: tries lags -maxLag..maxLag where lag L compares a[i] with b[i + L]
 * (a positive best lag means `a` leads `b` by L frames).
 */
export function bestLagCorrelation(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  maxLag: number,
): { lag: number; r: number; byLag: Map<number, number> } {
  const n = Math.min(a.length, b.length);
  const byLag = new Map<number, number>();
  let best = { lag: 0, r: -Infinity };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const j = i + lag;
      if (j < 0 || j >= n) continue;
      xs.push(a[i]);
      ys.push(b[j]);
    }
    const r = pearson(xs, ys);
    byLag.set(lag, r);
    if (r > best.r) best = { lag, r };
  }
  return { ...best, byLag };
}
