"""Pair scorers behind one interface (:class:`~.base.PairScorer`)."""

from __future__ import annotations

from ..config import ModelConfig
from .base import PairScorer, resolve_model


def build_scorer(cfg: ModelConfig, progress: bool = True) -> PairScorer:
    """Instantiate the backend named by ``cfg.backend`` (fails fast on a bad model)."""
    if cfg.backend == "embedding":
        from .embedding import EmbeddingScorer

        return EmbeddingScorer(cfg, progress=progress)
    from .nli import NLIScorer

    return NLIScorer(cfg, progress=progress)


__all__ = ["PairScorer", "build_scorer", "resolve_model"]
