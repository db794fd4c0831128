"""Build the stance gold from its two blind passes and the adjudication decisions.

Inputs (data/gold/stance/): ``sample.csv`` (the seeded sample: item, target, source,
stratum, split, round), ``items.csv`` (the passage texts), ``passes/pass_{a,b}.csv`` (one
label per row and pass) and ``adjudication_decisions.csv`` (the final label and a one-line
note for every row the passes disagree on; a missing or extra decision fails).

Outputs: ``data/gold/stance_gold.csv`` (item_id, target, label, unit, split, source; what
the evaluation reads), ``data/gold/stance/adjudication.csv`` (every disagreement with both
passes, the final label and the note) and ``data/gold/stance/agreement.json`` (Cohen's
kappa, raw agreement and the label counts per target and split; how many favor / against
items were found among the rows screened per stratum). Run from the repo root:

    python scripts/gold/build_stance_gold.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

GOLD = Path("data/gold")
STANCE = GOLD / "stance"
LABELS = ["favor", "against", "neutral", "none"]
KEY = ["item_id", "target"]


def unit_of(source: str) -> str:
    """AG News items are whole news texts (headline + summary); the rest are passages of articles."""
    return "item" if source == "agnews" else "passage"


def main() -> None:
    sample = pd.read_csv(STANCE / "sample.csv", dtype=str, keep_default_na=False)
    a = pd.read_csv(STANCE / "passes/pass_a.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(STANCE / "passes/pass_b.csv", dtype=str, keep_default_na=False)
    decisions = pd.read_csv(STANCE / "adjudication_decisions.csv", dtype=str, keep_default_na=False)
    for name, frame in (("pass_a", a), ("pass_b", b), ("decisions", decisions)):
        if frame.duplicated(KEY).any():
            raise SystemExit(f"{name}: duplicate (item_id, target) rows")
    merged = sample.merge(a[[*KEY, "label"]].rename(columns={"label": "pass_a"}), on=KEY, how="left")
    merged = merged.merge(b[[*KEY, "label"]].rename(columns={"label": "pass_b"}), on=KEY, how="left")
    if merged[["pass_a", "pass_b"]].isna().any().any():
        raise SystemExit("a sampled row has no label in one of the passes")
    bad = sorted((set(merged["pass_a"]) | set(merged["pass_b"])) - set(LABELS))
    if bad:
        raise SystemExit(f"labels outside {LABELS}: {bad}")
    disagree = merged[merged["pass_a"] != merged["pass_b"]]
    adjudication = disagree.merge(decisions, on=KEY, how="left", validate="one_to_one")
    if adjudication["final"].isna().any():
        missing = adjudication.loc[adjudication["final"].isna(), KEY].to_records(index=False).tolist()
        raise SystemExit(f"disagreements without a decision: {missing}")
    extra = decisions.merge(disagree[KEY], on=KEY, how="left", indicator=True)
    if (extra["_merge"] == "left_only").any():
        raise SystemExit("decisions for rows the passes agree on (or that are not sampled)")
    final = merged["pass_a"].where(merged["pass_a"] == merged["pass_b"])
    decided = adjudication.set_index(KEY)["final"]
    final = final.fillna(pd.Series([decided.get((i, t)) for i, t in zip(merged["item_id"], merged["target"],
                                                                       strict=True)], index=merged.index))
    merged["label"] = final
    gold = merged.assign(unit=merged["source"].map(unit_of))[
        ["item_id", "target", "label", "unit", "split", "source"]].sort_values(KEY, kind="stable")
    gold.to_csv(GOLD / "stance_gold.csv", index=False)
    adjudication[[*KEY, "pass_a", "pass_b", "final", "note"]].to_csv(STANCE / "adjudication.csv", index=False)

    agreement: dict = {"rows": len(merged), "items": int(merged["item_id"].nunique()),
                       "kappa_all": round(float(cohen_kappa_score(merged["pass_a"], merged["pass_b"])), 3),
                       "disagreements": len(disagree), "targets": {}}
    for target, rows in merged.groupby("target", sort=True):
        agreement["targets"][target] = {
            "rows": len(rows),
            "kappa": round(float(cohen_kappa_score(rows["pass_a"], rows["pass_b"])), 3),
            "raw_agreement": round(float((rows["pass_a"] == rows["pass_b"]).mean()), 3),
            "disagreements": int((rows["pass_a"] != rows["pass_b"]).sum()),
            "labels": {c: int((rows["label"] == c).sum()) for c in LABELS},
            "labels_by_split": {s: {c: int(((rows["label"] == c) & (rows["split"] == s)).sum()) for c in LABELS}
                                for s in ("tune", "test")},
            # favor / against found among the rows screened, per sampling stratum
            "found_by_stratum": {st: {"screened": len(g), "favor": int((g["label"] == "favor").sum()),
                                      "against": int((g["label"] == "against").sum())}
                                 for st, g in rows.groupby("stratum", sort=True)},
        }
    agreement["labels"] = {c: int((merged["label"] == c).sum()) for c in LABELS}
    (STANCE / "agreement.json").write_text(json.dumps(agreement, indent=2) + "\n", encoding="utf-8")
    print(f"{len(gold)} rows, {agreement['items']} passages; kappa {agreement['kappa_all']}; "
          f"labels {agreement['labels']}")
    print(f"{'target':<22} {'kappa':>6} {'favor':>6} {'against':>8} {'neutral':>8} {'none':>6}")
    for target, m in agreement["targets"].items():
        lab = m["labels"]
        print(f"{target:<22} {m['kappa']:>6.3f} {lab['favor']:>6} {lab['against']:>8} {lab['neutral']:>8} "
              f"{lab['none']:>6}")


if __name__ == "__main__":
    main()
