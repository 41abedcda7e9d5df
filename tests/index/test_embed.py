import subprocess
import sys

import numpy as np

from index.embed import Encoder


def test_late_chunking_matches_sentence_transformers():
    """The passage vector from token embeddings equals sentence-transformers' own output."""
    encoder = Encoder()
    texts = ["Title\nFirst sentence here. Second one, longer, about grain and oil.", "Just one."]
    spans = [[(6, 26), (27, len(texts[0]))], [(0, 9)]]
    passages, sentences = encoder.embed_passages(texts, spans)
    reference = encoder.embed(texts)
    np.testing.assert_allclose(passages, reference, atol=1e-5)
    assert [s.shape for s in sentences] == [(2, 384), (1, 384)]
    np.testing.assert_allclose(np.linalg.norm(sentences[0], axis=1), 1.0, atol=1e-5)
    # a sentence's vector is about that sentence: closer to its own text than to the other's
    own = encoder.embed(["Second one, longer, about grain and oil.", "First sentence here."])
    assert sentences[0][1] @ own[0] > sentences[0][1] @ own[1]


def test_questions_through_onnx_match_sentence_transformers(tmp_path):
    """Questions through the ONNX export get sentence-transformers' vectors."""
    encoder = Encoder(cache=tmp_path)
    encoder.prepare_queries()
    assert [p.suffix for p in tmp_path.iterdir()] == [".onnx"]  # no partial file left behind
    questions = ["What did Hussein say about mediation?", "Why?", "Iraq " * 400]  # last: truncated
    for question in questions:
        got = encoder.embed_query(question)
        assert encoder._onnx is not None
        np.testing.assert_allclose(got, encoder.embed([question])[0], atol=1e-5)


def test_onnx_batches_match_torch(tmp_path):
    """Passages and their late-chunked sentences are the same through ONNX Runtime and torch."""
    texts = [
        "Title\nFirst sentence here. Second one, longer, about grain and oil.",
        "Just one.",
        "Long " + "words and more words " * 120,  # past the window: truncated alike
    ]
    spans = [[(6, 26), (27, len(texts[0]))], [(0, 9)], [(0, 50), (50, 2000)]]
    torch_passages, torch_sentences = Encoder().embed_passages(texts, spans)
    for streams in (1, 2):  # batches one at a time, or two at once
        onnx = Encoder(cache=tmp_path, batch_size=2, batch_threads=streams)
        passages, sentences = onnx.embed_passages(texts, spans)
        assert onnx._onnx is not None and onnx.device == "cpu"
        np.testing.assert_allclose(passages, torch_passages, atol=1e-5)
        for got, expected in zip(sentences, torch_sentences, strict=True):
            np.testing.assert_allclose(got, expected, atol=1e-5)
        np.testing.assert_allclose(onnx.embed(texts), Encoder().embed(texts), atol=1e-5)
        assert onnx.embed([]).shape == (0, 384)


def test_questions_fall_back_to_torch_without_an_onnx_model(tmp_path):
    """A cache that cannot be written to still answers, with the same vectors, through torch."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    encoder = Encoder(cache=blocked)
    question = "What will Iraq supply to Syria?"
    got = encoder.embed_query(question)
    assert encoder._onnx is None
    np.testing.assert_allclose(got, encoder.embed([question])[0], atol=1e-6)


def test_answering_imports_neither_torch_nor_gradio(seed_store):
    """Cold start: ask() loads only what it uses (torch, sentence-transformers and Gradio are
    seconds of imports)."""
    code = (
        "import sys; from rag import ask; "
        f"a = ask('What did Hussein say about mediation?', store={str(seed_store)!r}); "
        "assert a.citations; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'gradio', 'transformers') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
