from __future__ import annotations

import csv
import dataclasses
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from tests.fakes import KeywordScorer, model_config, section
from zeroshot_news.config import BenchmarkConfig, ConfigError, compose_config, dump_params, parse_config
from zeroshot_news.corpus.sampling import subsample_frame as subsample
from zeroshot_news.evaluation.benchmarks import agnews, fnc1, run_benchmark, vast
from zeroshot_news.evaluation.benchmarks.common import (
    ScoreTable,
    classification_metrics,
    fnc_score,
    fnc_summary,
    pair_scorer,
)
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.stages.benchmark import main

FNC_TEMPLATES = {"agree": ["{}."], "disagree": ["It is false that {}."], "discuss": ["It is reported that {}."]}
VAST_TEMPLATES = {"pro": ["This text supports {}."], "con": ["This text opposes {}."],
                  "neutral": ["This text is neutral about {}."]}
AG_LABELS = {"World": ["world news"], "Sports": ["sports"], "Business": ["business"], "Sci/Tech": ["technology"]}


class RecordingScorer(KeywordScorer):
    """KeywordScorer that remembers every (passage, hypothesis) pair it scored."""

    def __init__(self, keywords: dict[str, str], budget: int = 30):
        super().__init__(keywords, budget)
        self.pairs: Counter[tuple[str, str]] = Counter()

    def score(self, passages, hypotheses):
        self.pairs.update((p, h) for p in passages for h in hypotheses)
        return super().score(passages, hypotheses)


# ---------------------------------------------------------------------------
# Fixture files in the benchmarks' own formats
# ---------------------------------------------------------------------------


@pytest.fixture
def agnews_dir(tmp_path):
    folder = tmp_path / "agnews"
    folder.mkdir()
    (folder / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n", encoding="utf-8")
    rows = [
        (1, "Minister resigns", "The foreign minister resigned after the summit."),
        (2, "Cup final", "The match ended in a draw after extra time."),
        (3, "Shares up", "The company said profit rose to #36;10 million.\\Shares rose."),
        (4, "New chip", "The software and the chip were shown at the fair."),
        (2, "Late goal", "A late goal decided the match."),
        (1, "Summit ends", "The minister left the summit early."),
    ]
    with (folder / "test.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    return folder


@pytest.fixture
def fnc_dir(tmp_path):
    folder = tmp_path / "fnc1"
    folder.mkdir()
    pd.DataFrame({"Body ID": [10, 20], "articleBody": [
        "A tabloid in Texas ran a story on Sunday. Officials deny the alien story entirely.",
        "Stocks rallied on Monday. Analysts reported further gains for banks.",
    ]}).to_csv(folder / fnc1.BODIES_FILE, index=False)
    pd.DataFrame({
        "Headline": ["Alien found in Texas", "Stocks rally on Monday", "Stocks rally on Monday",
                     "Alien found in Texas"],
        "Body ID": [10, 10, 20, 20],
        "Stance": ["disagree", "unrelated", "discuss", "unrelated"],
    }).to_csv(folder / fnc1.STANCES_FILE, index=False)
    return folder


@pytest.fixture
def vast_dir(tmp_path):
    folder = tmp_path / "vast"
    folder.mkdir()
    posts = ["We must build more nuclear power plants, they are clean and safe.",
             "Taxes on sugar are a terrible idea and hurt the poor.",
             "The weather was nice at the game yesterday."]
    frame = pd.DataFrame({
        "new_id": [1, 2, 3, 4], "arc_id": [0, 0, 0, 0], "author": ["a"] * 4,
        "post": [posts[0], posts[1], posts[2], posts[0]],
        # Like the real file: a synthetic neutral's new_topic is a stale copy of its post's topic,
        # topic_str the unrelated topic it is paired with.
        "ori_topic": ["x"] * 4, "new_topic": ["nuclear power", "sugar tax", "nuclear power", "nuclear power"],
        "topic_str": ["nuclear power", "sugar tax", "nuclear power", "sugar tax"], "label": [1, 0, 2, 2],
        "type_idx": [1, 1, 4, 4], "seen?": [0, 1, 0, 1],
    })
    frame.to_csv(folder / "vast_test.csv.gz", index=False)
    frame.to_csv(folder / "vast_train.csv.gz", index=False)
    return folder


def _cfg(name: str, folder, **kw) -> BenchmarkConfig:
    stance = {"related_threshold": 0.5, "neutral_margin": 0.0}
    defaults = {"agnews": {"labels": AG_LABELS}, "fnc1": {"templates": FNC_TEMPLATES, **stance},
                "vast": {"templates": VAST_TEMPLATES, **stance}}[name]
    # The plain (embedding-template) config of each benchmark, whatever conf/config.yaml defaults to.
    return section(BenchmarkConfig, f"benchmarks.{name}", (f"benchmark@benchmarks.{name}={name}",), path=str(folder),
                   **{"max_items": None, **defaults, **kw})


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def test_fnc_score_hand_computed():
    gold = ["agree", "unrelated", "discuss", "disagree", "unrelated", "discuss"]
    pred = ["agree", "unrelated", "agree", "unrelated", "discuss", "discuss"]
    # 1.0 (exact related) + 0.25 (unrelated right) + 0.25 (related, wrong stance) + 0 + 0 + 1.0
    # out of 1 + 0.25 + 1 + 1 + 0.25 + 1 = 4.5.
    assert fnc_score(gold, pred) == (2.5, 4.5)
    assert fnc_summary(gold, pred)["relative_score"] == pytest.approx(55.56)
    assert fnc_summary(gold, gold)["relative_score"] == 100.0


def test_fnc_baselines_match_the_known_competition_numbers():
    # Competition test counts: 18,349 unrelated, 4,464 discuss, 1,903 agree, 697 disagree.
    gold = ["unrelated"] * 18349 + ["discuss"] * 4464 + ["agree"] * 1903 + ["disagree"] * 697
    assert fnc_summary(gold, ["unrelated"] * len(gold))["relative_score"] == pytest.approx(39.37)
    assert fnc_summary(gold, ["discuss"] * len(gold))["relative_score"] == pytest.approx(43.89)


def test_classification_metrics_counts_unpredicted_classes_as_zero():
    m = classification_metrics(["a", "a", "b", "c"], ["a", "a", "a", "c"], ["a", "b", "c"])
    assert m["accuracy"] == 0.75 and m["per_class_f1"] == {"a": 0.8, "b": 0.0, "c": 1.0}
    assert m["macro_f1"] == pytest.approx(0.6)
    assert classification_metrics([], [], ["a"])["macro_f1"] is None
    # A class absent from gold and predictions has no F1 and stays out of the macro average.
    absent = classification_metrics(["a", "b"], ["a", "b"], ["a", "b", "c"])
    assert absent["macro_f1"] == 1.0 and absent["per_class_f1"]["c"] is None


def test_subsample_is_seeded_and_keeps_file_order():
    df = pd.DataFrame({"x": range(100)})
    a, b = subsample(df, 10, 3), subsample(df, 10, 3)
    assert a.equals(b) and list(a["x"]) == sorted(a["x"]) and len(a) == 10
    assert not a.equals(subsample(df, 10, 4))
    assert len(subsample(df, None, 0)) == 100 and len(subsample(df, 500, 0)) == 100


def test_score_table_answers_sub_grids_by_lookup():
    scorer = KeywordScorer({"alien": "alien", "stocks": "stocks"})
    passages = ["an alien here", "stocks fell", "nothing", "an alien here"]
    table = ScoreTable(scorer, passages, ["about alien", "about stocks"], block=2, progress=False)
    assert scorer.calls == [(2, 2), (1, 2)]  # distinct passages in blocks, all hypotheses each time
    got = table.score(["stocks fell", "an alien here"], ["about stocks"])
    assert got.tolist() == [[0.9], [0.1]]
    assert pair_scorer(scorer, passages, ["about alien"], progress=False) is scorer  # not a bi-encoder


# ---------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------


def test_agnews_load_maps_classes_and_undoes_escapes(agnews_dir):
    items = agnews.load(_cfg("agnews", agnews_dir))
    assert list(items["gold"]) == ["World", "Sports", "Business", "Sci/Tech", "Sports", "World"]
    assert items.loc[2, "body"] == "The company said profit rose to $10 million. Shares rose."
    assert len(agnews.load(_cfg("agnews", agnews_dir, max_items=3))) == 3


def test_fnc_load_joins_bodies_and_samples_pairs(fnc_dir):
    pairs = fnc1.load(_cfg("fnc1", fnc_dir))
    assert list(pairs.columns) == ["pair_id", "body_id", "headline", "body", "gold"]
    assert pairs.loc[2, "body"].startswith("Stocks rallied")
    sample = fnc1.load(_cfg("fnc1", fnc_dir, max_items=2, sample_seed=1))
    assert len(sample) == 2 and sample["pair_id"].is_monotonic_increasing


def test_fnc_load_rejects_a_missing_body(fnc_dir):
    bodies = pd.read_csv(fnc_dir / fnc1.BODIES_FILE)
    bodies[bodies["Body ID"] == 10].to_csv(fnc_dir / fnc1.BODIES_FILE, index=False)
    with pytest.raises(ValueError, match="Body IDs"):
        fnc1.load(_cfg("fnc1", fnc_dir))


def test_vast_load_maps_labels(vast_dir):
    items = vast.load(_cfg("vast", vast_dir))
    assert list(items["gold"]) == ["pro", "con", "neutral", "neutral"]
    assert list(items["seen"]) == [0, 1, 0, 1] and list(items["topic"])[:2] == ["nuclear power", "sugar tax"]


def test_missing_file_names_benchmark_path(tmp_path, fnc_dir):
    with pytest.raises(ConfigError, match=r"benchmark\.path.*no classes\.txt"):
        agnews.load(_cfg("agnews", tmp_path))
    with pytest.raises(ConfigError, match=r"benchmark\.path.*is not a folder"):
        vast.load(_cfg("vast", tmp_path / "nope"))
    (fnc_dir / fnc1.BODIES_FILE).unlink()
    with pytest.raises(ConfigError, match=r"competition_test_bodies\.csv"):
        fnc1.load(_cfg("fnc1", fnc_dir))


# ---------------------------------------------------------------------------
# Runs with a transparent keyword scorer
# ---------------------------------------------------------------------------


def test_agnews_run_argmax(agnews_dir):
    scorer = KeywordScorer({"world news": "minister", "sports": "match", "business": "profit",
                            "technology": "software"})
    metrics, pred = agnews.run(_cfg("agnews", agnews_dir), scorer, overlap=0, progress=False)
    assert list(pred["predicted"]) == list(pred["gold"])
    assert metrics["accuracy"] == 1.0 and metrics["macro_f1"] == 1.0 and metrics["n_items"] == 6
    assert {"score_World", "score_Sci/Tech", "n_passages"} <= set(pred.columns)
    assert len(scorer.calls) == 1  # every passage x hypothesis in one call


def test_agnews_labels_must_match_classes(agnews_dir):
    bad = {**AG_LABELS, "Science": ["science"]}
    with pytest.raises(ConfigError, match=r"benchmark\.labels"):
        agnews.run(_cfg("agnews", agnews_dir, labels=bad), KeywordScorer({}), progress=False)


def test_fnc_run_relevance_then_stance(fnc_dir):
    scorer = RecordingScorer({"about Alien": "alien", "about Stocks": "stocks", "false that Alien": "deny",
                              "reported that Stocks": "reported"}, budget=12)
    metrics, pred = fnc1.run(_cfg("fnc1", fnc_dir), scorer, overlap=0, progress=False)
    assert list(pred["predicted"]) == ["disagree", "unrelated", "discuss", "unrelated"]
    assert metrics["fnc_score"] == {"score": 2.5, "max_score": 2.5, "relative_score": 100.0}
    assert metrics["baselines"]["all_unrelated"]["relative_score"] == 20.0
    # Same relatedness, discuss for both related pairs: 0.25 + 0.25 + 1.0 + 0.25 of 2.5.
    assert metrics["baselines"]["related_then_discuss"]["relative_score"] == 70.0
    assert metrics["per_class_f1"]["unrelated"] == 1.0 and metrics["n_bodies"] == 2
    # Stance of the body's most relevant passage (the one that mentions the alien denial).
    alien = pred[pred["headline"] == "Alien found in Texas"].iloc[0]
    assert alien["relevance"] == pytest.approx(0.9) and alien["disagree"] > alien["agree"]
    assert max(scorer.pairs.values()) == 1  # no (passage, hypothesis) pair scored twice


def test_fnc_neutral_margin_falls_back_to_discuss(fnc_dir):
    scorer = KeywordScorer({"about Alien": "alien", "about Stocks": "stocks", "false that Alien": "deny"})
    _, pred = fnc1.run(_cfg("fnc1", fnc_dir, neutral_margin=0.9), scorer, overlap=0, progress=False)
    assert pred.loc[0, "predicted"] == "discuss" and pred.loc[0, "stance_only"] == "discuss"


def test_fnc_related_threshold(fnc_dir):
    _, pred = fnc1.run(_cfg("fnc1", fnc_dir, related_threshold=0.0), KeywordScorer({}), overlap=0, progress=False)
    assert "unrelated" not in set(pred["predicted"])


def test_fnc_relatedness_and_stance_from_two_scorers(fnc_dir):
    # Relatedness by one model (the topic encoder), stance by another (the stance model):
    # each is asked only its own hypotheses.
    relevance = RecordingScorer({"about Alien": "alien", "about Stocks": "stocks"}, budget=12)
    stance = RecordingScorer({"false that Alien": "deny", "reported that Stocks": "reported",
                              "about Alien": "tabloid"}, budget=12)  # stance's own relevance is never asked
    _, pred = fnc1.run(_cfg("fnc1", fnc_dir), stance, overlap=0, progress=False, relevance_scorer=relevance)
    assert list(pred["predicted"]) == ["disagree", "unrelated", "discuss", "unrelated"]
    assert {h for _, h in relevance.pairs} == {"This text is about Alien found in Texas.",
                                               "This text is about Stocks rally on Monday."}
    assert not any(h.startswith("This text is about") for _, h in stance.pairs)
    # The stance model reads the passage the relevance model found most relevant.
    alien = pred[pred["headline"] == "Alien found in Texas"].iloc[0]
    assert alien["relevance"] == pytest.approx(0.9)
    assert any("deny" in p for p, h in stance.pairs if "Alien" in h)


def test_fnc_position_threshold_turns_weak_positions_into_discuss():
    cfg = BenchmarkConfig(name="fnc1", path="x", sample_seed=0, hypothesis_template="{}", scorer="stance",
                          templates=FNC_TEMPLATES, related_threshold=0.5, neutral_margin=0.0,
                          position_threshold=0.75)
    assert fnc1.decide(0.9, np.array([0.5, 0.2, 0.3]), cfg) == ("discuss", "discuss")  # 0.7 < 0.75
    assert fnc1.decide(0.9, np.array([0.6, 0.2, 0.2]), cfg) == ("agree", "agree")
    assert fnc1.decide(0.1, np.array([0.6, 0.2, 0.2]), cfg) == ("unrelated", "agree")


def test_relevance_scorer_and_position_threshold_are_fnc1_only():
    with pytest.raises(ConfigError, match=r"benchmarks.vast.relevance_scorer: only the fnc1 benchmark"):
        _cfg("vast", "x", relevance_scorer="model")
    with pytest.raises(ConfigError, match=r"benchmarks.fnc1.position_threshold: must be in \[0, 1\]"):
        _cfg("fnc1", "x", position_threshold=1.5)


def test_fnc1_trained_config_reads_relatedness_from_the_topic_encoder():
    cfg = parse_config(compose_config("conf", ["benchmark@benchmarks.fnc1=fnc1_trained", "stance=trained"]))
    bench = cfg.benchmarks["fnc1"]
    # Its own model (the trained cross-encoder), whatever the stance stage uses.
    assert (bench.scorer, bench.relevance_scorer) == ("own", "model")
    assert bench.model.backend == "stance" and cfg.model.backend == "embedding"
    assert bench.templates == {"agree": ["[favor] {}"], "disagree": ["[against] {}"], "discuss": ["[neutral] {}"]}
    # The related/unrelated rule is the default fnc1 one, unchanged.
    default = parse_config(compose_config("conf", [])).benchmarks["fnc1"]
    assert (bench.hypothesis_template, bench.related_threshold) == (default.hypothesis_template,
                                                                    default.related_threshold)


def test_vast_run_subsets_and_neutral_rules(vast_dir):
    scorer = KeywordScorer({"about nuclear": "nuclear", "about sugar": "sugar", "supports nuclear": "must",
                            "opposes sugar": "terrible"})
    metrics, pred = vast.run(_cfg("vast", vast_dir), scorer, overlap=0, progress=False)
    assert list(pred["predicted"]) == ["pro", "con", "neutral", "neutral"]
    assert metrics["macro_f1_zero_shot"] == 1.0 and metrics["macro_f1_all"] == 1.0
    assert metrics["n_zero_shot"] == 2 and metrics["subsets"]["few_shot"]["n"] == 2
    _, strict = vast.run(_cfg("vast", vast_dir, neutral_margin=0.9), scorer, overlap=0, progress=False)
    assert set(strict["predicted"]) == {"neutral"}


def test_vast_fit_decision_values_uses_train(vast_dir):
    scorer = KeywordScorer({"about nuclear": "nuclear", "about sugar": "sugar", "supports nuclear": "must",
                            "opposes sugar": "terrible"})
    fitted = vast.fit_decision_values(_cfg("vast", vast_dir, related_threshold=0.0), scorer, overlap=0,
                                      progress=False)
    assert fitted["train_macro_f1"] == 1.0 and fitted["train_items"] == 4
    assert fitted["configured_train_macro_f1"] < 1.0  # 0.0 / 0.0 leave the tied neutrals as pro
    # Either rule separates the two synthetic neutrals (stance scores tied): the first found wins.
    assert (fitted["related_threshold"], fitted["neutral_margin"]) == (0.0, 0.01)


def test_stance_templates_must_have_the_benchmark_classes(vast_dir):
    with pytest.raises(ConfigError, match=r"benchmark\.templates"):
        vast.run(_cfg("vast", vast_dir, templates=FNC_TEMPLATES), KeywordScorer({}), progress=False)


# ---------------------------------------------------------------------------
# Real (tiny) models through the real backends
# ---------------------------------------------------------------------------


def test_agnews_with_tiny_encoder(agnews_dir, tiny_encoder):
    scorer = build_scorer(model_config("embedding", tiny_encoder, max_length=64), progress=False)
    metrics, pred = agnews.run(_cfg("agnews", agnews_dir, self_train_encoder=None), scorer, progress=False)
    assert set(pred["predicted"]) <= set(AG_LABELS) and metrics["n_items"] == 6
    assert 0.0 <= metrics["accuracy"] <= 1.0


def test_fnc_with_tiny_encoder_scores_a_grid_like_pairwise(fnc_dir, tiny_encoder):
    """The bi-encoder path (precomputed grid) gives the same scores as calling the scorer per body."""
    scorer = build_scorer(model_config("embedding", tiny_encoder, max_length=64), progress=False)
    _, grid = fnc1.run(_cfg("fnc1", fnc_dir), scorer, progress=False)

    class PlainScorer:  # the same model declared a cross-encoder: scored pair by pair
        fingerprint, bi_encoder = scorer.fingerprint, False
        split, lead, score, count_tokens = scorer.split, scorer.lead, scorer.score, scorer.count_tokens

    _, plain = fnc1.run(_cfg("fnc1", fnc_dir), PlainScorer(), progress=False)
    cols = ["predicted", "relevance", "agree", "disagree", "discuss"]
    pd.testing.assert_frame_equal(grid[cols], plain[cols], atol=1e-5)


@pytest.mark.parametrize("name", ["fnc1", "vast"])
def test_stance_benchmarks_with_tiny_nli(name, fnc_dir, vast_dir, tiny_nli):
    scorer = build_scorer(model_config("nli", tiny_nli, max_length=64, runtime="torch"), progress=False)
    module, folder = (fnc1, fnc_dir) if name == "fnc1" else (vast, vast_dir)
    metrics, pred = module.run(_cfg(name, folder), scorer, progress=False)
    assert metrics["n_items"] == len(pred) == 4 and set(pred["predicted"]) <= set(module.CLASSES)
    stance_cols = list(module.CLASSES[:3])
    assert pred[stance_cols].sum(axis=1).to_numpy() == pytest.approx(1.0, abs=1e-5)
    assert pred["relevance"].between(0, 1).all()


def _params(tmp_path, overrides: list[str]):
    data = compose_config("conf", overrides)
    parse_config(data)
    path = tmp_path / "params.yaml"
    path.write_text(dump_params(data), encoding="utf-8")
    return path, data


def test_main_writes_metrics_predictions_and_confusion(tmp_path, fnc_dir, tiny_nli):
    params, _ = _params(tmp_path, ["benchmark@benchmarks.fnc1=fnc1", f"benchmarks.fnc1.path={fnc_dir}",
                                   "model=nli", f"model.name_or_path={tiny_nli}",
                                   "model.max_length=64", f"cache.path={tmp_path / 'scores.sqlite'}"])
    out = tmp_path / "out"
    main(["--params", str(params), "--name", "fnc1", "--metrics", str(out / "m.json"),
          "--details", str(out / "d.json"), "--predictions", str(out / "p.parquet"),
          "--plots-dir", str(out / "plots"), "--no-progress"])
    headline = json.loads((out / "m.json").read_text())
    metrics = json.loads((out / "d.json").read_text())
    # The headline is what `dvc exp show` compares: a few numbers, all from the full report.
    assert headline == {"n_items": 4, "relative_score": metrics["fnc_score"]["relative_score"],
                        "macro_f1": metrics["macro_f1"]}
    assert metrics["benchmark"] == "fnc1" and metrics["model"]["backend"] == "nli"
    assert metrics["model"]["name_or_path"] == str(tiny_nli) and metrics["n_items"] == 4
    assert metrics["reference"]["value"] == 75.20 and "timing" not in metrics  # run-only: printed, not written
    assert "score_cache" not in metrics and (tmp_path / "scores.sqlite").exists()  # nli: disk cache used
    assert len(pd.read_parquet(out / "p.parquet")) == 4
    confusion = pd.read_csv(out / "plots" / "confusion.csv")
    assert list(confusion.columns) == ["actual", "predicted"] and len(confusion) == 4


def test_run_benchmark_names_the_configured_ones():
    cfg = parse_config(compose_config("conf", []))
    with pytest.raises(ConfigError, match=r"benchmarks.sst2: no such benchmark .*'agnews', 'fnc1', 'vast'"):
        run_benchmark(cfg, "sst2")


def test_every_benchmark_is_configured_side_by_side_on_its_whole_test_set():
    cfg = parse_config(compose_config("conf", []))
    assert {k: b.name for k, b in cfg.benchmarks.items()} == {"agnews": "agnews", "fnc1": "fnc1", "vast": "vast"}
    # Sampling is an override (`benchmarks.fnc1.max_items=2000`), not the default.
    assert all(b.max_items is None for b in cfg.benchmarks.values())


def test_one_benchmark_config_can_be_swapped_by_group_override():
    default = parse_config(compose_config("conf", [])).benchmarks["vast"]
    assert default.templates == {"pro": ["[favor] {}"], "con": ["[against] {}"], "neutral": ["[neutral] {}"]}
    cfg = parse_config(compose_config("conf", ["benchmark@benchmarks.vast=vast", "benchmarks.fnc1.max_items=10"]))
    assert cfg.benchmarks["vast"].templates["pro"] == ["This text supports {}.", "This text is in favor of {}."]
    assert cfg.benchmarks["vast"].scorer == "stance" and cfg.benchmarks["vast"].model is None
    assert cfg.benchmarks["fnc1"].max_items == 10 and cfg.benchmarks["agnews"].max_items is None


def test_agnews_encoder_fine_tuning_is_cross_fitted_and_reproducible(agnews_dir, tiny_encoder):
    """self_train_encoder: each fold's encoder is fine-tuned on the other fold's pseudo-labels
    (step 0 = the head: tests/training/test_topic_encoder.py); a run is reproducible."""
    from zeroshot_news.config import EncoderTuningConfig

    model_cfg = model_config("embedding", tiny_encoder, max_length=64, runtime="torch")
    scorer = build_scorer(model_cfg, progress=False)
    head_metrics, _ = agnews.run(_cfg("agnews", agnews_dir, self_train_encoder=None), scorer, progress=False)
    with pytest.raises(ValueError, match="pass its model_cfg"):
        agnews.run(_cfg("agnews", agnews_dir), scorer, progress=False)
    tuned = EncoderTuningConfig(epochs=2, learning_rate=1e-3, batch_size=2, max_length=64, weight_decay=0.0,
                                warmup_ratio=0.0, lr_schedule="linear", max_passages=100, num_threads=None,
                                soft_rounds=0, min_pool_passages=0)
    runs = [agnews.run(_cfg("agnews", agnews_dir, self_train_encoder=tuned), scorer, progress=False,
                       model_cfg=model_cfg) for _ in range(2)]
    assert "encoder fine-tuned" in runs[0][0]["method"] and "encoder" not in head_metrics["method"]
    assert runs[0][1]["predicted"].tolist() == runs[1][1]["predicted"].tolist()
    assert set(runs[0][1]["predicted"]) <= set(AG_LABELS)
    soft_cfg = _cfg("agnews", agnews_dir, self_train_encoder=dataclasses.replace(tuned, soft_rounds=1))
    soft = [agnews.run(soft_cfg, scorer, progress=False, model_cfg=model_cfg) for _ in range(2)]
    assert "1 soft round(s)" in soft[0][0]["method"] and "soft" not in runs[0][0]["method"]
    assert soft[0][1]["predicted"].tolist() == soft[1][1]["predicted"].tolist()
    assert set(soft[0][1]["predicted"]) <= set(AG_LABELS)
    # Folds whose fit texts are under min_pool_passages keep the head on frozen vectors (all folds).
    small = _cfg("agnews", agnews_dir, self_train_encoder=dataclasses.replace(tuned, min_pool_passages=4))
    small_metrics, small_pred = agnews.run(small, scorer, progress=False, model_cfg=model_cfg)
    assert "encoder" not in small_metrics["method"]
    assert small_pred["predicted"].tolist() == agnews.run(_cfg("agnews", agnews_dir, self_train_encoder=None), scorer,
                                                          progress=False)[1]["predicted"].tolist()


def test_agnews_soft_round_continues_from_the_hard_round(monkeypatch):
    """A soft round fine-tunes the hard round's model further (``start``) on every fit text's
    sharpened distribution, capped at max_passages like the pipeline's pool."""
    from zeroshot_news.config import EncoderTuningConfig
    from zeroshot_news.training import topic_encoder

    calls = []

    def fake_fine_tune(texts, loss_fn, coef, intercept, *, start=None, **kwargs):
        calls.append({"texts": list(texts), "start": start, "loss": loss_fn})
        return f"run{len(calls)}"

    monkeypatch.setattr(topic_encoder, "fine_tune_headed", fake_fine_tune)
    monkeypatch.setattr(topic_encoder, "headed_logits",
                        lambda run, texts, progress=True: np.tile([2.0, 0.0, 0.0, 0.0], (len(texts), 1)))

    class Head:
        classes_ = np.arange(4)
        coef_, intercept_ = np.zeros((4, 3)), np.zeros(4)

        def predict_proba(self, x):
            return np.eye(4)[np.arange(len(x)) % 4] * 0.7 + 0.075

    enc = EncoderTuningConfig(epochs=1, learning_rate=1e-3, batch_size=2, max_length=64, weight_decay=0.0,
                              warmup_ratio=0.0, lr_schedule="linear", max_passages=6, num_threads=None, soft_rounds=2,
                              min_pool_passages=0)
    fit_texts = [f"text {i}" for i in range(8)]
    pred = agnews.fine_tuned_predictions(Head(), np.zeros((8, 3)), fit_texts, ["a", "b"], 4,
                                         _cfg("agnews", "unused", self_train_encoder=enc), None, False)
    assert pred.tolist() == [0, 0] and len(calls) == 3
    assert calls[0]["start"] is None and calls[1]["start"] == "run1" and calls[2]["start"] == "run2"
    assert len(calls[1]["texts"]) == 6 and set(calls[1]["texts"]) <= set(fit_texts)  # capped, seeded
    assert calls[1]["texts"] == calls[2]["texts"]


def test_run_benchmark_agnews_with_encoder_fine_tuning(agnews_dir, tiny_encoder):
    """Through run_benchmark, as the DVC stage calls it: the encoder's config reaches agnews.run,
    and no relevance model is reported for a benchmark without one."""
    from tests.fakes import default_config

    cfg = default_config(f"benchmarks.agnews.path={agnews_dir}", f"model.name_or_path={tiny_encoder}",
                         "model.runtime=torch", "model.max_length=64", "cache.enabled=false",
                         "benchmarks.agnews.self_train_encoder.batch_size=2",
                         "benchmarks.agnews.self_train_encoder.max_length=64",
                         "benchmarks.agnews.self_train_encoder.min_pool_passages=0")
    metrics, predictions = run_benchmark(cfg, "agnews", progress=False)
    assert "encoder fine-tuned" in metrics["method"] and "relevance_model" not in metrics
    assert len(predictions) == 6
