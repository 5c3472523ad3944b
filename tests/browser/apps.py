"""The demo apps the browser tests run against (added to the devkit's demo apps).

They are declared here, in Python, because two of them carry answers no YAML file
should hold literally (a 10,000-character line), and because the tests assert on the
very strings the apps send: the answer and its expected pieces live side by side.
"""

from __future__ import annotations

from typing import Any

#: Seconds between two streamed words of the paced apps. The paced answers are long
#: enough that their stream lasts seconds, which is what lets a test look at the page
#: while the app is still sending.
TOKEN_DELAY = 0.06

#: The same for the gallery's workflow and completion apps (shorter answers, ~1.5 s each).
RUNNER_TOKEN_DELAY = 0.08

#: A Markdown answer, streamed word by word (~48 words, so ~3 s): the first words must
#: show long before the last one is sent.
PACED_MARKDOWN = """Quack first words arrive early.

## Duck facts

- ducks **swim** well
- ducks *fly* south
- ducks `quack` loudly

| kind | colour |
| --- | --- |
| mallard | green |

```
print("quack")
```

See [the pond](https://example.com/pond) for more. Last word: FINALE"""

#: The first words, visible while the app is still streaming.
PACED_FIRST_WORDS = "Quack first words"
#: The last word, sent just before `message_end`.
PACED_LAST_WORD = "FINALE"

#: A line of 10,000 characters without a space: the page must wrap it, not scroll.
LONG_LINE = "W" * 10_000

#: Unicode that breaks naive handling: CJK, emoji with a ZWJ sequence, right-to-left
#: text, a combining accent, a zero-width space.
UNICODE = "鸭子 🦆👩\u200d💻 مرحبا e\u0301 zero\u200bwidth"

#: Everything an answer could carry to run script or break out of its container if a
#: page inserted it raw. Each piece must show as text.
HOSTILE_PIECES = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "</div></section></main></body>",
    "[click me](javascript:window.__pwned='link')",
    "<a href=\"javascript:window.__pwned='raw-link'\">raw link</a>",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
]
HOSTILE_MARKDOWN = "\n\n".join(
    [
        "# Hostile answer",
        *HOSTILE_PIECES,
        f"Unicode: {UNICODE}",
        LONG_LINE,
        "**bold after all that**",
    ]
)

#: The workflow whose form the gallery page builds: one variable of each form type,
#: with required marks, defaults and a maximum length.
FORM_WORKFLOW_VARIABLES: list[dict[str, Any]] = [
    {"name": "topic", "label": "Topic", "type": "text-input", "required": True, "max_length": 40},
    {"name": "notes", "label": "Notes", "type": "paragraph", "required": False, "max_length": 200},
    {
        "name": "tone",
        "label": "Tone",
        "type": "select",
        "options": ["plain", "cheerful", "formal"],
        "default": "cheerful",
    },
    {"name": "count", "label": "Count", "type": "number", "required": False, "default": 3},
    {"name": "urgent", "label": "Urgent", "type": "checkbox", "required": False, "default": False},
]
FORM_WORKFLOW_ANSWER = (
    "Summary of {{topic}} in a {{tone}} tone, {{count}} points: ducks stream their answers one word at a time."
)

#: The completion's answer, streamed word by word; its last word marks the end.
COMPLETION_ANSWER = (
    "Dear {{name}}, thank you for trying the Endpoint Gallery in a real browser. Regards, COMPLETION_END"
)

APPS: list[dict[str, Any]] = [
    {
        "id": "browser-paced-markdown",
        "name": "Paced Markdown answer",
        "mode": "chat",
        "script": "answer",
        "answer": PACED_MARKDOWN,
        "token_delay": TOKEN_DELAY,
    },
    {
        "id": "browser-hostile-markdown",
        "name": "Hostile Markdown answer",
        "mode": "chat",
        "script": "answer",
        "answer": HOSTILE_MARKDOWN,
    },
    {
        "id": "browser-form-workflow",
        "name": "Workflow with every form field",
        "mode": "workflow",
        "script": "workflow",
        "answer": FORM_WORKFLOW_ANSWER,
        "variables": FORM_WORKFLOW_VARIABLES,
        "token_delay": RUNNER_TOKEN_DELAY,
    },
    {
        "id": "browser-paced-completion",
        "name": "Paced completion",
        "mode": "completion",
        "script": "completion",
        "answer": COMPLETION_ANSWER,
        "variables": [{"name": "name", "label": "Name", "type": "text-input", "required": True}],
        "token_delay": RUNNER_TOKEN_DELAY,
    },
]
