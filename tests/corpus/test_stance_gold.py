"""The stance gold's loader and target definitions; the committed gold is well formed."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import REPO
from zeroshot_news.config import ConfigError, StanceTarget
from zeroshot_news.corpus.stance_gold import gold_targets, load_stance_gold

GOLD = REPO / "data" / "gold"


def _write(tmp_path, labels, items):
    pd.DataFrame(labels).to_csv(tmp_path / "g.csv", index=False)
    pd.DataFrame(items).to_csv(tmp_path / "i.csv", index=False)
    return tmp_path / "g.csv", tmp_path / "i.csv"


def test_the_committed_gold_loads_and_has_what_its_readme_says():
    gold = load_stance_gold(GOLD / "stance_gold.csv", GOLD / "stance" / "items.csv")
    assert len(gold.labels) >= 600 and gold.labels["item_id"].nunique() == len(gold.items)
    counts = gold.labels["label"].value_counts()
    assert counts["against"] >= 120 and counts["neutral"] >= 120
    assert {"us_government", "uk_government", "islamic_state"} <= set(gold.targets)
    # An article's passages are all on one side of the split.
    article = gold.labels["item_id"].str.split("#").str[0]
    assert (gold.labels.assign(article=article).groupby("article")["split"].nunique() == 1).all()


def test_the_ukraine_articles_keep_their_dev_gold_side():
    """Passages of a Ukraine-corpus article sit on the article's side of the dev gold's split."""
    labels = pd.read_csv(GOLD / "stance_gold.csv", dtype=str)
    items = pd.read_csv(GOLD / "stance" / "items.csv", dtype=str)
    sides = dict(zip(items["item_id"], items["split"], strict=True))
    assert all(sides[i] == s for i, s in zip(labels["item_id"], labels["split"], strict=True))


@pytest.mark.parametrize("bad", [
    {"label": "positive"}, {"split": "train"},
])
def test_bad_labels_or_splits_are_refused(tmp_path, bad):
    row = {"item_id": "a", "target": "t", "label": "none", "split": "tune"} | bad
    g, i = _write(tmp_path, [row], [{"item_id": "a", "text": "x"}])
    with pytest.raises(ValueError):
        load_stance_gold(g, i)


def test_an_item_without_text_is_refused(tmp_path):
    g, i = _write(tmp_path, [{"item_id": "a", "target": "t", "label": "none", "split": "tune"}],
                  [{"item_id": "b", "text": "x"}])
    with pytest.raises(ValueError, match="without a text"):
        load_stance_gold(g, i)


def test_gold_targets_prefer_the_configured_definition(tmp_path):
    (tmp_path / "t.yaml").write_text("nato:\n  display: NATO\n  aliases: [NATO]\n", encoding="utf-8")
    configured = [StanceTarget("russia", "the Russian government", ["Kremlin"])]
    got = gold_targets(["russia", "nato"], configured, tmp_path / "t.yaml")
    assert got[0] is configured[0] and (got[1].name, got[1].aliases) == ("nato", ["NATO"])
    with pytest.raises(ConfigError, match="not configured"):
        gold_targets(["isis"], configured, tmp_path / "t.yaml")
