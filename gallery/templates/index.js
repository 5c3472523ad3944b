
// The gallery page's script (sent inline with the page's CSP nonce; the page loads
// nothing else, so it works on a Dify without internet access). It runs the workflow
// and completion demos: it sends the form as JSON (or as multipart when files are
// chosen: part `inputs` = the other inputs as JSON, one part per file named after its
// variable), reads the Server-Sent Events from `fetch` as they arrive, and shows them.
// Everything from the app or the server reaches the DOM through `textContent` /
// `append(string)`, never as HTML. The API key is read from its field when a request
// is sent and never stored.
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
        // a 5xx is the app's (or Dify's) failure, e.g. completion_unsupported; a 4xx refuses the request
        showError(fmt(response.status >= 500 ? "run_failed" : "refused", { message }));
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
