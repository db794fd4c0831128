"""VAST (Allaway & McKeown, EMNLP 2020): comments x free-text topics with a stance label.

The one reader of the files, shared by the stance model's training and the VAST benchmark.
One row per (post, topic) item: ``item_id`` (``new_id``), ``post``, ``topic``, ``label``
(``con`` / ``pro`` / ``neutral``; the file's 0 / 1 / 2), ``seen`` (0: the topic is unseen in
training, the zero-shot subset), ``type_idx`` (4: a synthetic neutral).

The topic is ``topic_str``, as the dataset's README defines it ("string version of topic")
and its authors' loader reads it. Not ``new_topic``: on the synthetic neutral rows
(``type_idx`` 4, neutral because the post is paired with an *unrelated* topic) ``new_topic``
is a stale copy of the post's own topic, so reading it turns 2,251 of VAST train's 2,313
synthetic neutrals into a (post, topic) pair that is also labelled pro or con. VAST's
``neutral`` therefore mostly means "not about this topic": this project's ``none``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

LABELS = {0: "con", 1: "pro", 2: "neutral"}
COLUMNS = ("new_id", "post", "topic_str", "label", "seen?", "type_idx")
SYNTHETIC_NEUTRAL = 4  # type_idx of a post paired with an unrelated topic


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
                         "topic": raw["topic_str"].astype(str), "label": raw["label"].map(LABELS),
                         "seen": raw["seen?"].astype(int), "type_idx": raw["type_idx"].astype(int)})
