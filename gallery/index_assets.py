"""The index page's inline style and script (sent with the page's CSP nonce; the page
loads nothing else, so it works on a Dify without internet access).

The script runs the workflow and completion demos: it sends the form as JSON (or as
multipart when files are chosen: part `inputs` = the other inputs as JSON, one part
per file named after its variable), reads the Server-Sent Events from `fetch` as they
arrive, and shows them. Everything from the app or the server reaches the DOM through
`textContent` / `append(string)`, never as HTML. The API key is read from its field
when a request is sent and never stored.
"""

from __future__ import annotations

from typing import Final

STYLE: Final = """
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#fafaf7;color:#1d1d1b}
main{max-width:48rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.2rem;margin:0 0 .5rem}h3,h4{font-size:1rem;margin:1rem 0 .25rem}
.card{background:#fff;border:1px solid #e3e3dc;border-radius:.5rem;padding:1rem;margin:1rem 0}
.intro,.url code,pre,.text,.error,.unset{overflow-wrap:anywhere;word-break:break-word}
code,pre{font:.9rem/1.4 ui-monospace,monospace}
pre{white-space:pre-wrap;background:#f4f4ef;border-radius:.25rem;padding:.5rem;margin:0}
.curl{display:flex;gap:.5rem;align-items:flex-start}.curl pre{flex:1;min-width:0}
.note,small{color:#5b5b56;font-size:.9rem}.req{color:#a1260d}
.unset{background:#f6f6f1;border:1px dashed #c9c9c0;border-radius:.25rem;padding:.5rem}
.field{display:flex;flex-direction:column;margin:.5rem 0}.field.check{flex-direction:row;gap:.5rem;align-items:center}
label{font-weight:600}
input[type=text],input[type=password],input[type=number],textarea,select{width:100%;max-width:100%;padding:.45rem;
font:inherit;border:1px solid #b9b9b0;border-radius:.25rem;background:#fff}
input[type=file]{max-width:100%}
.row{display:flex;flex-wrap:wrap;gap:.5rem}.row input{flex:1 1 12rem;min-width:0}
button{padding:.45rem 1rem;font:inherit;border:1px solid #2d5d8a;border-radius:.25rem;background:#2d5d8a;color:#fff;
cursor:pointer}button.copy{background:#fff;color:#2d5d8a}button:disabled{opacity:.6;cursor:progress}
:focus-visible{outline:3px solid #f0a020;outline-offset:2px}
.run{margin-top:1rem}.status{font-weight:600}
.nodes{padding-left:1.5rem;margin:.25rem 0}.nodes li{margin:.15rem 0}
.nodes .meta{color:#5b5b56}.nodes [data-status=failed] .state,.nodes [data-status=exception] .state{color:#a1260d}
.nodes [data-status=succeeded] .state{color:#1d6b2f}
.text{white-space:pre-wrap;background:#fcfcf9;border:1px solid #e3e3dc;border-radius:.25rem;padding:.5rem;
min-height:2rem}
.error{background:#fff1f0;border:1px solid #f0b5ae;color:#8a1c10;border-radius:.5rem;padding:.5rem .75rem;
margin-top:.75rem}
.key-form{display:flex;flex-direction:column;gap:.5rem;margin-top:1rem;max-width:24rem}
"""

SCRIPT: Final = r"""
(() => {
  "use strict";
  const TEXT = JSON.parse(document.getElementById("page-text").textContent);
  const fmt = (name, params = {}) =>
    TEXT[name].replace(/\{(\w+)\}/g, (all, key) => (key in params ? String(params[key]) : all));
  const keyField = document.getElementById("api-key");
  const authHeaders = () => (keyField && keyField.value ? { Authorization: "Bearer " + keyField.value } : {});

  // Server-Sent Events from a fetch body, as they arrive: {event, data} per frame.
  async function* sseEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (!line || line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
        if (data.length) yield { event, data: data.join("\n") };
      }
    }
  }

  // The form as a request body: JSON, or multipart when files are chosen.
  function requestBody(form) {
    const inputs = {};
    const files = [];
    for (const el of form.querySelectorAll("[data-var]")) {
      const name = el.dataset.var;
      const kind = el.dataset.kind;
      if (kind === "file" || kind === "file-list") {
        for (const file of el.files) files.push([name, file]);
      } else if (kind === "checkbox") {
        inputs[name] = el.checked;
      } else if (el.value !== "") {
        inputs[name] = kind === "number" ? Number(el.value) : el.value;
      }
    }
    if (!files.length) {
      return { body: JSON.stringify({ inputs }), headers: { "Content-Type": "application/json" } };
    }
    const body = new FormData();
    body.append("inputs", JSON.stringify(inputs));
    for (const [name, file] of files) body.append(name, file, file.name);
    return { body, headers: {} };
  }

  const seconds = (from) => ((performance.now() - from) / 1000).toFixed(1);

  async function run(form) {
    const route = form.dataset.route;
    const box = document.getElementById(route + "-run");
    const part = (name) => box.querySelector('[data-part="' + name + '"]');
    const button = form.querySelector('button[type="submit"]');
    const nodes = part("nodes");
    const nodeItems = new Map();
    let finished = false;
    let failed = false;
    const showError = (message) => {
      failed = true;
      const error = part("error");
      if (error.hidden) error.textContent = message;
      else error.append(document.createElement("br"), message);
      error.hidden = false;
    };
    if (nodes) nodes.replaceChildren();
    part("text").textContent = "";
    part("outputs").textContent = "";
    part("outputs-box").hidden = true;
    part("error").textContent = "";
    part("error").hidden = true;
    box.hidden = false;
    button.disabled = true;
    const started = performance.now();
    const status = part("status");
    const timer = setInterval(() => (status.textContent = fmt("running", { seconds: seconds(started) })), 100);
    status.textContent = fmt("running", { seconds: "0.0" });

    const span = (cls, text) => {
      const el = document.createElement("span");
      el.className = cls;
      el.textContent = text;
      return el;
    };
    const handlers = {
      node_started(payload) {
        const d = payload.data || {};
        if (!nodes) return;
        const li = document.createElement("li");
        li.dataset.status = "running";
        li.dataset.nodeId = String(d.node_id || "");
        const state = span("state", fmt("node_running"));
        const elapsed = span("elapsed", "");
        li.append(span("title", String(d.title || d.node_id || "")), " ",
                  span("meta", "(" + String(d.node_type || "") + ")"), " — ", state, " ", elapsed);
        nodes.append(li);
        nodeItems.set(String(d.id || d.node_id), { li, state, elapsed, started: performance.now() });
      },
      node_finished(payload) {
        const d = payload.data || {};
        const item = nodeItems.get(String(d.id || d.node_id));
        if (!item) return;
        item.li.dataset.status = String(d.status || "");
        item.state.textContent = String(d.status || "");
        const took = typeof d.elapsed_time === "number" ? d.elapsed_time.toFixed(2) : seconds(item.started);
        item.elapsed.textContent = took + " s";
        if (d.error) item.li.append(" — ", span("node-error", String(d.error)));
      },
      text_chunk(payload) {
        part("text").append(String((payload.data || {}).text || ""));
      },
      message(payload) {
        part("text").append(String(payload.answer || ""));
      },
      agent_message(payload) {
        part("text").append(String(payload.answer || ""));
      },
      message_replace(payload) {
        part("text").textContent = String(payload.answer || "");
      },
      message_end() {
        finished = true;
      },
      workflow_finished(payload) {
        const d = payload.data || {};
        finished = true;
        if (d.outputs && typeof d.outputs === "object") {
          part("outputs").textContent = JSON.stringify(d.outputs, null, 2);
          part("outputs-box").hidden = false;
        }
        if (d.status === "failed" || d.status === "stopped") {
          showError(fmt("run_failed", { message: String(d.error || d.status) }));
        }
      },
      error(payload) {
        const code = payload.code ? " (" + String(payload.code) + ")" : "";
        showError(fmt("run_failed", { message: String(payload.message || "") + code }));
      },
    };

    try {
      const { body, headers } = requestBody(form);
      const response = await fetch(route, {
        method: "POST",
        headers: { ...headers, ...authHeaders(), Accept: "text/event-stream" },
        body,
      });
      if (!response.ok) {
        let message = response.status + " " + response.statusText;
        try {
          const answer = await response.json();
          if (answer && answer.error) message = String(answer.error.message) + " (" + String(answer.error.code) + ")";
        } catch (ignored) {
          // not JSON: the status line says enough
        }
        showError(fmt("refused", { message }));
        return;
      }
      for await (const { event, data } of sseEvents(response)) {
        let payload;
        try {
          payload = JSON.parse(data);
        } catch (ignored) {
          continue;
        }
        if (Object.prototype.hasOwnProperty.call(handlers, event)) handlers[event](payload);
      }
      if (!finished && !failed) showError(fmt("ended_early"));
    } catch (error) {
      showError(fmt("broken", { message: String((error && error.message) || error) }));
    } finally {
      clearInterval(timer);
      status.textContent = fmt(failed ? "failed" : "succeeded", { seconds: seconds(started) });
      button.disabled = false;
    }
  }

  for (const form of document.querySelectorAll("form.run-form")) {
    for (const picker of form.querySelectorAll("input[data-max-files]")) {
      picker.addEventListener("change", () => {
        const max = Number(picker.dataset.maxFiles);
        picker.setCustomValidity(picker.files.length > max ? fmt("too_many_files", { count: max }) : "");
      });
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(form);
    });
  }

  const duck = document.getElementById("duck-form");
  if (duck && keyField) {
    duck.addEventListener("submit", () => {
      duck.elements.key.value = keyField.value;
    });
  }

  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch (ignored) {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copy));
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      }
      button.textContent = TEXT.copied;
      setTimeout(() => (button.textContent = label), 1500);
    });
  }
})();
"""
