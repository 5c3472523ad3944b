// The openai npm package as a client of the gallery's /v1 routes.
// usage: node client.mjs <scenario> <baseURL> <apiKey>
// Prints one JSON line: what the scenario saw (tests/clients/test_openai_node.py checks it).
import OpenAI from "openai";

const [scenario, baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

async function streamed(model, messages, extra = {}) {
  const stream = await client.chat.completions.create({ model, messages, stream: true, ...extra });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.delta?.content ?? "";
      finish = choice.finish_reason ?? finish;
    }
  }
  return { text, finish, usage };
}

async function blocking(model, messages) {
  const result = await client.chat.completions.create({ model, messages });
  return { text: result.choices[0].message.content, finish: result.choices[0].finish_reason, usage: result.usage };
}

function failure(error) {
  return { error: error.constructor.name, status: error.status ?? null, code: error.code ?? null };
}

const scenarios = {
  async models() {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    return { ids };
  },
  async chat() {
    const messages = [{ role: "user", content: "Hello from Node" }];
    return { stream: await streamed("chat", messages), blocking: await blocking("chat", messages) };
  },
  async workflow() {
    const messages = [{ role: "user", content: "ducks" }];
    return { stream: await streamed("workflow", messages), blocking: await blocking("workflow", messages) };
  },
  async usage() {
    return streamed("chat", [{ role: "user", content: "count my words" }], { stream_options: { include_usage: true } });
  },
  async conversation() {
    const messages = [];
    const answers = [];
    for (const [text, stream] of [["Node turn one", true], ["Node turn two", false], ["Node turn three", true]]) {
      messages.push({ role: "user", content: text });
      const { text: answer } = stream ? await streamed("chat", messages) : await blocking("chat", messages);
      answers.push(answer);
      messages.push({ role: "assistant", content: answer });
    }
    return { answers };
  },
  async wrongKey() {
    try {
      await client.models.list();
      return { error: null };
    } catch (error) {
      return failure(error);
    }
  },
  async unknownModel() {
    try {
      await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
      return { error: null };
    } catch (error) {
      return failure(error);
    }
  },
  async midStream() {
    let text = "";
    try {
      const stream = await client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "go" }],
        stream: true,
      });
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      return { error: null, text };
    } catch (error) {
      return { ...failure(error), text };
    }
  },
  async many() {
    const { text, finish } = await streamed("chat", [{ role: "user", content: "long" }]);
    return { words: text.split(" ").length, text, finish };
  },
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}; one of: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await run()));
