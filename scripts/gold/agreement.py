"""Cohen's kappa per field between the two blind annotation passes of the dev gold.

Writes data/gold/agreement.json and prints a table. Run from the repo root:
    python scripts/gold/agreement.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

GOLD = Path("data/gold")
FIELDS = ["military", "diplomacy", "regional_security", "stance_russian_government",
          "stance_ukrainian_government", "stance_western_governments", "stance_taliban"]


def main() -> None:
    a = pd.read_csv(GOLD / "passes/pass_a.csv", dtype=str, keep_default_na=False).set_index("item_id")
    b = pd.read_csv(GOLD / "passes/pass_b.csv", dtype=str, keep_default_na=False).set_index("item_id")
    b = b.loc[a.index]
    adjudicated = pd.read_csv(GOLD / "adjudication.csv", dtype=str, keep_default_na=False)
    out = {"items": len(a), "fields": {}}
    for f in FIELDS:
        kappa = cohen_kappa_score(a[f], b[f])
        agree = float((a[f] == b[f]).mean())
        # kappa is undefined-ish when one class dominates (taliban: 210 of 211 'none'); say so.
        out["fields"][f] = {"kappa": round(float(kappa), 3), "raw_agreement": round(agree, 3),
                            "disagreements": int((a[f] != b[f]).sum()),
                            "adjudicated": int((adjudicated["field"] == f).sum())}
    (GOLD / "agreement.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"{'field':<30} {'kappa':>6} {'agree':>6} {'disagree':>8}")
    for f, m in out["fields"].items():
        print(f"{f:<30} {m['kappa']:>6.3f} {m['raw_agreement']:>6.3f} {m['disagreements']:>8}")


if __name__ == "__main__":
    main()
