// The playground page: the endpoint list at "/", one page per endpoint at "/playground/<endpoint id>".
import { h, fill, formatBytes, formatWhen } from "./dom.js";
import * as api from "./api.js";
import { EndpointForm } from "./form.js";
import { progressOf, mergeLogs, describeStatus } from "./progress.js";
import { jsSnippet, curlSnippet, pretty } from "./snippets.js";

const REUSE = "mouthpiece.reuse";
const main = /** @type {HTMLElement} */ (document.getElementById("main"));

const BLURBS = {
  "single-audio": "A picture and a voice recording → a talking video.",
  "multi-audio": "A picture of two people and two recordings → they talk in turn.",
  "single-text": "A picture and some text → it speaks the text in a voice you pick.",
  "multi-text": "A picture of two people and two texts → a dialogue in two voices.",
  "video-to-video": "A video and a new recording → the same video, lip-synced to the new audio.",
};

async function start() {
  renderKeyControl();
  let config;
  try {
    config = await api.getConfig();
  } catch (err) {
    fill(main, h("p", { class: "error" }, `Could not load the endpoints: ${err.message}`));
    return;
  }
  const path = decodeURIComponent(location.pathname);
  const id = path.startsWith("/playground/") ? path.slice("/playground/".length).replace(/\/$/, "") : "";
  const endpoint = config.endpoints.find((e) => e.id === id);
  if (endpoint) renderEndpoint(config, endpoint);
  else renderHome(config, id);
}

function renderKeyControl() {
  const slot = document.getElementById("key-slot");
  if (!slot) return;
  const input = h("input", { type: "password", id: "api-key", autocomplete: "off", spellcheck: "false", value: api.getKey(), placeholder: "not needed on this machine" });
  const note = h("span", { class: "note", role: "status" });
  const form = h(
    "form",
    {
      class: "key-form",
      onsubmit: (e) => {
        e.preventDefault();
        api.setKey(input.value.trim());
        note.textContent = input.value.trim() ? "Saved in this browser." : "Cleared.";
        document.dispatchEvent(new CustomEvent("keychange"));
      },
    },
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit", class: "ghost small" }, "Save"),
    note,
  );
  fill(slot, h("details", { class: "key" }, h("summary", null, api.getKey() ? "API key ✓" : "API key"), form));
}

// ---------------------------------------------------------------------------------------------- home

function renderHome(config, unknownId) {
  document.title = "Mouthpiece playground";
  const history = h("div", { class: "history-list" }, h("p", { class: "muted" }, "Loading…"));
  fill(
    main,
    unknownId ? h("p", { class: "error" }, `There is no endpoint “${unknownId}”. Pick one below.`) : null,
    h("h1", null, "Make a talking video"),
    h("p", { class: "lead" }, "Pick an endpoint, give it a face and a voice, press Run. Every endpoint speaks fal's API, so the code you try here runs against this server as it is."),
    h(
      "ul",
      { class: "cards" },
      config.endpoints.map((e) =>
        h(
          "li",
          null,
          h(
            "a",
            { href: `/playground/${e.id}`, class: "card" },
            h("strong", null, e.title),
            h("code", null, e.id),
            h("span", null, BLURBS[e.kind] ?? ""),
          ),
        ),
      ),
    ),
    h("section", { class: "panel", "aria-labelledby": "h-history" }, h("h2", { id: "h-history" }, "Your recent requests"), history),
  );
  loadHistory(history, config, null);
  document.addEventListener("keychange", () => loadHistory(history, config, null));
}

// ------------------------------------------------------------------------------------------ endpoint

function renderEndpoint(config, endpoint) {
  document.title = `${endpoint.title} · Mouthpiece playground`;
  const output = h("div", { class: "output-body" }, h("p", { class: "muted empty" }, "Your video appears here."));
  const code = h("pre", { class: "code", tabindex: "0", "aria-label": "Code for this input" }, h("code"));
  const history = h("div", { class: "history-list" }, h("p", { class: "muted" }, "Loading…"));
  let lang = "js";

  const updateCode = () => {
    const { input } = form.build();
    const o = { origin: location.origin, endpointId: endpoint.id, input, key: api.getKey() || undefined, routes: config.routes };
    code.firstChild.textContent = lang === "js" ? jsSnippet(o) : curlSnippet(o);
  };
  const form = new EndpointForm({ endpoint, fps: config.fps, routes: config.routes, onChange: () => updateCode() });

  const tabs = ["js", "curl"].map((l) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${l}`,
        "aria-selected": String(l === lang),
        "aria-controls": "code-panel",
        onclick: () => {
          lang = l;
          for (const t of tabs) t.setAttribute("aria-selected", String(t.id === `tab-${l}`));
          updateCode();
        },
      },
      l === "js" ? "JavaScript" : "cURL",
    ),
  );
  const copyNote = h("span", { class: "note", role: "status" });
  const copy = h(
    "button",
    {
      type: "button",
      class: "ghost small",
      onclick: async () => {
        const text = code.textContent ?? "";
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          const range = document.createRange();
          range.selectNodeContents(code);
          getSelection()?.removeAllRanges();
          getSelection()?.addRange(range);
          document.execCommand("copy");
        }
        copyNote.textContent = "Copied.";
        setTimeout(() => (copyNote.textContent = ""), 2000);
      },
    },
    "Copy",
  );

  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "/" }, "All endpoints")),
    h("h1", null, endpoint.title),
    h("p", { class: "lead" }, h("code", null, endpoint.id), " · ", BLURBS[endpoint.kind] ?? ""),
    h(
      "div",
      { class: "cols" },
      h("section", { class: "panel input", "aria-labelledby": "h-input" }, h("h2", { id: "h-input" }, "Input"), form.element),
      h("section", { class: "panel output", "aria-labelledby": "h-output" }, h("h2", { id: "h-output" }, "Result"), output),
    ),
    h(
      "section",
      { class: "panel code-panel", "aria-labelledby": "h-code" },
      h("div", { class: "code-head" }, h("h2", { id: "h-code" }, "Code"), h("div", { role: "tablist", "aria-label": "Language" }, tabs), copy, copyNote),
      h("div", { id: "code-panel", role: "tabpanel", "aria-labelledby": `tab-${lang}` }, code),
      h("p", { class: "help" }, "JavaScript: ", h("code", null, "npm install @fal-ai/client"), ", save as run.mjs, ", h("code", null, "node run.mjs"), ". cURL: paste into a shell."),
    ),
    h("section", { class: "panel", "aria-labelledby": "h-history" }, h("h2", { id: "h-history" }, "History"), history),
  );

  const reuse = takeReuse(endpoint.id);
  if (reuse) form.setInput(reuse);
  updateCode();
  document.addEventListener("keychange", () => {
    updateCode();
    loadHistory(history, config, endpoint.id);
  });

  let running = null;
  form.element.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (running) return;
    const run = /** @type {HTMLButtonElement} */ (form.element.querySelector("#run"));
    run.disabled = true;
    run.textContent = "Uploading…";
    try {
      await form.settle();
      const { input, errors } = form.build();
      if (form.showErrors(errors)) return;
      run.textContent = "Running…";
      running = runRequest(config, endpoint, input, output, form, () => loadHistory(history, config, endpoint.id));
      await running;
      loadHistory(history, config, endpoint.id);
    } finally {
      running = null;
      run.disabled = false;
      run.textContent = "Run";
    }
  });
  loadHistory(history, config, endpoint.id);
}

/** Takes the input a history entry asked to reuse on this endpoint, once. */
function takeReuse(endpointId) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(REUSE) ?? "null");
    sessionStorage.removeItem(REUSE);
    return saved && saved.endpoint_id === endpointId ? saved.input : null;
  } catch {
    return null;
  }
}

/** Submits, follows the status stream (progress, logs), offers cancel, then shows the video. */
async function runRequest(config, endpoint, input, output, form, onSubmitted) {
  const state = h("p", { class: "state", role: "status", "aria-live": "polite" }, "Submitting…");
  const bar = h("progress", { id: "progress", max: 1, "aria-labelledby": "progress-label" });
  const barLabel = h("span", { id: "progress-label" }, "Frames rendered");
  const frames = h("span", { class: "frames-count" });
  const logs = h("pre", { class: "logs", tabindex: "0", "aria-label": "Logs" });
  const cancelButton = h("button", { type: "button", class: "danger small", id: "cancel", disabled: true }, "Cancel");
  const video = h("div", { class: "video-slot" });
  fill(
    output,
    h("div", { class: "run" }, state, h("div", { class: "bar" }, barLabel, bar, frames), h("div", { class: "row" }, cancelButton), h("details", { class: "logs-box", open: true }, h("summary", null, "Logs"), logs)),
    video,
  );
  // On a narrow screen the result sits below the form: bring it into view.
  if (output.getBoundingClientRect().top > window.innerHeight) output.scrollIntoView({ behavior: "smooth", block: "start" });

  let queued;
  try {
    queued = await api.submit(config.routes, endpoint.id, input);
  } catch (err) {
    if (err instanceof api.ApiError && Array.isArray(err.detail)) {
      form.showErrors(err.detail.map((d) => ({ field: String((d.loc || []).filter((l) => l !== "body")[0] ?? ""), msg: d.msg })));
    }
    state.textContent = `Not submitted: ${err.message}`;
    state.classList.add("error");
    cancelButton.remove();
    return;
  }
  output.dataset.requestId = queued.request_id;
  onSubmitted();
  cancelButton.disabled = false;
  cancelButton.addEventListener("click", async () => {
    cancelButton.disabled = true;
    state.textContent = "Cancelling…";
    try {
      await api.cancel(queued);
    } catch (err) {
      state.textContent = `Could not cancel: ${err.message}`;
    }
  });

  const seen = [];
  let final;
  try {
    final = await api.watch(queued, (status) => {
      if (mergeLogs(seen, status)) {
        logs.textContent = seen.map((l) => l.message).join("\n");
        logs.scrollTop = logs.scrollHeight;
      }
      if (!cancelButton.disabled || status.status !== "IN_PROGRESS") state.textContent = describeStatus(status);
      const p = progressOf(status, seen);
      if (p && "total" in p) {
        bar.max = p.total;
        bar.value = p.done;
        frames.textContent = `${p.done} / ${p.total} frames`;
      } else if (p) {
        bar.max = 1;
        bar.value = p.fraction;
        frames.textContent = `${Math.round(p.fraction * 100)}%`;
      } else if (status.status === "COMPLETED") {
        bar.max = 1;
        bar.value = 1;
      }
    });
  } catch (err) {
    state.textContent = `Lost track of the request: ${err.message}`;
    state.classList.add("error");
    return;
  } finally {
    cancelButton.remove();
  }

  try {
    const out = await api.result(queued);
    if (bar.max === 1 && !(bar.value > 0)) bar.value = 1;
    else bar.value = bar.max;
    state.textContent = `Finished${out.seed !== undefined ? ` · seed ${out.seed}` : ""}`;
    state.classList.add("done");
    fill(video, videoResult(out));
  } catch (err) {
    // A failed or cancelled request is COMPLETED with `error` (and `error_type`) in its status.
    const cancelled = /cancel/i.test(`${final?.error_type ?? ""} ${final?.status} ${err.message}`);
    state.textContent = cancelled ? "Cancelled." : `Failed: ${final?.error || err.message}`;
    state.classList.add(cancelled ? "muted" : "error");
  }
}

function videoResult(out) {
  const file = out.video;
  return h(
    "figure",
    { class: "result" },
    h("video", { id: "result-video", controls: true, playsinline: true, preload: "metadata", src: file.url, "aria-label": "The generated video" }),
    h(
      "figcaption",
      null,
      h("a", { href: file.url, download: file.file_name || "video.mp4", class: "button" }, "Download"),
      " ",
      h("span", { class: "muted" }, [file.file_name, file.file_size ? formatBytes(file.file_size) : null].filter(Boolean).join(" · ")),
    ),
  );
}

// ------------------------------------------------------------------------------------------- history

async function loadHistory(container, config, endpointId) {
  let requests;
  try {
    requests = await api.listRequests();
  } catch (err) {
    fill(container, h("p", { class: "muted" }, `History is not available: ${err.message}`));
    return;
  }
  const mine = endpointId ? requests.filter((r) => r.endpoint_id === endpointId) : requests;
  if (mine.length === 0) {
    fill(container, h("p", { class: "muted" }, "Nothing yet. Your requests will show here."));
    return;
  }
  fill(container, h("ul", { class: "history" }, mine.slice(0, 30).map((r) => historyItem(r, config, !endpointId))));
}

function historyItem(r, config, showEndpoint) {
  const input = r.input || {};
  const image = typeof input.image_url === "string" && /^(https?:|\/)/.test(input.image_url) ? input.image_url : null;
  const text = input.text_input ?? input.first_text_input ?? input.prompt;
  const slot = h("div", { class: "history-video" });
  const url = r.output?.video?.url;
  return h(
    "li",
    { class: "history-item", dataset: { requestId: r.request_id } },
    image ? h("img", { src: image, alt: "", loading: "lazy", class: "thumb" }) : h("div", { class: "thumb" }),
    h(
      "div",
      { class: "meta" },
      h("div", null, h("span", { class: `badge ${String(r.status).toLowerCase()}` }, String(r.status).toLowerCase().replace(/_/g, " ")), " ", h("span", { class: "muted" }, formatWhen(r.created_at))),
      showEndpoint ? h("code", null, r.endpoint_id) : null,
      text ? h("p", { class: "snippet" }, String(text).slice(0, 120)) : null,
      r.error ? h("p", { class: "error" }, r.error) : null,
      h("details", { class: "inputs" }, h("summary", null, "Inputs"), h("pre", { class: "logs" }, pretty(input))),
      h(
        "div",
        { class: "row" },
        url
          ? h(
              "button",
              {
                type: "button",
                class: "ghost small",
                onclick: (e) => {
                  const open = slot.childElementCount > 0;
                  fill(slot, open ? null : h("video", { controls: true, playsinline: true, src: url, "aria-label": `Video of request ${r.request_id}` }));
                  e.currentTarget.textContent = open ? "Play" : "Hide";
                },
              },
              "Play",
            )
          : null,
        url ? h("a", { href: url, download: r.output.video.file_name || "video.mp4", class: "button ghost small" }, "Download") : null,
        config.endpoints.some((e) => e.id === r.endpoint_id)
          ? h(
              "a",
              {
                href: `/playground/${r.endpoint_id}`,
                class: "button ghost small",
                onclick: () => sessionStorage.setItem(REUSE, JSON.stringify({ endpoint_id: r.endpoint_id, input })),
              },
              "Reuse inputs",
            )
          : null,
      ),
      slot,
    ),
  );
}

start();
