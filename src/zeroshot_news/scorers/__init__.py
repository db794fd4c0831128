"""Pair scorers behind one contract (:class:`~.base.PairScorer`): the ``embedding`` and ``nli``
backends, the ``stance``
cross-encoder (scorers/stance_ce.py), and the on-disk score cache that wraps either. A new backend implements the
contract, gets a ``model.backend`` value in the config schema and a branch below."""

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
    elif cfg.backend == "stance":
        from .stance_ce import StanceScorer

        scorer = StanceScorer(cfg, progress=progress)
    else:
        from .fast_nli import FastNLIScorer

        scorer = FastNLIScorer(cfg, progress=progress)
    from .cache import maybe_cached

    return maybe_cached(scorer, cache)


def build_encoder(cfg: ModelConfig, progress: bool = True, cache: CacheConfig | None = None):
    """The embedding backend (passage vectors for the self-trained topic head): a PairScorer
    with ``embed(texts)``, its vectors kept in the score cache when ``cache.enabled``."""
    from ..config import ConfigError
    from .cache import maybe_cached
    from .embedding import EmbeddingScorer

    if cfg.backend != "embedding":
        raise ConfigError(f"model.backend: the topic head needs the embedding backend, got {cfg.backend!r}")
    return maybe_cached(EmbeddingScorer(cfg, progress=progress), cache)


__all__ = ["PairScorer", "build_encoder", "build_scorer", "resolve_model"]
