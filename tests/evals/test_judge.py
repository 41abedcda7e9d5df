"""The LLM judge through llama-index, against a stand-in LLM that speaks the OpenAI chat API over a
real loopback socket (a hosted LLM cannot run here)."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.errors import SettingsError
from evals.judge import llm_from_env, llm_support_batch
from evals.runner import main
from tests.conftest import SEEDS

STOP = {"the", "a", "an", "of", "to", "in", "and", "is", "was", "as", "by", "for", "on", "that"}


def verdict(prompt: str) -> str:
    """YES when every content word of the prompt's last "Information:" line (the examples come
    first) appears after it."""
    found = re.search(r".*Information: (.*?)\n(.*)", prompt, re.S)
    if not found:
        return "NO"
    claim, rest = found.groups()
    if "existing YES/NO answer: YES" in rest:
        return "YES"
    words = {w for w in re.findall(r"[a-z0-9]+", claim.lower()) if w not in STOP}
    return "YES" if words <= set(re.findall(r"[a-z0-9]+", rest.lower())) else "NO"


class StandIn(BaseHTTPRequestHandler):
    prompts: list[str] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.path.endswith("/chat/completions"), self.path
        prompt = "\n".join(m["content"] for m in body["messages"] if isinstance(m["content"], str))
        StandIn.prompts.append(prompt)
        reply = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": verdict(prompt)}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }  # fmt: skip
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def llm_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_verdicts_come_from_the_llm_over_http(llm_url):
    StandIn.prompts.clear()
    judge = llm_support_batch(llm_from_env({"RAG_LLM_URL": llm_url, "RAG_LLM_MODEL": "stand-in"}))
    passage = "Hussein cited Iraq's previous mediation between Saudi Arabia and Iran."
    scores = judge(
        [
            ("Hussein cited previous mediation between Saudi Arabia and Iran.", [passage]),
            ("Hussein cited previous mediation between Turkey and Iran.", [passage]),
            ("Anything at all.", []),  # nothing to judge against: unsupported, no call
        ]
    )
    assert scores == [1.0, 0.0, 0.0]
    assert len(StandIn.prompts) == 2 and "Information:" in StandIn.prompts[0]


def test_rag_eval_with_the_llm_judge_aggregates_as_the_support_scorer_does(
    llm_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("RAG_LLM_URL", llm_url)
    out = tmp_path / "report"
    argv = ["--corpus", str(SEEDS), "--store", str(tmp_path / "store"), "--out", str(out),
            "--limit", "3", "--judge", "llm", "--min-groundedness", "1.0"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads((out / "report.json").read_text())
    assert result["judge"] == "llm"
    # extractive answers cite the very sentences they say: the LLM finds every segment supported
    assert result["metrics"]["groundedness"] == 1.0
    assert "FaithfulnessEvaluator" in (out / "report.md").read_text()


def test_the_llm_judge_without_an_llm_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RAG_LLM_URL", raising=False)
    with pytest.raises(SettingsError, match="RAG_LLM_URL"):
        llm_from_env({})
    assert main(["--corpus", str(SEEDS), "--out", str(tmp_path), "--judge", "llm"]) == 2
    assert "RAG_LLM_URL" in capsys.readouterr().err
