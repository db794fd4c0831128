"""Fine-tuning the topic head's encoder (self_train.encoder): step 0 is the head, the stage writes
an encoder folder the head names, topic scoring embeds with it, and runs are reproducible."""

import json
from functools import partial

import numpy as np
import pytest

from tests.fakes import default_config
from tests.zeroshot.test_topic_head import _synthetic_overrides, synthetic_corpus
from zeroshot_news.config import ConfigError
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.stages import self_train as self_train_stage
from zeroshot_news.training.topic_encoder import headed_encoder, tune_encoder
from zeroshot_news.zeroshot.self_train import fit_topic_head, intercepts_for_shares, training_rows
from zeroshot_news.zeroshot.topic import classify_topics, topic_scorers
from zeroshot_news.zeroshot.topic_head import (
    TopicHead,
    dump_head,
    pseudo_label_matrix,
    read_head,
    sharpened_distribution,
    sharpened_targets,
)


def tiny_config(tiny_encoder, *overrides):
    """The synthetic one-label taxonomy on the tiny random BERT (torch runtime), fine-tuning on."""
    return default_config(*_synthetic_overrides(), f"model.name_or_path={tiny_encoder}", "model.max_length=64",
                          "model.runtime=torch", "cache.enabled=false", "self_train.encoder.epochs=1",
                          "self_train.encoder.batch_size=8", "self_train.encoder.max_length=64",
                          "self_train.encoder.learning_rate=1e-4", "self_train.encoder.min_pool_passages=0",
                          "topic.short_words=0", *overrides)  # synthetic items are short: no zero-shot blend


def fine_tuner(cfg, folder):
    return partial(tune_encoder, model_cfg=cfg.model, cfg=cfg.self_train.encoder, seed=cfg.self_train.seed,
                   output_dir=folder, progress=False)


def test_step_zero_is_the_head(tiny_encoder):
    """Before any step, the encoder + linear layer gives the head's logits on the backend's vectors."""
    import torch
    from transformers import AutoModel

    cfg = tiny_config(tiny_encoder)
    encoder = build_encoder(cfg.model, progress=False)
    texts = ["troops and tanks near the border", "the football league"]
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(size=(2, 32)), rng.normal(size=2)
    model = headed_encoder(AutoModel.from_pretrained(tiny_encoder, use_safetensors=True).eval(), coef, intercept)
    model.eval()
    enc = encoder.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        logits = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).logits.numpy()
    expected = encoder.embed(texts).astype(np.float64) @ coef.T + intercept
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_pseudo_label_matrix_and_training_rows():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.1, 0.3], [0.6, 0.2]])
    targets, mask = pseudo_label_matrix(proba, [0.2, 0.2], 0.4)
    assert targets[:, 0].tolist() == [1, 0, 0, 0, 0] and mask[:, 0].tolist() == [1, 1, 0, 1, 0]
    assert targets[:, 1].tolist() == [0, 1, 0, 0, 0] and mask[:, 1].tolist() == [1, 1, 0, 0, 1]
    assert training_rows(mask, 10, 0).tolist() == [0, 1, 3, 4]  # row 2 has no pseudo-label
    capped = training_rows(mask, 2, 0)
    assert len(capped) == 2 and set(capped) <= {0, 1, 3, 4} and capped.tolist() == sorted(capped)


def test_intercepts_keep_the_frozen_heads_pool_shares():
    z = np.random.default_rng(0).normal(size=(1000, 3)) * [1.0, 5.0, 0.2] + [0.0, 3.0, -1.0]
    b = intercepts_for_shares(z, [0.1, 0.25, 0.02])
    np.testing.assert_allclose((z + b >= 0).mean(axis=0), [0.1, 0.25, 0.02], atol=0.002)


def test_sharpened_targets_pull_confident_passages_and_hold_back_frequent_labels():
    p = np.array([[0.5, 0.5], [0.8, 0.8], [0.2, 0.2], [0.5, 0.5]])  # both labels: mean p 0.5
    q = sharpened_targets(p)
    np.testing.assert_allclose(q[[0, 3]], 0.5)
    assert q[1, 0] > 0.8 and q[2, 0] < 0.2  # away from 0.5, further
    assert np.all((q >= 0) & (q <= 1))
    rare, frequent = np.array([[0.6], [0.1], [0.1], [0.1]]), np.array([[0.6], [0.9], [0.9], [0.9]])
    assert sharpened_targets(rare)[0, 0] > 0.6 > sharpened_targets(frequent)[0, 0]  # same p, other label frequency
    assert np.all(np.diff(sharpened_targets(np.linspace(0.01, 0.99, 50)[:, None]), axis=0) > 0)  # order kept


def test_sharpened_distribution_is_a_distribution_that_favours_rare_classes():
    balanced = np.array([[0.6, 0.3, 0.1], [0.1, 0.6, 0.3], [0.3, 0.1, 0.6]])  # equal class frequencies
    q = sharpened_distribution(balanced)
    assert np.allclose(q.sum(axis=1), 1) and np.all(q >= 0)
    assert np.all(np.diag(q) > 0.75) and np.array_equal(q.argmax(axis=1), [0, 1, 2])  # confident classes pulled up
    skewed = sharpened_distribution(np.array([[0.5, 0.5], [0.9, 0.1], [0.9, 0.1]]))
    assert skewed[0, 1] > 0.5  # a tie goes to the class the texts predict less often


@pytest.fixture(scope="module")
def tuned_pipeline(tiny_encoder, tmp_path_factory):
    """The self_train stage's work on a synthetic pool, twice (for determinism)."""
    articles, _ = synthetic_corpus(60)
    cfg = tiny_config(tiny_encoder)
    runs = []
    for name in ("a", "b"):
        models = tmp_path_factory.mktemp(f"models-{name}")
        data, report = fit_topic_head(articles, cfg, None, fine_tuner(cfg, models / "topic_encoder"))
        (models / "topic_head.json").write_text(dump_head(data), encoding="utf-8")
        runs.append((models, data, report))
    return articles, cfg, runs


def test_the_stage_writes_an_encoder_the_head_names(tuned_pipeline, tiny_encoder):
    articles, cfg, [(models, data, report), _] = tuned_pipeline
    assert data["encoder_model"] == "topic_encoder"
    folder = models / "topic_encoder"
    assert {"config.json", "model.safetensors", "README.md", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    from safetensors import safe_open

    with safe_open(folder / "model.safetensors", "np") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"float16"}  # noqa: SIM118
    assert "sharpened soft targets" in (folder / "README.md").read_text(encoding="utf-8")
    tuning = report["encoder_tuning"]
    assert cfg.self_train.encoder.soft_rounds == 1 and len(tuning["soft_rounds"]) == 1
    assert tuning["soft_rounds"][0]["passages"] >= tuning["passages"]  # every passage has a soft target
    _, frozen = fit_topic_head(articles, tiny_config(tiny_encoder, "self_train.encoder.epochs=0"))
    assert "encoder_tuning" not in frozen
    assert report["pool_predicted_share"] == pytest.approx(frozen["pool_predicted_share"], abs=0.01)
    assert tuning["passages"] > 0 and tuning["steps"] >= 1 and np.isfinite(tuning["final_loss"])
    base = build_encoder(cfg.model, progress=False)
    assert tuning["base_encoder"] == base.encoder_fingerprint != data["encoder"]

    head = read_head(models / "topic_head.json")
    assert head.encoder_dir == folder
    scorer, head_encoder = topic_scorers(cfg, head)
    assert head_encoder is not scorer and head_encoder.encoder_fingerprint == head.encoder
    assert scorer.encoder_fingerprint == base.encoder_fingerprint
    result = classify_topics(articles.head(5), scorer, cfg.taxonomy, cfg.topic, cfg.passages, progress=False,
                             head=head, head_encoder=head_encoder)
    passages = result.passages.assign(p=head.predict_proba(head_encoder.embed(list(result.passages["text"])))[:, 0])
    expected = passages.groupby("doc_id", sort=False)["p"].max()  # an article's score: its best passage
    np.testing.assert_allclose(result.topics["score"], expected.to_numpy(), atol=1e-6)
    on_base = head.predict_proba(scorer.embed(list(result.passages["text"])))[:, 0]
    assert not np.allclose(on_base, passages["p"], atol=1e-3)  # the fine-tuned vectors were used
    # The head on the base encoder's vectors is refused: the fingerprints differ.
    with pytest.raises(ConfigError, match="another encoder"):
        from zeroshot_news.zeroshot.topic import check_head

        check_head(head, ["military"], base.encoder_fingerprint)


def test_soft_rounds_continue_from_the_first_round(tuned_pipeline, tiny_encoder, tmp_path):
    articles, _, [(_, data, _), _] = tuned_pipeline
    cfg = tiny_config(tiny_encoder, "self_train.encoder.soft_rounds=0")
    one, report = fit_topic_head(articles, cfg, None, fine_tuner(cfg, tmp_path / "topic_encoder"))
    assert "soft_rounds" not in report["encoder_tuning"]
    assert one["encoder"] != data["encoder"] and one["coef"] != data["coef"]  # the soft round moved both
    # The shares the intercepts keep are the frozen head's, after every round alike.
    assert one["info"]["pool_predicted_share"] == pytest.approx(data["info"]["pool_predicted_share"], abs=0.01)


def test_fine_tuning_is_reproducible(tuned_pipeline):
    _, _, [(models_a, data_a, _), (models_b, data_b, _)] = tuned_pipeline
    assert dump_head(data_a) == dump_head(data_b)
    assert (models_a / "topic_encoder" / "model.safetensors").read_bytes() == \
        (models_b / "topic_encoder" / "model.safetensors").read_bytes()


def test_a_head_with_a_missing_or_escaping_encoder_is_refused(tmp_path):
    head = TopicHead(("a",), "enc", np.zeros((1, 3)), np.zeros(1), encoder_model="topic_encoder").to_dict()
    (tmp_path / "head.json").write_text(json.dumps(head), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fine-tuned encoder .* is missing"):
        read_head(tmp_path / "head.json")
    for bad in ("../elsewhere", "/abs/path", ""):
        (tmp_path / "bad.json").write_text(json.dumps({**head, "encoder_model": bad}), encoding="utf-8")
        with pytest.raises(ConfigError, match="encoder_model must be a folder beside the head"):
            read_head(tmp_path / "bad.json")


def test_config_checks():
    with pytest.raises(ConfigError, match=r"self_train\.encoder\.epochs"):
        default_config("self_train.encoder.epochs=-1")
    with pytest.raises(ConfigError, match=r"self_train\.encoder\.soft_rounds"):
        default_config("self_train.encoder.soft_rounds=-1")
    with pytest.raises(ConfigError, match=r"self_train\.encoder\.min_pool_passages"):
        default_config("self_train.encoder.min_pool_passages=-1")
    with pytest.raises(ConfigError, match=r"benchmarks\.agnews\.self_train_encoder\.soft_rounds"):
        default_config("benchmarks.agnews.self_train_encoder.soft_rounds=6")
    assert default_config("self_train.labels_from=gold").self_train.tunes_encoder  # few-shot: on the tuned vectors
    assert default_config().self_train.tunes_encoder
    assert not default_config("self_train.encoder=null").self_train.tunes_encoder
    assert not default_config("self_train.encoder.epochs=0").self_train.tunes_encoder


def test_stage_without_fine_tuning_writes_a_readme_only(tmp_path):
    """epochs 0: the head is the frozen-encoder head, the folder holds only why (stale weights go)."""
    cfg = default_config("self_train.encoder.epochs=0")
    folder = tmp_path / "topic_encoder"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"stale")
    self_train_stage.write_no_encoder(folder, cfg)
    assert [p.name for p in folder.iterdir()] == ["README.md"]
    assert "self_train.encoder is off" in (folder / "README.md").read_text(encoding="utf-8")


def test_a_pool_under_the_encoder_minimum_keeps_the_frozen_head(tiny_encoder, tmp_path):
    """Under self_train.encoder.min_pool_passages no fine-tuning runs: the frozen head, no
    encoder named, and the reason in its info (the stage's README says it)."""
    articles, _ = synthetic_corpus(60)
    frozen, _ = fit_topic_head(articles, tiny_config(tiny_encoder, "self_train.encoder.epochs=0"), None)
    cfg = tiny_config(tiny_encoder, "self_train.encoder.min_pool_passages=100000")
    data, report = fit_topic_head(articles, cfg, None, fine_tuner(cfg, tmp_path / "topic_encoder"))
    assert "encoder_model" not in data and not (tmp_path / "topic_encoder").exists()
    assert data["coef"] == frozen["coef"] and data["intercept"] == frozen["intercept"]
    assert "under self_train.encoder.min_pool_passages = 100000" in report["encoder_not_tuned"]
    self_train_stage.write_no_encoder(tmp_path / "topic_encoder", cfg, data["info"]["encoder_not_tuned"])
    assert "min_pool_passages" in (tmp_path / "topic_encoder" / "README.md").read_text(encoding="utf-8")


def test_stage_refuses_an_encoder_folder_away_from_the_head(tmp_path):
    with pytest.raises(ConfigError, match="beside --head"):
        self_train_stage.main(["--articles", str(tmp_path / "a.parquet"), "--shipped-head", str(tmp_path / "s.json"),
                               "--head", str(tmp_path / "models" / "head.json"),
                               "--encoder", str(tmp_path / "elsewhere" / "topic_encoder"),
                               "--report", str(tmp_path / "r.json")])


def test_few_shot_head_is_fitted_on_the_label_free_tuned_encoder(tiny_encoder, tmp_path):
    """labels_from=gold with fine-tuning: the encoder is tuned on the label-free head's pseudo-labels
    (the same encoder as in the label-free mode), the few-shot head is fitted on its vectors and names
    it; only the tune half of the gold is read for the head."""
    from tests.zeroshot.test_topic_head import _gold_for

    articles, y = synthetic_corpus(60)
    articles["path"] = [f"raw/{d}.txt" for d in articles["doc_id"]]
    gold_path = tmp_path / "gold.csv"
    _gold_for(articles, y).to_csv(gold_path, index=False)
    cfg = tiny_config(tiny_encoder, f"evaluation.gold_path={gold_path}", "self_train.labels_from=gold")
    models = tmp_path / "models"
    data, report = fit_topic_head(articles, cfg, None, fine_tuner(cfg, models / "topic_encoder"))
    assert data["encoder_model"] == "topic_encoder" and data["info"]["labels_from"] == "gold"
    assert data["info"]["training_articles"] == 30  # the tune half
    label_free, _ = fit_topic_head(articles, tiny_config(tiny_encoder), None,
                                   fine_tuner(cfg, tmp_path / "label_free" / "topic_encoder"))
    assert data["encoder"] == label_free["encoder"]  # the same tuned encoder, fingerprint for fingerprint
    assert report["encoder_tuning"]["labels"] == "pseudo-labels of the label-free head"
    (models / "topic_head.json").write_text(dump_head(data), encoding="utf-8")
    head = read_head(models / "topic_head.json")
    scorer, head_encoder = topic_scorers(cfg, head)
    assert head_encoder is not scorer and head_encoder.encoder_fingerprint == head.encoder
    frozen, _ = fit_topic_head(articles, tiny_config(tiny_encoder, f"evaluation.gold_path={gold_path}",
                                                     "self_train.labels_from=gold", "self_train.encoder.epochs=0"))
    assert "encoder_model" not in frozen and frozen["encoder"] == scorer.encoder_fingerprint
    small = tiny_config(tiny_encoder, f"evaluation.gold_path={gold_path}", "self_train.labels_from=gold",
                        "self_train.encoder.min_pool_passages=100000")
    kept, _ = fit_topic_head(articles, small, None, fine_tuner(small, tmp_path / "small" / "topic_encoder"))
    assert "encoder_model" not in kept and "min_pool_passages" in kept["info"]["encoder_not_tuned"]
