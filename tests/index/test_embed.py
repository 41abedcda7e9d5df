import subprocess
import sys
from dataclasses import replace as with_fields

import numpy as np
import pytest

from core.errors import SettingsError
from core.settings import PRECISIONS, Settings
from index import embed
from index.clean import clean
from index.embed import Encoder
from index.load import read
from index.records import Article
from index.speakers import with_speakers
from index.split import passages, split, title_line
from tests.conftest import BNE, FOX, SEEDS


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
    """Passages and their late-chunked sentences are the same through ONNX Runtime and torch,
    tokenized by embed_passages or beforehand (as ingest's worker does)."""
    texts = [
        "Title\nFirst sentence here. Second one, longer, about grain and oil.",
        "Just one.",
        "Long " + "words and more words " * 120,  # past the window: truncated alike
    ]
    spans = [[(6, 26), (27, len(texts[0]))], [(0, 9)], [(0, 50), (50, 2000)]]
    torch_passages, torch_sentences = Encoder().embed_passages(texts, spans)
    for streams in (1, 2):  # batches one at a time, or two at once
        onnx = Encoder(cache=tmp_path, batch_size=2, batch_threads=streams)
        tokenized = onnx.tokenize(texts) if streams == 2 else None
        passages, sentences = onnx.embed_passages(texts, spans, tokenized)
        assert onnx._onnx is not None and onnx.device == "cpu"
        np.testing.assert_allclose(passages, torch_passages, atol=1e-5)
        for got, expected in zip(sentences, torch_sentences, strict=True):
            np.testing.assert_allclose(got, expected, atol=1e-5)
        np.testing.assert_allclose(onnx.embed(texts), Encoder().embed(texts), atol=1e-5)
        assert onnx.embed([]).shape == (0, 384)


def test_flops_are_what_torch_counts_for_the_model():
    """The operations the benchmark rates the encoder by are those torch's own counter counts
    in the model's forward pass, text by text."""
    import torch
    import transformers
    from torch.utils.flop_counter import FlopCounterMode

    encoder = Encoder()
    bert = transformers.AutoModel.from_pretrained(
        str(encoder.path), attn_implementation="eager", add_pooling_layer=False
    ).eval()  # what the ONNX export runs: the pooler's output is not used
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(encoder.path))
    texts = ["Why?", "Regarding Syria, he said Iraq would supply grain and oil. " * 4]
    lengths, counted = [], 0
    for text in texts:
        inputs = tokenizer(text, return_tensors="pt")
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            bert(**inputs)
        lengths.append(inputs["input_ids"].shape[1])
        counted += counter.get_total_flops()
    assert lengths[0] < lengths[1]  # attention grows with the square of a text's length
    assert encoder.flops(lengths) == counted
    assert encoder.flops([]) == 0


def test_passages_cut_from_an_articles_pieces_are_tokenized_as_alone():
    """Ingest tokenizes each article once and cuts its passages' encoder input out of the
    pieces: the same ids and offsets as tokenizing each passage, the same count per sentence."""
    encoder = Encoder()
    odd = (
        "Café Müller’s naïve résumé (U.S.-based) cost £3.5bn—or did it? "
        + "Words, words and more words; " * 120
        + "\n“Quoted,” he said.\tTabs\u00a0and spaces."
    )
    articles = [with_speakers(split(clean(read(SEEDS / name, SEEDS)))) for name in (BNE, FOX)]
    articles.append(split(Article(id="odd.txt", title="Über: a “title”", text=odd, hash="")))
    articles.append(split(Article(id="untitled.txt", title="", text=odd[:300], hash="")))
    for article in articles:
        text, title = encoder.pieces([article.text, title_line(article)])
        sentences = [article.text[s:e] for s, e in article.sentences]
        assert text.counts(article.sentences) == encoder.count_tokens(sentences)
        cut = passages(article, encoder.count_tokens, encoder.hard_limit)
        whole = with_fields(cut[0], start=0, end=len(article.text), text=article.text)
        cut.append(whole)  # past the window, but for the short one
        for passage in cut:
            embed_text = title_line(article) + passage.text
            [alone] = encoder.tokenize([embed_text])
            shift = len(title_line(article))
            window = encoder.window(text, passage.start, passage.end, title, shift)
            assert window.ids.tolist() == alone.ids
            assert list(map(tuple, window.offsets.tolist())) == alone.offsets
        if article.id != "untitled.txt":
            assert len(window.ids) == encoder.max_tokens  # the whole text was cut to the window


def test_a_long_text_is_tokenized_a_part_at_a_time_into_the_same_pieces():
    """An article longer than PIECES_AT_ONCE is tokenized in parts cut at whitespace (the
    tokenizer's record of a whole 1 MB text took 95 MB): the same ids and offsets as whole."""
    encoder = Encoder()
    words = ["Café", "naïve", "résumé", "(U.S.-based)", "£3.5bn—or", "“Quoted,”", "\n\n", "x"]
    text = " ".join(words[i * 7 % len(words)] + str(i % 13) for i in range(40_000))
    assert len(text) > 3 * embed.PIECES_AT_ONCE
    [pieces] = encoder.pieces([text])
    whole = encoder._tokenizer.encode(text, add_special_tokens=False)
    assert pieces.ids.tolist() == whole.ids
    assert list(map(tuple, pieces.offsets.tolist())) == whole.offsets


SYRIA = (
    "Regarding Syria, he said Iraq would supply grain and oil once assured they would reach all "
    "Syrians. Baghdad has maintained a delicate balance in its relations with both Washington "
    "and Tehran. Hussein cited Iraq's previous mediation between Saudi Arabia and Iran."
)
_STARTS = [0, SYRIA.index("Baghdad"), SYRIA.index("Hussein"), len(SYRIA) + 1]
SYRIA_SPANS = [(start, end - 1) for start, end in zip(_STARTS, _STARTS[1:], strict=False)]


def test_int8_batches_agree_with_float32_and_rank_alike(tmp_path):
    """Asked for, batches run on an int8 copy whose vectors are within a cosine of 0.97 of the
    float32 ones and pick the same sentence for each question; questions stay float32."""
    exact = Encoder(cache=tmp_path)
    int8 = Encoder(cache=tmp_path, precision="int8")
    texts = [SYRIA, "Long " + "words and more words " * 120]
    spans = [SYRIA_SPANS, [(0, 50), (50, 2000)]]
    (passages, sentences), (int8_passages, int8_sentences) = (
        encoder.embed_passages(texts, spans) for encoder in (exact, int8)
    )
    assert int8._batch_model.name.endswith("-int8.onnx") and exact._batch_model == exact._onnx
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".onnx"]  # no partial file
    assert np.min(np.sum(passages * int8_passages, axis=1)) > 0.97
    for got, expected in zip(int8_sentences, sentences, strict=True):
        assert np.min(np.sum(got * expected, axis=1)) > 0.97
    questions = [
        "What will Iraq send to Syria?",
        "How does Baghdad handle Washington and Tehran?",
        "Has Iraq mediated before?",
    ]
    for number, question in enumerate(questions):
        vector = int8.embed_query(question)
        np.testing.assert_allclose(vector, exact.embed_query(question), atol=1e-6)
        assert np.argmax(int8_sentences[0] @ vector) == np.argmax(sentences[0] @ vector) == number


def test_int8_falls_back_to_float32_when_it_disagrees(tmp_path, monkeypatch):
    """An int8 copy that fails its check is not kept; batches run on the float32 export."""
    monkeypatch.setattr(embed, "INT8_AGREEMENT", 1.01)  # more than any cosine can be
    encoder = Encoder(cache=tmp_path, precision="int8")
    texts = [SYRIA, "Just one."]
    got = encoder.embed(texts)
    assert encoder._batch_model == encoder._onnx
    assert [p.name for p in tmp_path.iterdir()] == [encoder._onnx.name]  # the export only
    np.testing.assert_allclose(got, Encoder().embed(texts), atol=1e-5)


def test_precision_is_a_setting():
    """RAG_PRECISION picks the precision of ingest's batches; anything else is a clear error."""
    assert PRECISIONS == embed.PRECISIONS
    assert Settings.from_env({}).encoder().precision == "fp32"
    assert Settings.from_env({"RAG_PRECISION": "int8"}).encoder().precision == "int8"
    with pytest.raises(SettingsError, match="RAG_PRECISION='fp16' is not one of int8, fp32"):
        Settings.from_env({"RAG_PRECISION": "fp16"})


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
