"""A bare alias (a country or capital) counts as its government only when it acts (issue 24,
tried 2026-12-05, not adopted).

The default's none rule (`role_or_relevant_alias`) lets a bare alias ("Ukraine", "Moscow")
mean the government when the passage's relevance to the target's description is >= 0.4; on
the tune half most of its `none` -> `neutral` errors are country mentions with relevance near
0.97 ("Fighting in eastern Ukraine continues..."). The variant replaces the relevance check
by a pattern: the alias followed by a state-action or reporting verb (up to two auxiliaries
between: "Moscow has denied"), or by a government noun ("Russia's foreign ministry",
"Ukrainian army"). The verb and noun lists were written before any result was read. Applied
to the default's predictions of the tune half: rows called favor / against / neutral with
neither a role nor an acting alias become `none` ("demote"); then rows called `none` with one
become `neutral` ("+ promote"). Criterion (the project's): mean tune macro-F1 of the tuned
targets. Reads no test row.

    python research/stance_acting_alias.py
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace

import numpy as np
import pandas as pd

sys.path.insert(0, "research")
from stance_gold_variants import predict

from zeroshot_news.evaluation.stance_gold import stance_gold_metrics

VERBS = tuple("""said says say warned warns urged urges accused accuses denied denies announced announces rejected
rejects condemned condemns demanded demands threatened threatens signed signs agreed agrees imposed imposes sent
sends deployed deploys launched launches called calls insisted insists claimed claims refused refuses vowed vows
pledged pledges offered offers recognised recognized recognises recognizes supported supports backed backs
criticised criticized criticises criticizes blamed blames expelled expels sanctioned annexed annexes invaded
invades attacked attacks classed classified designated banned bans ordered orders approved approves told asked
asks wants wanted plans planned decided decides believes hopes proposed proposes responded responds welcomed
welcomes protested protests summoned summons retaliated retaliates supplied supplies armed arms""".split())  # noqa: SIM905 - a word list reads better as text
AUXILIARIES = (r"(?:(?:has|had|have|will|would|could|can|may|might|must|should|did|does|also|already|now|then|"
               r"not|has been|had been|is|was|were|are)\s+){0,2}")
NOUNS = (r"(?:government|officials?|foreign ministry|foreign minister|ministry|army|forces|troops|military|president|"
         r"prime minister|leadership|authorities|envoy|ambassador|diplomats?|defen[cs]e ministry|parliament)")


def acting_pattern(alias: str) -> re.Pattern[str]:
    a = re.escape(alias)
    return re.compile(rf"(?<!\w){a}(?:\s+{AUXILIARIES}(?:{'|'.join(VERBS)})\b|'s\s+{NOUNS}\b|\s+{NOUNS}\b)")


def main() -> None:
    gold = pd.read_csv("data/gold/stance_gold.csv", dtype=str, keep_default_na=False)
    items = pd.read_csv("data/gold/stance/items.csv", dtype=str, keep_default_na=False)
    text = dict(zip(items["item_id"], items["text"], strict=True))
    base, tuned, cfg = predict([])
    targets = {t.name: t for t in cfg.stance.targets}
    roles = {n: [re.compile(rf"(?<!\w){re.escape(r)}(?!\w)") for r in t.roles] for n, t in targets.items()}
    acting = {n: [acting_pattern(a) for a in t.aliases if a not in t.roles] for n, t in targets.items()}
    about = pd.Series([any(p.search(text[i]) for p in roles[t] + acting[t]) if t in targets else True
                       for i, t in zip(base["item_id"], base["target"], strict=True)], index=base.index)
    tune_rows = gold.loc[gold["split"] == "tune", ["item_id", "target"]].assign(in_tune=True)
    tune = base[["item_id", "target"]].merge(tune_rows, how="left", on=["item_id", "target"])["in_tune"]
    tune = tune.fillna(False).astype(bool).set_axis(base.index)  # gold rows of the tune half
    evaluation = replace(cfg.evaluation, bootstrap_samples=10)

    def criterion(pred: pd.DataFrame) -> str:
        report, _ = stance_gold_metrics(pred, gold, tuned, evaluation)
        per = [report["targets"][t]["tune"]["macro_f1"] for t in tuned]
        each = "  ".join(f"{t[:8]} {v:.3f}" for t, v in zip(tuned, per, strict=True))
        return f"tune mean {np.mean(per):.4f}  {each}"

    print(f"{'default':<22}{criterion(base)}")
    pred = base.copy()
    demote = ~about & (pred["label"] != "none")
    pred.loc[demote, "label"] = "none"
    print(f"{'demote':<22}{criterion(pred)}  ({int((demote & tune).sum())} tune rows)")
    promote = about & (pred["label"] == "none") & pred["target"].isin(targets)
    pred.loc[promote, "label"] = "neutral"
    print(f"{'demote + promote':<22}{criterion(pred)}  ({int((promote & tune).sum())} tune rows)")


if __name__ == "__main__":
    main()
