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
    assert set(answer) == {"text", "citations", "abstained", "question", "query", "related"}
    assert answer["abstained"] is False
    citation = answer["citations"][0]
    fields = {"n", "article", "title", "quote", "start", "end", "score", "outlet", "date", "also"}
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
