"""Build the short-item topic gold from its two blind passes and the adjudication decisions.

Inputs (data/gold/short/): ``items.csv`` (the seeded sample: item, source, split, stratum,
round, text), ``passes/pass_{a,b}.csv`` (0/1 per topic and pass) and
``adjudication_decisions.csv`` (the final value and a one-line note for every (item, topic)
the passes disagree on; a missing or extra decision fails).

Outputs: ``data/gold/short_gold.csv`` (item_id, source, split, military, diplomacy,
regional_security, text: what the evaluation reads), ``data/gold/short/adjudication.csv``
and ``data/gold/short/agreement.json`` (Cohen's kappa and positives per topic). Run from the
repo root:

    python scripts/gold/build_short_gold.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

GOLD = Path("data/gold")
SHORT = GOLD / "short"
TOPICS = ["military", "diplomacy", "regional_security"]


def main() -> None:
    items = pd.read_csv(SHORT / "items.csv", dtype=str, keep_default_na=False)
    a = pd.read_csv(SHORT / "passes/pass_a.csv", dtype=str, keep_default_na=False).set_index("item_id")
    b = pd.read_csv(SHORT / "passes/pass_b.csv", dtype=str, keep_default_na=False).set_index("item_id")
    decisions = pd.read_csv(SHORT / "adjudication_decisions.csv", dtype=str, keep_default_na=False)
    if set(a.index) != set(items["item_id"]) or set(b.index) != set(items["item_id"]):
        raise SystemExit("the passes do not cover exactly the sampled items")
    decided = {(i, f): v for i, f, v in zip(decisions["item_id"], decisions["field"], decisions["final"], strict=True)}
    gold = items.set_index("item_id")[["source", "split", "stratum", "round"]].copy()
    adjudication, agreement = [], {"items": len(items), "topics": {}}
    for topic in TOPICS:
        pa, pb = a.loc[gold.index, topic], b.loc[gold.index, topic]
        final = pa.where(pa == pb)
        for item in final.index[final.isna()]:
            if (item, topic) not in decided:
                raise SystemExit(f"no decision for {item} {topic}")
            final[item] = decided[(item, topic)]
            adjudication.append({"item_id": item, "field": topic, "pass_a": pa[item], "pass_b": pb[item],
                                 "final": decided[(item, topic)]})
        gold[topic] = final
        agreement["topics"][topic] = {
            "kappa": round(float(cohen_kappa_score(pa, pb)), 3),
            "raw_agreement": round(float((pa == pb).mean()), 3), "disagreements": int((pa != pb).sum()),
            "positives": int((final == "1").sum()),
            "positives_by_split": {s: int(((final == "1") & (gold["split"] == s)).sum()) for s in ("tune", "test")}}
    extra = set(decided) - {(r["item_id"], r["field"]) for r in adjudication}
    if extra:
        raise SystemExit(f"decisions for (item, topic) pairs the passes agree on: {sorted(extra)[:3]}")
    agreement["no_topic"] = int((gold[TOPICS] == "0").all(axis=1).sum())
    agreement["by_split"] = gold["split"].value_counts().to_dict()
    notes = decisions.set_index(["item_id", "field"])["note"]
    adj = pd.DataFrame(adjudication)
    adj["note"] = [notes[(i, f)] for i, f in zip(adj["item_id"], adj["field"], strict=True)]
    adj.sort_values(["item_id", "field"]).to_csv(SHORT / "adjudication.csv", index=False)
    text = items.set_index("item_id")["text"]
    out = gold.assign(text=text).reset_index()[["item_id", "source", "split", *TOPICS, "text"]]
    out.sort_values("item_id", kind="stable").to_csv(GOLD / "short_gold.csv", index=False)
    (SHORT / "agreement.json").write_text(json.dumps(agreement, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(agreement["topics"], indent=1), "no topic:", agreement["no_topic"])


if __name__ == "__main__":
    main()
