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
