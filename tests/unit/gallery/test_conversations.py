"""gallery.conversations: Duck's turns in storage stay bounded, and a bad store never breaks the page."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gallery import conversations
from gallery.conversations import ConversationStore, File, Turn
from tests.unit.fakes import FakeStorage

APP = "chat-app"
CONVERSATION = "3f2b0f3e-9a4c-4c5e-8d3b-2a1b0c9d8e7f"
KEY = f"duck/conversations/{APP}/{CONVERSATION}"


def turns(count: int, answer: str = "a") -> list[Turn]:
    return [Turn(query=f"q{i}", answer=f"{answer}{i}") for i in range(1, count + 1)]


def test_a_conversation_is_kept_under_its_app_and_id_and_read_back() -> None:
    storage = FakeStorage()
    store = ConversationStore(storage, APP)
    kept = [Turn("q1", "a1", (File("image", "https://e.com/a.png"),)), Turn("q2", "**a2**")]
    assert store.save(CONVERSATION, kept)
    assert list(storage.values) == [KEY]
    assert store.load(CONVERSATION) == (kept, True)


def test_the_same_conversation_id_under_another_app_is_another_conversation() -> None:
    storage = FakeStorage()
    ConversationStore(storage, APP).save(CONVERSATION, turns(1))
    assert ConversationStore(storage, "other-app").load(CONVERSATION) == ([], True)


def test_no_conversation_id_reads_and_writes_nothing() -> None:
    storage = FakeStorage()
    store = ConversationStore(storage, APP)
    assert store.load(None) == ([], True)
    assert not store.save(None, turns(1))
    assert storage.calls == []


@pytest.mark.parametrize("conversation_id", ["../../etc", "not-a-uuid", "a/b", "", "3f2b0f3e" * 10])
def test_an_id_that_is_not_a_uuid_makes_no_key(conversation_id: str) -> None:
    assert conversations.storage_key(APP, conversation_id) is None


@pytest.mark.parametrize("app_id", ["../x", "a/b", "", "x" * 65, "a b"])
def test_an_app_id_that_cannot_be_a_key_part_makes_no_key(app_id: str) -> None:
    assert conversations.storage_key(app_id, CONVERSATION) is None


def test_the_key_uses_the_canonical_uuid_and_fits_the_daemons_limit() -> None:
    key = conversations.storage_key("a" * 64, CONVERSATION.upper())
    assert key == f"duck/conversations/{'a' * 64}/{CONVERSATION}"
    assert len(key.encode()) <= 256  # the daemon refuses longer keys


def test_a_missing_conversation_is_empty_without_a_failing_get() -> None:
    storage = FakeStorage()
    assert ConversationStore(storage, APP).load(CONVERSATION) == ([], True)
    assert storage.calls == [("exist", KEY)]  # the daemon's `get` of a missing key is an error


def test_only_the_last_twenty_turns_are_kept() -> None:
    storage = FakeStorage()
    store = ConversationStore(storage, APP)
    store.save(CONVERSATION, turns(25))
    assert len(json.loads(storage.values[KEY])["turns"]) == conversations.MAX_TURNS == 20
    loaded, _ = store.load(CONVERSATION)
    assert [t.query for t in loaded] == [f"q{i}" for i in range(6, 26)]


def test_older_turns_are_dropped_to_stay_under_the_byte_limit() -> None:
    big = "x" * 20_000
    kept = conversations.bounded(turns(10, answer=big))
    assert len(conversations.encode(kept)) <= conversations.MAX_BYTES
    assert [t.query for t in kept] == ["q8", "q9", "q10"]


@pytest.mark.parametrize("text", ["x", "鸭", "\x00", '"', "🦆"])
def test_a_single_answer_too_big_for_the_limit_is_cut_to_fit(text: str) -> None:
    huge = Turn(query="q", answer=text * (conversations.MAX_BYTES * 2))
    (kept,) = conversations.bounded([Turn("old", "a"), huge])
    assert len(conversations.encode([kept])) <= conversations.MAX_BYTES
    assert kept.query == "q"
    assert kept.answer.endswith(conversations.CUT_MARK)
    assert len(kept.answer) > conversations.MAX_BYTES // 8  # cut, not emptied


@given(st.lists(st.tuples(st.text(max_size=3000), st.text(max_size=30000)), max_size=30))
def test_whatever_is_saved_is_bounded_and_reads_back_as_saved(pairs: list[tuple[str, str]]) -> None:
    storage = FakeStorage()
    store = ConversationStore(storage, APP)
    store.save(CONVERSATION, [Turn(q, a) for q, a in pairs])
    if not pairs:
        return
    raw = storage.values[KEY]
    assert len(raw) <= conversations.MAX_BYTES
    loaded, ok = store.load(CONVERSATION)
    assert ok
    assert loaded == conversations.bounded([Turn(q, a) for q, a in pairs])
    assert len(loaded) <= conversations.MAX_TURNS
    assert loaded[-1].query == pairs[-1][0] or loaded[-1].query.endswith(conversations.CUT_MARK)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"not json",
        b"[]",
        b'{"version": 2, "turns": []}',
        b'{"version": 1, "turns": {}}',
        b'{"version": 1, "turns": [1]}',
        b'{"version": 1, "turns": [{"query": "q"}]}',
        b'{"version": 1, "turns": [{"query": 1, "answer": "a"}]}',
        b'{"version": 1, "turns": [{"query": "q", "answer": "a", "files": "x"}]}',
        b"[" * 100_000,
    ],
)
def test_a_corrupt_value_is_an_empty_history_and_is_logged(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    storage = FakeStorage(values={KEY: raw})
    with caplog.at_level(logging.WARNING, logger="gallery.conversations"):
        assert ConversationStore(storage, APP).load(CONVERSATION) == ([], False)
    assert "corrupt conversation" in caplog.text


def test_stored_files_that_are_not_web_urls_are_dropped() -> None:
    files = [{"type": "image", "url": "javascript:alert(1)"}, {"type": "image", "url": "https://e.com/a.png"}, "x"]
    raw = json.dumps({"version": 1, "turns": [{"query": "q", "answer": "a", "files": files}]}).encode()
    loaded, ok = ConversationStore(FakeStorage(values={KEY: raw}), APP).load(CONVERSATION)
    assert ok
    assert loaded == [Turn("q", "a", (File("image", "https://e.com/a.png"),))]


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://e.com/a.png", True),
        ("HTTP://e.com/a.png", True),
        ("javascript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("/files/relative.png", False),
        ("https://e.com/a b.png", False),
        ("https://e.com/\n.png", False),
        ("https://e.com/" + "a" * 3000, False),
        (None, False),
    ],
)
def test_only_plain_http_urls_make_files(url: object, kept: bool) -> None:
    assert (conversations.safe_file({"event": "message_file", "type": "image", "url": url}) is not None) is kept


def test_a_storage_failure_on_read_is_an_empty_history_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    storage = FakeStorage(error="read app failed: connection refused (internal host 10.0.0.7)")
    with caplog.at_level(logging.WARNING, logger="gallery.conversations"):
        assert ConversationStore(storage, APP).load(CONVERSATION) == ([], False)
    assert "could not read conversation" in caplog.text


def test_a_storage_failure_on_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    storage = FakeStorage(error="save data failed: allocated size is greater than max storage size")
    with caplog.at_level(logging.WARNING, logger="gallery.conversations"):
        assert not ConversationStore(storage, APP).save(CONVERSATION, turns(1))
    assert "allocated size is greater" in caplog.text


@pytest.mark.parametrize(
    ("hook_url", "origin"),
    [
        ("https://dify.example/e/abc/duck", "https://dify.example"),
        ("http://127.0.0.1:5002/e/abc/duck", "http://127.0.0.1:5002"),
        ("javascript:alert(1)//x", None),
        ("/e/abc/duck", None),
        ("", None),
        (None, None),
        ("http://[::1", None),
    ],
)
def test_the_public_origin_comes_from_an_http_hook_url_only(hook_url: str | None, origin: str | None) -> None:
    assert conversations.public_origin(hook_url) == origin


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("/files/tools/abc.png?sign=x", "https://dify.example/files/tools/abc.png?sign=x"),
        ("https://cdn.example/a.png", "https://cdn.example/a.png"),
        ("//evil.example/a.png", None),
        ("/\\evil.example/a.png", None),
        ("files/relative.png", None),
    ],
)
def test_a_dify_file_path_is_resolved_against_the_public_origin(url: str, resolved: str | None) -> None:
    found = conversations.safe_file({"type": "image", "url": url}, "https://dify.example")
    assert (found.url if found else None) == resolved


@pytest.mark.parametrize(("hook_url"), ["http:///e/abc/duck", "ftp://dify.example/e/abc/duck"])
def test_a_hook_url_needs_both_a_web_scheme_and_a_host(hook_url: str) -> None:
    assert conversations.public_origin(hook_url) is None


def test_a_url_of_exactly_the_longest_length_is_kept() -> None:
    url = "https://e.com/" + "a" * (conversations.MAX_URL_CHARS - len("https://e.com/"))
    assert conversations.safe_file({"url": url}) == File("file", url)


@pytest.mark.parametrize("kind", [None, "", 3])
def test_a_file_without_a_type_is_a_file(kind: object) -> None:
    assert conversations.safe_file({"type": kind, "url": "https://e.com/a"}) == File("file", "https://e.com/a")


def test_a_conversation_is_stored_as_compact_utf8_json() -> None:
    raw = conversations.encode([Turn("鸭?", "a", (File("image", "https://e.com/a.png"),))])
    assert (
        raw
        == (
            '{"version":1,"turns":[{"query":"鸭?","answer":"a","files":[{"type":"image","url":"https://e.com/a.png"}]}]}'
        ).encode()
    )


def test_a_stored_turn_without_files_has_none() -> None:
    raw = b'{"version": 1, "turns": [{"query": "q", "answer": "a"}]}'
    assert conversations.decode(raw) == [Turn("q", "a")]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff", "not UTF-8 JSON"),
        (b"[]", "not a conversation of this version"),
        (b'{"version": 1, "turns": [1]}', "a turn is not an object"),
        (b'{"version": 1, "turns": [{"query": "q"}]}', "a turn lacks its query or answer"),
    ],
)
def test_a_corrupt_value_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(conversations.CorruptConversation) as refused:
        conversations.decode(raw)
    assert str(refused.value) == reason


def test_turns_of_exactly_the_byte_limit_are_all_kept() -> None:
    first, last = Turn("q1", ""), Turn("q2", "b")
    first = Turn("q1", "a" * (conversations.MAX_BYTES - len(conversations.encode([first, last]))))
    assert len(conversations.encode([first, last])) == conversations.MAX_BYTES
    assert conversations.bounded([first, last]) == [first, last]


def test_a_cut_answer_is_the_longest_prefix_that_fits_and_keeps_the_files() -> None:
    kept_files = (File("image", "https://e.com/a.png"),)
    text = "x" * (conversations.MAX_BYTES * 2)
    (kept,) = conversations.bounded([Turn("q", text, kept_files)])
    assert len(conversations.encode([kept])) == conversations.MAX_BYTES  # one byte per character: exact fit
    assert kept.files == kept_files
    assert kept.query == "q"
    assert kept.answer == text[: len(kept.answer) - len(conversations.CUT_MARK)] + conversations.CUT_MARK


@pytest.mark.parametrize("text", ["鸭", '"'])
def test_a_cut_answer_could_not_keep_one_more_character(text: str) -> None:
    (kept,) = conversations.bounded([Turn("q", text * conversations.MAX_BYTES)])
    prefix = len(kept.answer) - len(conversations.CUT_MARK)
    longer = Turn("q", text * (prefix + 1) + conversations.CUT_MARK)
    assert len(conversations.encode([kept])) <= conversations.MAX_BYTES < len(conversations.encode([longer]))


def test_a_question_too_big_alone_is_cut_too_and_the_answer_emptied() -> None:
    kept_files = (File("image", "https://e.com/a.png"),)
    (kept,) = conversations.bounded([Turn("q" * conversations.MAX_BYTES * 2, "a" * 100, kept_files)])
    assert kept.answer == ""
    assert kept.files == kept_files
    assert kept.query.endswith(conversations.CUT_MARK)
    assert len(conversations.encode([kept])) == conversations.MAX_BYTES


def test_a_question_cut_keeps_the_answer_when_it_fits_beside_nothing() -> None:
    kept = conversations._cut(Turn("q" * conversations.MAX_BYTES, "", ()))
    assert kept.answer == ""
    assert kept.query.startswith("qqq")
    assert kept.query.endswith(conversations.CUT_MARK)


def test_failures_are_logged_with_the_key_and_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gallery.conversations"):
        ConversationStore(FakeStorage(error="daemon down"), APP).load(CONVERSATION)
        ConversationStore(FakeStorage(error="quota full"), APP).save(CONVERSATION, turns(1))
        ConversationStore(FakeStorage(values={KEY: b"[]"}), APP).load(CONVERSATION)
    assert [r.getMessage() for r in caplog.records] == [
        f"could not read conversation {KEY}: daemon down",
        f"could not keep conversation {KEY}: quota full",
        f"ignoring corrupt conversation {KEY} (2 bytes): not a conversation of this version",
    ]


@pytest.mark.parametrize("limit", range(80, 160))
def test_the_cut_keeps_the_longest_prefix_that_fits_whatever_the_limit(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations, "MAX_BYTES", limit)
    kept = conversations._cut(Turn("q", "x" * 500))
    assert len(conversations.encode([kept])) == limit  # one byte per character: the longest prefix fits exactly
