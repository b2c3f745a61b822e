"""The embedding model's transformer as a frozen TorchScript graph, for queries and small batches.

A search embeds one short query, where PyTorch's eager mode spends a large share of the time
dispatching ~200 small operations one by one. Traced once and frozen (weights folded in as
constants, linear layers and their activations fused by oneDNN), the same transformer took
10.0 against 13.9 ms of CPU per query at p50 and 14.1 against 22.1 at p95 (80 queries
alternating with eager mode on the shared 2-core box; BENCHMARKS.md, "Agent memory"), with
vectors at cosine >= 0.99999 to eager mode's for one text, padded batches and texts cut at the
model's 256 tokens. Only the transformer is traced: sentence-transformers' own pooling and
normalising modules run after it unchanged.

A model of another shape (not a BERT-style transformer with ``auto_model``) or a PyTorch
that cannot trace it keeps eager mode: the trace is a speed-up, never a requirement.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# Two texts of different lengths: the trace sees a padded batch with a real attention mask.
_EXAMPLES = ["warm up", "a longer example sentence so that the first one is padded"]


def traced_transformer(model: Any) -> Callable[[dict[str, Any]], Any] | None:
    """A function from ``model.preprocess(texts)`` features to the sentence embeddings (a torch
    tensor in the model's dtype), or None where the model keeps eager mode."""
    try:
        import torch

        transformer = model[0]
        if type(transformer).__name__ != "Transformer" or not hasattr(transformer, "auto_model"):
            return None

        class Encoder(torch.nn.Module):
            """The last hidden state from token ids and mask (token types all zero, as
            sentence-transformers gives them for single texts)."""

            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer.auto_model

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                return self.transformer(
                    input_ids=input_ids, attention_mask=attention_mask, return_dict=False
                )[0]

        features = model.preprocess(_EXAMPLES)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarning: shapes read as Python values
            traced = torch.jit.trace(
                Encoder().eval(), (features["input_ids"], features["attention_mask"]), check_trace=False
            )
            graph = torch.jit.freeze(traced)
    except Exception as error:  # noqa: BLE001 - any failure leaves the eager model in charge
        log.info("embedding model not traced (%s); eager mode", error)
        return None
    tail = list(model)[1:]  # pooling, then normalising: sentence-transformers' own modules

    def embed(features: dict[str, Any]) -> Any:
        with torch.no_grad():
            features = dict(features)
            features["token_embeddings"] = graph(features["input_ids"], features["attention_mask"])
            for module in tail:
                features = module(features)
        return features["sentence_embedding"]

    return embed
