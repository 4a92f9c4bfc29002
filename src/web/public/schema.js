// From an endpoint's JSON Schema to form fields, and from the form's values back to a request body.
// Pure functions: the page and the tests use them.

const LABELS = {
  image_url: "Image",
  video_url: "Video",
  audio_url: "Audio",
  first_audio_url: "Person 1 audio",
  second_audio_url: "Person 2 audio",
  text_input: "Text to speak",
  first_text_input: "Person 1 text",
  second_text_input: "Person 2 text",
  voice: "Voice",
  voice1: "Person 1 voice",
  voice2: "Person 2 voice",
  prompt: "Prompt",
  num_frames: "Length (frames)",
  resolution: "Resolution",
  seed: "Seed",
  acceleration: "Acceleration",
  use_only_first_audio: "Use only the first audio",
  person1_box: "Who speaks track 1",
  person2_box: "Who speaks track 2",
};

/** Fields shown under "Advanced" (folded). */
const ADVANCED = new Set(["seed", "acceleration"]);

/** Sliders only for ranges small enough to pick with a thumb. */
const MAX_SLIDER_SPAN = 5000;

/**
 * @typedef {object} Field
 * @property {string} name
 * @property {"file"|"text"|"textarea"|"enum"|"voice"|"range"|"number"|"boolean"|"box"} kind
 * @property {"image"|"audio"|"video"} [media]  for kind "file"
 * @property {string} label
 * @property {string} help
 * @property {boolean} required
 * @property {unknown} [default]
 * @property {number} [min]
 * @property {number} [max]
 * @property {number} [minLength]
 * @property {number} [maxLength]
 * @property {string[]} [options]  for enums
 * @property {boolean} frames      the value is a number of video frames (show seconds)
 * @property {boolean} advanced
 * @property {boolean} [random]    empty means "a random one" (the seed): starts empty, sent whenever set
 */

export function humanize(name) {
  const words = name.replace(/_url$/, "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function mediaOf(name) {
  if (/video/.test(name)) return "video";
  if (/audio/.test(name)) return "audio";
  return "image";
}

/**
 * The form fields of an endpoint, in the schema's order.
 * @param {any} schema  JSON Schema of the input object
 * @param {readonly string[]} [fileFields] fields that carry a file URL
 * @returns {Field[]}
 */
export function describeFields(schema, fileFields = []) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, p]) => {
    const base = {
      name,
      label: LABELS[name] ?? humanize(name),
      help: p.description || "",
      required: required.has(name),
      default: p.default,
      frames: name === "num_frames",
      advanced: ADVANCED.has(name),
    };
    if (fileFields.includes(name) || (p.type === "string" && /_url$/.test(name))) {
      return { ...base, kind: "file", media: mediaOf(name), minLength: p.minLength };
    }
    if (p.type === "array" && Array.isArray(p.prefixItems) && p.prefixItems.length === 4 && /_box$/.test(name)) {
      return { ...base, kind: "box" };
    }
    if (Array.isArray(p.enum)) {
      return { ...base, kind: /^voice\d*$/.test(name) ? "voice" : "enum", options: p.enum.map(String) };
    }
    if (p.type === "boolean") return { ...base, kind: "boolean" };
    if (p.type === "integer" || p.type === "number") {
      const min = p.minimum ?? (p.exclusiveMinimum !== undefined ? p.exclusiveMinimum + 1 : undefined);
      const max = p.maximum ?? (p.exclusiveMaximum !== undefined ? p.exclusiveMaximum - 1 : undefined);
      const slider = min !== undefined && max !== undefined && max - min <= MAX_SLIDER_SPAN;
      // The seed starts empty (a random one, as fal does when none is sent); a typed seed is always sent.
      if (name === "seed") return { ...base, kind: "number", min, max, random: true };
      return { ...base, kind: slider ? "range" : "number", min, max };
    }
    const long = (p.maxLength ?? 0) > 200 || /text_input$/.test(name);
    return { ...base, kind: long ? "textarea" : "text", minLength: p.minLength, maxLength: p.maxLength };
  });
}

/** The value a field starts with: its default, or the first option of a required enum. */
export function initialValue(field) {
  if (field.random) return "";
  if (field.default !== undefined) return field.default;
  if ((field.kind === "enum" || field.kind === "voice") && field.required) return field.options[0];
  if (field.kind === "boolean") return false;
  return field.kind === "box" ? null : "";
}

/** "145 frames = 5.8 s at 25 fps" */
export function framesLabel(frames, fps) {
  const n = Number(frames);
  if (!Number.isFinite(n)) return "";
  return `${n} frames = ${(n / fps).toFixed(1)} s at ${fps} fps`;
}

/** Frames for a duration in seconds, within the field's range. */
export function framesFor(seconds, field, fps) {
  const n = Math.round(seconds * fps);
  return Math.max(field.min ?? 1, Math.min(field.max ?? n, n));
}

/**
 * The request body for the form's values: values equal to a default are left out (the server fills
 * them in), empty optional fields too. Errors name each field that must change.
 * @param {Field[]} fields
 * @param {Record<string, unknown>} values raw values: strings from inputs, booleans, boxes
 * @returns {{input: Record<string, unknown>, errors: {field: string, msg: string}[]}}
 */
export function buildInput(fields, values) {
  const input = {};
  const errors = [];
  for (const f of fields) {
    const raw = values[f.name];
    switch (f.kind) {
      case "boolean": {
        const v = Boolean(raw);
        if (f.required || v !== (f.default ?? false)) input[f.name] = v;
        break;
      }
      case "box": {
        if (Array.isArray(raw) && raw.length === 4) input[f.name] = raw.map(Number);
        break;
      }
      case "range":
      case "number": {
        const s = String(raw ?? "").trim();
        if (s === "") {
          if (f.required && f.default === undefined) errors.push({ field: f.name, msg: `Give ${f.label.toLowerCase()}.` });
          break;
        }
        const v = Number(s);
        if (!Number.isInteger(v)) {
          errors.push({ field: f.name, msg: `${f.label} must be a whole number.` });
        } else if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) {
          errors.push({ field: f.name, msg: `${f.label} must be between ${f.min} and ${f.max}.` });
        } else if (f.required || f.random || v !== f.default) {
          input[f.name] = v;
        }
        break;
      }
      case "enum":
      case "voice": {
        const v = String(raw ?? "");
        if (v === "") {
          if (f.required) errors.push({ field: f.name, msg: `Choose ${f.label.toLowerCase()}.` });
        } else if (f.required || v !== f.default) {
          input[f.name] = v;
        }
        break;
      }
      default: {
        const v = String(raw ?? "").trim();
        if (v === "") {
          if (f.required && (f.minLength ?? 0) > 0) {
            errors.push({
              field: f.name,
              msg:
                f.kind === "file"
                  ? `Add ${article(f.media)} ${f.media}: drop a file, choose one, or paste a URL.`
                  : `${f.label} is empty: write ${f.kind === "textarea" ? "what should be said" : "a value"}.`,
            });
          } else if (f.required) {
            input[f.name] = "";
          }
        } else if (f.maxLength !== undefined && v.length > f.maxLength) {
          errors.push({ field: f.name, msg: `${f.label} is ${v.length} characters; the most is ${f.maxLength}.` });
        } else {
          input[f.name] = v;
        }
      }
    }
  }
  return { input, errors };
}

function article(word) {
  return /^[aeiou]/.test(word) ? "an" : "a";
}
