"""The stance gold (``data/gold/stance_gold.csv``): passages x targets with a stance label.

:func:`load_stance_gold` reads the labels (``item_id, target, label, unit, split``) and the
passage texts (``items.csv``) and checks them against each other; :func:`gold_targets`
gives every gold target its definition: the configured one where the pipeline has the
target (so a tuned alias list is what gets measured), else the gold's own ``targets.yaml``
(targets no choice was tuned on). See ``data/gold/stance/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from zeroshot_news.config import ConfigError, StanceTarget
from zeroshot_news.decisions import STANCE_LABELS

GOLD_COLUMNS = ("item_id", "target", "label", "split")
ITEM_COLUMNS = ("item_id", "text")


@dataclass(frozen=True)
class StanceGold:
    labels: pd.DataFrame  # item_id, target, label, split (+ unit, source)
    items: pd.DataFrame  # item_id, text: one row per passage

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(self.labels["target"]))


def _read_csv(path: Path | str, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: lacks columns {missing}")
    return frame


def load_stance_gold(gold_path: Path | str, items_path: Path | str) -> StanceGold:
    labels = _read_csv(gold_path, GOLD_COLUMNS, "stance gold")
    items = _read_csv(items_path, ITEM_COLUMNS, "stance gold items")
    bad = sorted(set(labels["label"]) - set(STANCE_LABELS))
    if bad:
        raise ValueError(f"{gold_path}: labels {bad} are not {list(STANCE_LABELS)}")
    if not set(labels["split"]) <= {"tune", "test"}:
        raise ValueError(f"{gold_path}: split must be tune or test")
    if labels.duplicated(["item_id", "target"]).any():
        raise ValueError(f"{gold_path}: duplicate (item_id, target) rows")
    unknown = sorted(set(labels["item_id"]) - set(items["item_id"]))
    if unknown:
        raise ValueError(f"{gold_path}: items without a text in {items_path}: {unknown[:5]}")
    used = items[items["item_id"].isin(set(labels["item_id"]))].drop_duplicates("item_id")
    return StanceGold(labels=labels.reset_index(drop=True), items=used.reset_index(drop=True))


def gold_targets(names: list[str], configured: list[StanceTarget], targets_path: Path | str) -> list[StanceTarget]:
    """A definition for every gold target: the configured one, else ``targets_path``'s."""
    by_name = {t.name: t for t in configured}
    path = Path(targets_path)
    extra = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    out = []
    for name in names:
        if name in by_name:
            out.append(by_name[name])
            continue
        spec = (extra or {}).get(name)
        if not isinstance(spec, dict) or "display" not in spec or not spec.get("aliases"):
            raise ConfigError(f"stance gold target {name!r}: not configured and not defined in {path} "
                              "(display, aliases, description)")
        out.append(StanceTarget(name=name, display=str(spec["display"]), aliases=[str(a) for a in spec["aliases"]],
                                description=str(spec.get("description", "")),
                                roles=[str(r) for r in spec.get("roles") or []]))
    return out
