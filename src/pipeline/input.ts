/**
 * Typed readers for a request's (already schema-parsed) input. A wrong value here is the caller's bug (the schema
 * let it through), reported as an InputError naming the field.
 *
 * @example
 *   const numFrames = int(request.input, "num_frames");
 *   const box = optionalBox(request.input, "person1_box"); // [x, y, w, h] → Box, or undefined
 */
import { z } from "zod";
import type { EndpointDef } from "../api/endpoints.js";
import { InputError } from "../errors.js";
import type { Box } from "../face/types.js";

type Input = Record<string, unknown>;

export function str(input: Input, field: string): string {
  const v = input[field];
  if (typeof v !== "string" || v.length === 0) throw InputError.field(field, "a non-empty string is required", "missing");
  return v;
}

/** A string field that may be absent (undefined, null or ""). */
export function optionalStr(input: Input, field: string): string | undefined {
  const v = input[field];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw InputError.field(field, "must be a string", "string_type");
  return v;
}

export function int(input: Input, field: string): number {
  const v = input[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw InputError.field(field, "a positive integer is required", "int_parsing");
  return v;
}

export function bool(input: Input, field: string, def: boolean): boolean {
  const v = input[field] ?? def;
  if (typeof v !== "boolean") throw InputError.field(field, "must be true or false", "bool_type");
  return v;
}

export function oneOf<T extends string>(input: Input, field: string, allowed: readonly T[], def: T): T {
  const v = input[field] ?? def;
  if (!allowed.includes(v as T)) throw InputError.field(field, `must be one of ${allowed.join(", ")}`, "enum");
  return v as T;
}

/** An optional `[x, y, width, height]` box (source pixels) → Box. */
export function optionalBox(input: Input, field: string): Box | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length !== 4 || !v.every((n) => typeof n === "number" && Number.isFinite(n))) {
    throw InputError.field(field, "must be [x, y, width, height] in pixels of the input image", "tuple_type");
  }
  const [x, y, width, height] = v as number[];
  if (x < 0 || y < 0 || !(width > 0) || !(height > 0)) {
    throw InputError.field(field, "x and y must be >= 0, width and height > 0 (pixels of the input image)", "value_error");
  }
  return { x, y, width, height };
}

/** The largest num_frames an endpoint accepts (from its schema), or undefined when the schema does not say. */
export function maxNumFrames(endpoint: EndpointDef): number | undefined {
  try {
    const schema = z.toJSONSchema(endpoint.input, { io: "input" }) as { properties?: Record<string, { maximum?: number }> };
    return schema.properties?.num_frames?.maximum;
  } catch {
    return undefined;
  }
}
