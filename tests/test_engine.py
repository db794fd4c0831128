"""Streaming stages and the Ray engine: same outputs as the in-memory functions."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from tests.fakes import section
from zeroshot_news.config import ConfigError, EngineConfig, compose_config, parse_config
from zeroshot_news.engine import run_chunked
from zeroshot_news.io import write_parquet
from zeroshot_news.stages.stance import StanceWorker
from zeroshot_news.stages.topic import TopicWorker
from zeroshot_news.zeroshot.stance import STANCE_SCHEMA, classify_stance
from zeroshot_news.zeroshot.topic import PASSAGE_SCHEMA, TOPIC_SCHEMA, classify_topics


@pytest.fixture
def setup(tmp_path, tiny_encoder, tiny_nli, seed_text):
    cfg = parse_config(compose_config(REPO / "conf", [
        f"model.name_or_path={tiny_encoder}", "model.max_length=128", "stance=nli",
        f"stance.model.name_or_path={tiny_nli}", "stance.model.max_length=128", "cache.enabled=false"]))
    body = seed_text.split("\n", 4)[4]
    rows = [{"doc_id": f"d{i:02d}", "title": f"Talks round {i} with the Taliban in Moscow",
             "body": body.replace("Moscow", ["Moscow", "the Kremlin", "Kiev"][i % 3]) + f" Round {i}."}
            for i in range(7)]
    articles = pd.DataFrame(rows)
    path = tmp_path / "articles.parquet"
    write_parquet(articles, path)
    return cfg, articles, path


def _run(cfg, path, out, engine):
    from functools import partial

    run_chunked(path, ["doc_id", "title", "body"], partial(TopicWorker, cfg),
                {"topics": (out / "topics.parquet", TOPIC_SCHEMA), "passages": (out / "p.parquet", PASSAGE_SCHEMA)},
                engine, progress=False)
    run_chunked(path, ["doc_id", "title", "body"], partial(StanceWorker, cfg, None),
                {"stance": (out / "stance.parquet", STANCE_SCHEMA)}, engine, progress=False)
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in ("topics", "p", "stance")}


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, atol: float = 1e-5):
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        if pd.api.types.is_float_dtype(a[col]):
            assert np.allclose(a[col].fillna(-1), b[col].fillna(-1), atol=atol), col
        elif col == "passage_scores" and a[col].dtype == object and not isinstance(a[col].iloc[0], str):
            assert all(np.allclose(x, y, atol=atol) for x, y in zip(a[col], b[col], strict=True))
        elif col != "passage_scores":
            assert a[col].tolist() == b[col].tolist(), col


def test_chunked_stream_matches_in_memory(setup, tmp_path):
    cfg, articles, path = setup
    out = tmp_path / "chunked"
    got = _run(cfg, path, out, section(EngineConfig, "engine", chunk_size=3))
    worker = TopicWorker(cfg)
    whole = classify_topics(articles, worker.scorer, cfg.taxonomy, cfg.topic, cfg.passages, progress=False)
    _assert_same(whole.topics, got["topics"])
    assert whole.passages.equals(got["p"])
    stance_scorer = StanceWorker(cfg).scorer
    stance = classify_stance(articles, stance_scorer, cfg.stance, cfg.passages, progress=False).stance
    _assert_same(stance, got["stance"])
    assert got["stance"]["doc_id"].tolist()[:4] == ["d00"] * 4  # doc-major, whatever the chunking


@pytest.mark.slow
def test_ray_engine_matches_local(setup, tmp_path):
    ray = pytest.importorskip("ray")
    cfg, _, path = setup
    local = _run(cfg, path, tmp_path / "local", section(EngineConfig, "engine", chunk_size=3))
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        remote = _run(cfg, path, tmp_path / "ray", section(EngineConfig, "engine", ("engine=ray",), chunk_size=3,
                                                           num_actors=2, cpus_per_actor=0.5))
        # Actors holding every CPU would leave the read tasks none: a clear error, not a hang.
        with pytest.raises(ConfigError, match="free CPU"):
            _run(cfg, path, tmp_path / "starved", section(EngineConfig, "engine", ("engine=ray",), chunk_size=3,
                                                                  num_actors=2, cpus_per_actor=1.0))
    finally:
        ray.shutdown()
        shutil.rmtree(tmp_path / "ray", ignore_errors=True)
    for name in local:
        _assert_same(local[name], remote[name])


def test_ray_resource_check_only_for_fixed_local_instances():
    from zeroshot_news.engine import check_ray_resources

    starved = section(EngineConfig, "engine", ("engine=ray",), num_actors=2, cpus_per_actor=1.0)
    with pytest.raises(ConfigError, match=r"engine.cpus_per_actor=0.5"):
        check_ray_resources(starved, {"CPU": 2.0})
    check_ray_resources(starved, {"CPU": 3.0})
    check_ray_resources(section(EngineConfig, "engine", ("engine=ray",), ray_address="auto"),
                        {"CPU": 2.0})  # a cluster may grow: no check
