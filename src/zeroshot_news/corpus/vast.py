"""VAST (Allaway & McKeown, EMNLP 2020): comments x free-text topics with a stance label.

The one reader of the files, shared by the stance model's training and the VAST benchmark.
One row per (post, topic) item: ``item_id`` (``new_id``), ``post``, ``topic``, ``label``
(``con`` / ``pro`` / ``neutral``; the file's 0 / 1 / 2), ``seen`` (0: the topic is unseen in
training, the zero-shot subset), ``type_idx`` (4: a synthetic neutral).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

LABELS = {0: "con", 1: "pro", 2: "neutral"}
COLUMNS = ("new_id", "post", "new_topic", "label", "seen?", "type_idx")


class VastFormatError(ValueError):
    """The file lacks a column or has a label VAST does not define."""


def read_vast(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (VAST lives in data/external/benchmarks/vast)")
    raw = pd.read_csv(path, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise VastFormatError(f"{path}: lacks columns {missing} (has {list(raw.columns)})")
    bad = sorted(set(raw["label"]) - set(LABELS))
    if bad:
        raise VastFormatError(f"{path}: unknown labels {bad} (expected 0=con, 1=pro, 2=neutral)")
    return pd.DataFrame({"item_id": raw["new_id"], "post": raw["post"].astype(str),
                         "topic": raw["new_topic"].astype(str), "label": raw["label"].map(LABELS),
                         "seen": raw["seen?"].astype(int), "type_idx": raw["type_idx"].astype(int)})
