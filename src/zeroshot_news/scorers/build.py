"""The one constructor the layers above call: a configured backend, wrapped in the score cache.

A new backend implements :class:`~zeroshot_news.scorers.base.PairScorer`, gets a
``model.backend`` value in the config schema and a branch in :func:`build_scorer`.
"""

from __future__ import annotations

from zeroshot_news.config import CacheConfig, ConfigError, ModelConfig
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.scorers.cached import maybe_cached


def build_scorer(cfg: ModelConfig, progress: bool = True, cache: CacheConfig | None = None) -> PairScorer:
    """Instantiate the backend named by ``cfg.backend`` (fails fast on a bad model),
    wrapped in the on-disk score cache when ``cache.enabled``."""
    scorer: PairScorer
    if cfg.backend == "embedding":
        from zeroshot_news.scorers.embedding import EmbeddingScorer

        scorer = EmbeddingScorer(cfg, progress=progress)
    elif cfg.backend == "stance":
        from zeroshot_news.scorers.stance_ce import StanceScorer

        scorer = StanceScorer(cfg, progress=progress)
    else:
        from zeroshot_news.scorers.fast_nli import FastNLIScorer

        scorer = FastNLIScorer(cfg, progress=progress)
    return maybe_cached(scorer, cache)


def build_encoder(cfg: ModelConfig, progress: bool = True, cache: CacheConfig | None = None):
    """The embedding backend (passage vectors for the self-trained topic head): a PairScorer
    with ``embed(texts)``, its vectors kept in the score cache when ``cache.enabled``."""
    from zeroshot_news.scorers.embedding import EmbeddingScorer

    if cfg.backend != "embedding":
        raise ConfigError(f"model.backend: the topic head needs the embedding backend, got {cfg.backend!r}")
    return maybe_cached(EmbeddingScorer(cfg, progress=progress), cache)
