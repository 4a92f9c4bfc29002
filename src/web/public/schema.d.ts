// Types of schema.js (browser module), for the tests.
export interface Field {
  name: string;
  kind: "file" | "text" | "textarea" | "enum" | "voice" | "range" | "number" | "boolean" | "box";
  media?: "image" | "audio" | "video";
  label: string;
  help: string;
  required: boolean;
  default?: unknown;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  options?: string[];
  frames: boolean;
  advanced: boolean;
  random?: boolean;
}
export function humanize(name: string): string;
export function describeFields(schema: unknown, fileFields?: readonly string[]): Field[];
export function initialValue(field: Field): unknown;
export function framesLabel(frames: number | string, fps: number): string;
export function framesFor(seconds: number, field: Field, fps: number): number;
export function buildInput(
  fields: Field[],
  values: Record<string, unknown>,
): { input: Record<string, unknown>; errors: { field: string; msg: string }[] };
