"""Select the dev-gold sample (issue 5) from the default bundled corpus.

Strata: every Ukraine-crisis article, the seed, every BBC politics article of the
default BBC sample, the 30 other sampled BBC articles with the most world-affairs
keyword hits, and 30 random other sampled BBC articles as negatives.
Writes data/gold/sample.csv (item_id = path under data/raw, stratum).
Run from the repo root: python scripts/gold/select_dev_sample.py
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

from zeroshot_news.corpus.sampling import stable_sample

RAW = Path("data/raw")
BBC_PER_CATEGORY = 60  # must match conf/corpus/bundled.yaml
BBC_SEED = 0
SEED = 20261126
WORLD = re.compile(
    r"\b(Iraq|Iran|Russia|China|Chinese|Ukrain\w*|NATO|Nato|UN|United Nations|EU|European Union|"
    r"war|troops|military|army|sanctions?|terror\w*|Afghan\w*|Israel\w*|Palestin\w*|treaty|summit|"
    r"diplomat\w*|foreign minister|Foreign Secretary|Korea\w*|Syria\w*|Darfur|Sudan)\b"
)


def main() -> None:
    rows: list[tuple[str, str]] = []
    ukraine = sorted((RAW / "ukraine_news_bias").glob("article_*.json"))
    rows += [(f"ukraine_news_bias/{p.name}", "ukraine") for p in ukraine]
    rows += [(f"seed/{p.name}", "seed") for p in sorted((RAW / "seed").glob("*.txt"))]
    others: list[str] = []
    for cat in sorted(p.name for p in (RAW / "bbc").iterdir() if p.is_dir()):
        names = stable_sample([p.name for p in (RAW / "bbc" / cat).glob("*.txt")], BBC_PER_CATEGORY, BBC_SEED)
        ids = [f"bbc/{cat}/{n}" for n in names]
        if cat == "politics":
            rows += [(i, "bbc_politics") for i in ids]
        else:
            others += ids
    hits = {i: len(WORLD.findall((RAW / i).read_text(encoding="utf-8"))) for i in others}
    world = sorted(sorted(others), key=lambda i: -hits[i])[:30]
    rest = [i for i in others if i not in world]
    negatives = random.Random(SEED).sample(sorted(rest), 30)
    rows += [(i, "bbc_world_affairs") for i in sorted(world)]
    rows += [(i, "bbc_other") for i in sorted(negatives)]
    out = Path("data/gold/sample.csv")
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "stratum"])
        w.writerows(rows)
    print(f"{len(rows)} items -> {out}")


if __name__ == "__main__":
    main()
