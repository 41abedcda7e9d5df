import json
import subprocess
import sys

from rag.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True)


def test_ask_json_shape(seed_store):
    result = run(
        "ask", "What did Hussein say about mediation?", "--json", "--store", str(seed_store)
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {
        "text", "citations", "abstained", "question", "query", "related", "mode", "sentences",
        "model", "note",
    }  # fmt: skip
    assert answer["abstained"] is False
    assert answer["mode"] == "extractive" and answer["sentences"] == [] and answer["note"] == ""
    citation = answer["citations"][0]
    fields = {
        "n", "article", "title", "quote", "start", "end", "score", "outlet", "date", "also",
        "speaker",
    }  # fmt: skip
    assert set(citation) == fields
    assert (
        citation["n"] == 1
        and isinstance(citation["start"], int)
        and f"[{citation['n']}]" in answer["text"]
    )


def test_ask_for_people_lists_numbered_sources(seed_store, capsys):
    assert main(["ask", "What did Hussein say about mediation?", "--store", str(seed_store)]) == 0
    out = capsys.readouterr().out
    assert "Sources:" in out
    assert (
        "[1] Iraq seeks Iran-backed militia disarmament in new push (bne IntelliNews, 2025-01-18)"
        in out
    )
    assert "\"Hussein cited Iraq's previous mediation" in out
    # who says each cited sentence, as ingest attributed it from spaCy's parse
    assert "    said by Fuad Hussein\n" in out


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["ask", "   ", "--store", str(tmp_path)]) == 2
    assert main(["ask", "Who?", "--store", str(tmp_path / "missing")]) == 2
    assert main(["ingest", str(tmp_path / "nope"), "--store", str(tmp_path / "s")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("rag ask: the question is empty")
    assert "run `rag ingest" in lines[1]
    assert lines[2].startswith("rag ingest: no such folder")


def test_ingest_prints_one_summary_line(articles, tmp_path):
    (articles / "blob.txt").write_bytes(b"\x00\xff" * 50)
    result = run("ingest", str(articles), "--store", str(tmp_path / "store"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert (
        "2 added, 0 updated, 0 unchanged, 0 removed, 1 skipped (blob.txt: binary file"
        in result.stdout
    )
    assert "skipped blob.txt: binary file, not text" in result.stderr


def test_a_store_that_is_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    from tests.conftest import SEEDS

    taken = tmp_path / "store.txt"
    taken.write_text("not a store")
    assert main(["ingest", str(SEEDS), "--store", str(taken)]) == 2
    assert main(["ask", "Who?", "--store", str(taken)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"rag ingest: {taken} is a file, not a store folder; give --store")
    assert lines[1].startswith(f"rag ask: {taken} is a file, not a store folder")
    assert taken.read_text() == "not a store"


def test_a_question_in_bytes_that_are_not_utf8_is_one_line_and_exit_2(seed_store):
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", b"Who said \xff\xfe that?", "--store",
         str(seed_store)],
        capture_output=True,
    )  # fmt: skip
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    assert err.count("\n") == 1
    assert err.startswith("rag ask: the question holds '\\udcff' at character 9, which is not text")


def test_control_characters_in_answers_never_reach_the_terminal(tmp_path, capsys):
    from index import ingest

    folder = tmp_path / "articles"
    folder.mkdir()
    # An id (file name) and a title with escape codes; the text's are dropped at ingest.
    (folder / "\x1b]0;owned\x07bell.txt").write_text(
        "\x1b[2J\x1b[31mBell tower\n\nThe bell tower in Ghent was \x1b[5mrepaired\x1b[0m in May.\n"
    )
    ingest(folder, tmp_path / "store")
    question = "When was the bell tower repaired?"
    assert main(["ask", question, "--store", str(tmp_path / "store")]) == 0
    out = capsys.readouterr().out
    assert "[1] Bell tower" in out and "    bell.txt, characters" in out
    assert '"The bell tower in Ghent was repaired in May."' in out
    assert "\x1b" not in out and "\x07" not in out
