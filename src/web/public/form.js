// The input form of one endpoint, built from its JSON Schema: files (drop, pick or paste a URL, with
// previews), texts, pickers, sliders with seconds, checkboxes, and the face pickers of two-person endpoints.
import { h, fill, formatBytes } from "./dom.js";
import { describeFields, initialValue, framesLabel, framesFor, buildInput } from "./schema.js";
import { uploadFile, detectFaces } from "./api.js";

const ACCEPT = { image: "image/*", audio: "audio/*", video: "video/*" };

const ICONS = {
  image: '<rect x="3" y="5" width="18" height="14" rx="2"/><circle cx="9" cy="10" r="2"/><path d="M21 16l-5-5-8 8"/>',
  audio: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>',
  video: '<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3z"/>',
};

/** A line icon for a kind of media (decorative). */
function icon(media) {
  const span = h("span", { class: "drop-icon", "aria-hidden": "true" });
  span.innerHTML = `<svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${ICONS[media]}</svg>`;
  return span;
}

let voicesProbe = null;
/**
 * The server's voices from GET {voices} (asked once per page): a Map of name -> {gender, accent, description, …},
 * or null when the server has no voice routes (then there are no samples either).
 */
function voiceCatalog(routes) {
  voicesProbe ??= fetch(routes.voices, { headers: { accept: "application/json" } })
    .then((res) => (res.ok ? res.json() : null))
    .then((body) => (Array.isArray(body?.voices) ? new Map(body.voices.map((v) => [v.name, v])) : null))
    .catch(() => null);
  return voicesProbe;
}

export class EndpointForm {
  /**
   * @param {{endpoint: any, fps: number, routes: any, onChange?: () => void}} options
   */
  constructor({ endpoint, fps, routes, onChange }) {
    this.endpoint = endpoint;
    this.fps = fps;
    this.routes = routes;
    this.onChange = onChange || (() => {});
    this.fields = describeFields(endpoint.schema, endpoint.fileFields);
    /** @type {Map<string, {get: () => unknown, set: (v: unknown) => void, focus: () => void, error: HTMLElement, wrap: HTMLElement}>} */
    this.controls = new Map();
    this.uploads = new Map(); // name -> Promise of a pending upload
    this.faces = null; // {width, height, faces} of the current image
    this.boxSelects = [];
    this.twoPeople = endpoint.kind === "multi-audio" || endpoint.kind === "multi-text";

    const main = [];
    const advanced = [];
    for (const field of this.fields) (field.advanced ? advanced : main).push(this.#field(field));
    this.element = h(
      "form",
      { class: "endpoint-form", novalidate: true, "aria-label": `${endpoint.title} input` },
      main,
      advanced.length ? h("details", { class: "advanced" }, h("summary", null, "Advanced"), advanced) : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "primary", id: "run" }, "Run"),
        h("button", { type: "button", class: "ghost", id: "reset", onclick: () => this.reset() }, "Reset"),
      ),
    );
    this.element.addEventListener("input", () => this.onChange());
    this.element.addEventListener("change", () => this.onChange());
  }

  /** The request body and the problems to fix before it can be sent. */
  build() {
    const values = {};
    for (const [name, c] of this.controls) values[name] = c.get();
    return buildInput(this.fields, values);
  }

  /** Waits for files still uploading. */
  async settle() {
    await Promise.all([...this.uploads.values()]);
  }

  /** Fills the form from a request body (reusing a past request); missing fields get their defaults. */
  setInput(input) {
    for (const field of this.fields) {
      const c = this.controls.get(field.name);
      if (c) c.set(input && field.name in input ? input[field.name] : initialValue(field));
    }
    this.onChange();
  }

  reset() {
    this.setInput({});
    this.clearErrors();
  }

  clearErrors() {
    for (const c of this.controls.values()) {
      c.error.textContent = "";
      c.wrap.classList.remove("invalid");
    }
  }

  /** Shows each problem under its field and moves the focus to the first. */
  showErrors(errors) {
    this.clearErrors();
    let first;
    for (const e of errors) {
      const c = this.controls.get(e.field);
      if (!c) continue;
      c.error.textContent = e.msg;
      c.wrap.classList.add("invalid");
      if (c.wrap.closest("details")) c.wrap.closest("details").open = true;
      first ??= c;
    }
    first?.focus();
    return Boolean(first);
  }

  #field(field) {
    switch (field.kind) {
      case "file":
        return this.#fileField(field);
      case "range":
        return this.#rangeField(field);
      case "voice":
      case "enum":
        return this.#selectField(field);
      case "boolean":
        return this.#checkboxField(field);
      case "box":
        return this.#boxField(field);
      default:
        return this.#textField(field);
    }
  }

  #ids(field) {
    return { id: `in-${field.name}`, help: `help-${field.name}`, err: `err-${field.name}` };
  }

  #helpAndError(field) {
    const ids = this.#ids(field);
    return {
      help: field.help ? h("p", { class: "help", id: ids.help }, field.help) : null,
      error: h("p", { class: "error", id: ids.err, role: "alert" }),
      describedBy: [field.help ? ids.help : null, ids.err].filter(Boolean).join(" "),
    };
  }

  #label(field, forId) {
    const must = field.required && (field.minLength ?? 0) > 0;
    return h("label", { for: forId }, field.label, must ? h("span", { class: "req" }, " required") : null);
  }

  #register(field, wrap, error, input, get, set) {
    this.controls.set(field.name, { get, set, focus: () => input.focus(), error, wrap });
    set(initialValue(field));
  }

  #textField(field) {
    const ids = this.#ids(field);
    const { help, error, describedBy } = this.#helpAndError(field);
    const input =
      field.kind === "textarea"
        ? h("textarea", { id: ids.id, name: field.name, rows: 3, maxlength: field.maxLength, "aria-describedby": describedBy })
        : h("input", {
            id: ids.id,
            name: field.name,
            type: field.kind === "number" ? "number" : "text",
            inputmode: field.kind === "number" ? "numeric" : null,
            min: field.min,
            max: field.max,
            maxlength: field.maxLength,
            placeholder: field.name === "prompt" ? "optional, e.g. a calm presenter speaking to the camera" : field.random ? "random" : null,
            "aria-describedby": describedBy,
          });
    const extras = [];
    if (field.name === "seed") {
      extras.push(
        h(
          "button",
          {
            type: "button",
            class: "ghost small",
            onclick: () => {
              input.value = String(Math.floor(Math.random() * Math.min(field.max ?? 2 ** 32 - 1, 2 ** 32 - 1)));
              this.onChange();
            },
          },
          "Random seed",
        ),
      );
    }
    const counter = field.maxLength && field.kind === "textarea" ? h("span", { class: "counter", "aria-hidden": "true" }) : null;
    const updateCounter = () => {
      if (counter) counter.textContent = `${input.value.length} / ${field.maxLength}`;
    };
    input.addEventListener("input", updateCounter);
    const wrap = h("div", { class: `field ${field.kind}`, id: `field-${field.name}` }, this.#label(field, ids.id), h("div", { class: "row" }, input, extras), counter, help, error);
    this.#register(
      field,
      wrap,
      error,
      input,
      () => input.value,
      (v) => {
        input.value = v === undefined || v === null ? "" : String(v);
        updateCounter();
      },
    );
    return wrap;
  }

  #rangeField(field) {
    const ids = this.#ids(field);
    const { help, error, describedBy } = this.#helpAndError(field);
    const slider = h("input", { type: "range", id: ids.id, min: field.min, max: field.max, step: 1, "aria-describedby": describedBy });
    const number = h("input", {
      type: "number",
      id: `${ids.id}-exact`,
      name: field.name,
      min: field.min,
      max: field.max,
      step: 1,
      inputmode: "numeric",
      "aria-label": `${field.label}, exact value`,
      "aria-describedby": describedBy,
    });
    const out = h("output", { for: `${ids.id} ${ids.id}-exact`, class: "frames", "aria-live": "polite" });
    const show = () => {
      out.textContent = field.frames ? framesLabel(number.value, this.fps) : number.value;
      slider.setAttribute("aria-valuetext", out.textContent);
    };
    slider.addEventListener("input", () => {
      number.value = slider.value;
      show();
    });
    number.addEventListener("input", () => {
      if (number.value !== "") slider.value = number.value;
      show();
    });
    const wrap = h("div", { class: "field range", id: `field-${field.name}` }, this.#label(field, ids.id), h("div", { class: "row" }, slider, number), out, help, error);
    this.#register(
      field,
      wrap,
      error,
      slider,
      () => number.value,
      (v) => {
        number.value = v === undefined || v === null ? "" : String(v);
        slider.value = number.value;
        show();
      },
    );
    this.setFrames = (seconds) => {
      const n = framesFor(seconds, field, this.fps);
      this.controls.get(field.name).set(n);
      this.onChange();
      return n;
    };
    return wrap;
  }

  #selectField(field) {
    const ids = this.#ids(field);
    const { help, error, describedBy } = this.#helpAndError(field);
    const select = h(
      "select",
      { id: ids.id, name: field.name, "aria-describedby": describedBy },
      field.options.map((o) => h("option", { value: o }, o)),
    );
    const extras = [];
    if (field.kind === "voice") extras.push(this.#voiceSample(select, field));
    const wrap = h("div", { class: `field ${field.kind}`, id: `field-${field.name}` }, this.#label(field, ids.id), h("div", { class: "row" }, select, extras), help, error);
    this.#register(field, wrap, error, select, () => select.value, (v) => (select.value = v === undefined || v === null ? "" : String(v)));
    return wrap;
  }

  /** A button that plays the chosen voice's sample; says so when the server has none. */
  #voiceSample(select, field) {
    const audio = h("audio", { preload: "none" });
    const note = h("span", { class: "note", role: "status" });
    const button = h(
      "button",
      {
        type: "button",
        class: "ghost small",
        "aria-label": `Play a sample of the chosen ${field.label.toLowerCase()}`,
        onclick: async () => {
          if (!audio.paused) {
            audio.pause();
            return;
          }
          audio.src = `${this.routes.voices}/${encodeURIComponent(select.value)}/sample.wav`;
          note.textContent = "";
          try {
            await audio.play();
          } catch {
            note.textContent = "No voice samples on this server.";
          }
        },
      },
      "▶ Sample",
    );
    audio.addEventListener("error", () => (note.textContent = "No voice samples on this server."));
    // The picker says who each voice is; without voice routes on this server, the button says so instead of
    // failing on click.
    voiceCatalog(this.routes).then((voices) => {
      if (voices) {
        for (const option of select.options) {
          const v = voices.get(option.value);
          if (!v) continue;
          option.textContent = `${v.name} · ${v.gender} · ${v.accent}`;
          option.title = v.description;
        }
        return;
      }
      button.disabled = true;
      button.title = "This server has no voice samples";
      note.textContent = "No voice samples on this server.";
    });
    audio.addEventListener("play", () => (button.textContent = "■ Stop"));
    for (const ev of ["pause", "ended", "error"]) audio.addEventListener(ev, () => (button.textContent = "▶ Sample"));
    select.addEventListener("change", () => audio.pause());
    return h("span", { class: "sample" }, button, audio, note);
  }

  #checkboxField(field) {
    const ids = this.#ids(field);
    const { help, error, describedBy } = this.#helpAndError(field);
    const box = h("input", { type: "checkbox", id: ids.id, name: field.name, "aria-describedby": describedBy });
    const wrap = h("div", { class: "field boolean", id: `field-${field.name}` }, h("div", { class: "row" }, box, this.#label(field, ids.id)), help, error);
    this.#register(field, wrap, error, box, () => box.checked, (v) => (box.checked = Boolean(v)));
    return wrap;
  }

  /** Two-person endpoints: which detected face speaks which track. */
  #boxField(field) {
    const ids = this.#ids(field);
    const { error, describedBy } = this.#helpAndError(field);
    const n = /(\d)/.exec(field.name)?.[1] ?? "1";
    const help = h(
      "p",
      { class: "help", id: `help-${field.name}` },
      `Automatic: track ${n} is person ${n} (the two largest faces; person 1 is the left one). Another face can be picked once the picture shows them.`,
    );
    const select = h("select", { id: ids.id, name: field.name, "aria-describedby": `help-${field.name} ${describedBy}` });
    let chosen = null; // the box, kept while the face list changes
    const refresh = () => {
      const faces = this.faces?.faces ?? [];
      const labels = faceLabels(faces, true);
      fill(
        select,
        h("option", { value: "" }, "Automatic"),
        faces.map((f, i) => h("option", { value: String(i) }, labels[i])),
      );
      const index = chosen ? faces.findIndex((f) => f.box.every((v, k) => Math.abs(v - chosen[k]) < 0.5)) : -1;
      if (index < 0) chosen = null;
      select.value = index < 0 ? "" : String(index);
    };
    select.addEventListener("change", () => {
      const face = this.faces?.faces?.[Number(select.value)];
      chosen = select.value === "" || !face ? null : face.box;
    });
    this.boxSelects.push(refresh);
    const wrap = h("div", { class: "field box", id: `field-${field.name}` }, this.#label(field, ids.id), select, help, error);
    this.#register(field, wrap, error, select, () => chosen, (v) => {
      chosen = Array.isArray(v) && v.length === 4 ? v.map(Number) : null;
      refresh();
    });
    return wrap;
  }

  #setFaces(found) {
    this.faces = found;
    for (const refresh of this.boxSelects) refresh();
  }

  #fileField(field) {
    const ids = this.#ids(field);
    const { help, error, describedBy } = this.#helpAndError(field);
    const media = field.media;
    const file = h("input", { type: "file", id: `${ids.id}-file`, accept: ACCEPT[media], class: "visually-hidden", "aria-describedby": describedBy });
    const url = h("input", {
      type: "text",
      inputmode: "url",
      autocomplete: "off",
      spellcheck: "false",
      id: ids.id,
      name: field.name,
      placeholder: "https://…",
      "aria-describedby": describedBy,
    });
    const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    const preview = h("div", { class: `preview ${media}` });
    const drop = h(
      "div",
      { class: "drop" },
      file,
      h("label", { for: file.id, class: "drop-label" }, icon(media), h("span", null, h("span", { class: "link" }, `Choose ${media === "image" ? "an image" : media === "audio" ? "an audio file" : "a video"}`), " or drop it here")),
    );
    const must = field.required && (field.minLength ?? 0) > 0;
    const wrap = h(
      "fieldset",
      { class: `field file ${media}`, id: `field-${field.name}` },
      h("legend", null, field.label, must ? h("span", { class: "req" }, " required") : null),
      drop,
      h("label", { for: url.id, class: "sub" }, `or paste ${media === "image" ? "an image" : media === "audio" ? "an audio" : "a video"} URL`),
      url,
      status,
      preview,
      help,
      error,
    );

    let localPreview = null; // an object URL of the file just chosen
    let detectSeq = 0;
    const showPreview = (src) => {
      if (!src) {
        fill(preview);
        if (media === "image") this.#setFaces(null);
        return;
      }
      if (media === "image") {
        const img = h("img", { src, alt: `Preview of the ${field.label.toLowerCase()}` });
        const figure = h("figure", { class: "faces" }, h("div", { class: "stage" }, img), h("figcaption", { role: "status" }));
        fill(preview, figure);
      } else if (media === "audio") {
        const audio = h("audio", { controls: true, src, preload: "metadata", "aria-label": `${field.label} player` });
        const fit = h("p", { class: "fit" });
        audio.addEventListener("loadedmetadata", () => this.#offerFit(fit, audio.duration));
        fill(preview, audio, fit);
      } else {
        fill(preview, h("video", { controls: true, muted: true, playsinline: true, src, preload: "metadata", "aria-label": `${field.label} preview` }));
      }
    };

    const findFaces = async (imageUrl) => {
      if (media !== "image") return;
      const seq = ++detectSeq;
      const caption = preview.querySelector("figcaption");
      if (caption) caption.textContent = "Looking for faces…";
      try {
        const found = await detectFaces(imageUrl);
        if (seq !== detectSeq) return;
        this.#setFaces(found);
        drawFaces(preview, found, this.twoPeople);
      } catch (err) {
        if (seq !== detectSeq) return;
        this.#setFaces(null);
        const c = preview.querySelector("figcaption");
        if (c) c.textContent = `Face detection is not available (${err.message}).`;
      }
    };

    const useUrl = (value) => {
      const v = value.trim();
      if (localPreview) {
        URL.revokeObjectURL(localPreview);
        localPreview = null;
      }
      status.textContent = "";
      showPreview(v);
      if (v) findFaces(v);
    };

    const upload = (f) => {
      if (!f) return;
      if (localPreview) URL.revokeObjectURL(localPreview);
      localPreview = URL.createObjectURL(f);
      showPreview(localPreview);
      url.value = "";
      status.textContent = `Uploading ${f.name} (${formatBytes(f.size)})…`;
      wrap.classList.add("busy");
      const pending = uploadFile(f, this.routes, (fraction) => {
        status.textContent = `Uploading ${f.name} (${formatBytes(f.size)})… ${Math.round(fraction * 100)}%`;
      })
        .then((fileUrl) => {
          url.value = fileUrl;
          status.textContent = `Uploaded ${f.name} (${formatBytes(f.size)}).`;
          this.onChange();
          return findFaces(fileUrl);
        })
        .catch((err) => {
          status.textContent = "";
          error.textContent = `Could not upload ${f.name}: ${err.message}`;
          wrap.classList.add("invalid");
        })
        .finally(() => {
          wrap.classList.remove("busy");
          this.uploads.delete(field.name);
        });
      this.uploads.set(field.name, pending);
    };

    file.addEventListener("change", () => {
      error.textContent = "";
      wrap.classList.remove("invalid");
      upload(file.files?.[0]);
      file.value = "";
    });
    url.addEventListener("change", () => useUrl(url.value));
    for (const ev of ["dragenter", "dragover"]) {
      wrap.addEventListener(ev, (e) => {
        e.preventDefault();
        wrap.classList.add("dragging");
      });
    }
    wrap.addEventListener("dragleave", (e) => {
      if (!wrap.contains(/** @type {Node} */ (e.relatedTarget))) wrap.classList.remove("dragging");
    });
    wrap.addEventListener("drop", (e) => {
      e.preventDefault();
      wrap.classList.remove("dragging");
      const dropped = e.dataTransfer?.files?.[0];
      if (dropped) upload(dropped);
      else {
        const text = e.dataTransfer?.getData("text/uri-list") || e.dataTransfer?.getData("text/plain");
        if (text) {
          url.value = text.split("\n")[0].trim();
          useUrl(url.value);
          this.onChange();
        }
      }
    });

    this.#register(field, wrap, error, url, () => url.value, (v) => {
      url.value = v ? String(v) : "";
      useUrl(url.value);
    });
    return wrap;
  }

  /** Under an audio preview: set the video's length to the audio's. */
  #offerFit(el, duration) {
    const frames = this.fields.find((f) => f.frames);
    if (!frames || !Number.isFinite(duration) || !this.setFrames) return;
    const n = framesFor(duration, frames, this.fps);
    fill(
      el,
      `${duration.toFixed(1)} s of audio. `,
      h(
        "button",
        {
          type: "button",
          class: "ghost small",
          onclick: () => {
            const set = this.setFrames(duration);
            el.append(h("span", { class: "note" }, ` Length set to ${set} frames.`));
          },
        },
        `Fit the video to it (${n} frames)`,
      ),
    );
  }
}

/**
 * What the preview calls each face (faces as /api/playground/faces lists them, left to right), by the pipeline's
 * rule: on two-person endpoints the two largest faces are "person 1" (left) and "person 2" (right), a lone face is
 * both; on single-person endpoints the largest face is "speaks". Any other face: "other face k", counted from the left.
 */
export function faceLabels(faces, twoPeople) {
  let others = 0;
  return faces.map((f) => {
    if (twoPeople && f.person) return faces.length === 1 ? "person 1 and 2" : `person ${f.person}`;
    if (!twoPeople && f.largest) return "speaks";
    others += 1;
    return `other face ${others}`;
  });
}

/** Outlines and labels the faces found in the image preview (see faceLabels); other faces get a dashed outline. */
export function drawFaces(preview, found, twoPeople = false) {
  const stage = preview.querySelector(".stage");
  const caption = preview.querySelector("figcaption");
  if (!stage) return;
  for (const old of stage.querySelectorAll(".face")) old.remove();
  const { width, height, faces } = found;
  const labels = faceLabels(faces, twoPeople);
  faces.forEach((f, i) => {
    const [x, y, w, hgt] = f.box;
    const speaks = twoPeople ? Boolean(f.person) : Boolean(f.largest);
    stage.append(
      h(
        "div",
        {
          class: speaks ? "face" : "face other",
          style: `left:${(x / width) * 100}%;top:${(y / height) * 100}%;width:${(w / width) * 100}%;height:${(hgt / height) * 100}%`,
        },
        h("span", { class: "tag" }, labels[i]),
      ),
    );
  });
  if (caption) {
    const count = `${faces.length} face${faces.length === 1 ? "" : "s"} found (${width}×${height})`;
    caption.textContent =
      faces.length === 0
        ? "No face found: the video needs a clearly visible face."
        : twoPeople
          ? faces.length === 1
            ? `${count}: one person speaks both tracks.`
            : `${count}: person 1 (left) and person 2 (right) are the two largest${faces.length > 2 ? "; the others stay still" : ""}.`
          : `${count}${faces.length > 1 ? ": the largest one speaks, the others stay still" : ""}.`;
    caption.classList.toggle("warn", faces.length === 0);
  }
}
