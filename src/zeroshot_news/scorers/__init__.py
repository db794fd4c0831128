"""Pair scorers behind one interface (:class:`~.base.PairScorer`)."""

from __future__ import annotations

from ..config import CacheConfig, ModelConfig
from .base import PairScorer, resolve_model


def build_scorer(cfg: ModelConfig, progress: bool = True, cache: CacheConfig | None = None) -> PairScorer:
    """Instantiate the backend named by ``cfg.backend`` (fails fast on a bad model),
    wrapped in the on-disk score cache when ``cache.enabled``."""
    scorer: PairScorer
    if cfg.backend == "embedding":
        from .embedding import EmbeddingScorer

        scorer = EmbeddingScorer(cfg, progress=progress)
    else:
        from .nli import NLIScorer

        scorer = NLIScorer(cfg, progress=progress)
    if cache is not None and cache.enabled:
        from .cache import CachedScorer, ScoreCache

        return CachedScorer(scorer, ScoreCache(cache.path))
    return scorer


def cache_summary(scorer: PairScorer) -> str:
    """' (cache: H hits, M misses)' for a cached scorer, '' otherwise."""
    stats = getattr(scorer, "stats", None)
    if not callable(stats):
        return ""
    s = stats()
    return f" (score cache: {s['hits']} pairs reused, {s['misses']} computed)"


__all__ = ["PairScorer", "build_scorer", "cache_summary", "resolve_model"]
