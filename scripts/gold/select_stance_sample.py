"""Select the stance-gold sample (issue 23): short news passages x targets, seeded.

Unit: a *passage* of a news text, at most ~130 words: an AG News item (headline + summary,
a guideline unit as it is), or consecutive sentences / paragraphs of a longer article
(Ukraine-crisis corpus, BBC, FNC-1 bodies) merged until they have at least 35 words.
Stance in hard news is carried locally (one quote, one framing sentence), so a passage is
what two annotators can label reliably and what favor/against items can be found in;
whole articles are mostly `neutral` (the dev gold: 7 / 1 / 2 favor items).

Per target the sampler draws passages that mention it by a broad cue list (wider than the
configured aliases, so the gold does not favour the alias rule), stratified towards
passages that take a side: an evaluative-word score (a fixed lexicon, written before any
labelling) and, for the Ukraine corpus, the crowd's framing votes for the target's
dimension. It adds `none` candidates: passages that mention another target but not this
one. At most two passages per source article per target (spread over articles).

Split (`tune` / `test`), by source article: a Ukraine-corpus article keeps its dev-gold
side (`evaluate`'s split of the matched dev gold, read from data/processed after `dvc
repro clean`); every other article by a seeded hash of its id.

Writes data/gold/stance/sample.csv (item_id, target, source, article_id, stratum, split)
and data/gold/stance/items.csv (item_id, source, article_id, split, text).
Run from the repo root: python scripts/gold/select_stance_sample.py
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from pathlib import Path

import pandas as pd
import yaml

from zeroshot_news.corpus.gold import matched_gold, split_tune_test

RAW = Path("data/raw")
BENCH = Path("data/external/benchmarks")
OUT = Path("data/gold/stance")
SEED = 20261204
MIN_WORDS, MAX_WORDS = 35, 130
PER_ARTICLE = 2          # passages per source article and target
MENTION_QUOTA = 130      # mention candidates per target
NONE_QUOTA = 25          # none candidates per target
# Positive words are rarer than negative ones and favor is the rare class, so the positive
# stratum gets as many draws as the negative one.
STRATUM_SHARE = {"positive": 0.35, "negative": 0.35, "mild": 0.15, "plain": 0.15}
# Per source at most this share of a target's mention candidates (AG News is large).
SOURCE_CAP = 0.45

# Broad cues per target (who or what the target is), not the configured aliases.
CUES = {
    "russian_government": r"Kremlin|Putin|Lavrov|Medvedev|Peskov|Shoigu|Moscow"
                          r"|Russian (?:government|authorities|officials"
                          r"|forces|troops|army|military|president|foreign minist\w+|state)|Russia",
    "ukrainian_government": r"Kiev|Kyiv|Poroshenko|Yatsenyuk|Turchynov|Yanukovych|Yushchenko|Zelensk\w+|Azarov|Klimkin"
                            r"|Ukrainian (?:government|authorities|officials|forces|troops|army|military|president)"
                            r"|Ukraine",
    "western_governments": r"the West|Western|NATO|Nato|European Union|EU|Brussels|Washington|White House|Obama|Bush"
                           r"|Kerry|Pentagon|State Department|U\.S\.|US|United States|Britain|British government|UK"
                           r"|Downing Street|Blair|Cameron|France|French government|Germany|German government|Merkel"
                           r"|Chirac|Hollande|Schroeder|Schröder",
    "us_government": r"Washington|White House|Bush|Obama|Trump|Biden|Kerry|Rice|Rumsfeld|Powell|Pentagon"
                     r"|State Department|U\.S\.|US|United States"
                     r"|American (?:officials|government|forces|troops|administration)",
    "uk_government": r"Downing Street|Whitehall|Blair|Gordon Brown|Jack Straw|Home Office|Foreign Office|Cameron"
                     r"|British government|UK government|Labour government|Home Secretary|Prime Minister|Chancellor"
                     r"|Britain|British (?:troops|forces|officials|ministers)",
    "taliban": r"Taliban|Taleban",
    "islamic_state": r"ISIS|ISIL|Islamic State|IS militants|IS fighters|jihadis\w*",
}
# Round 2 draws per target: (praise-word candidates, blame-word candidates).
ROUND_TWO_QUOTAS = {"default": (25, 20), "islamic_state": (15, 0), "taliban": (25, 20)}
CUE_RE = {t: re.compile(rf"\b(?:{p})\b") for t, p in CUES.items()}
# The crowd's framing dimension of a Ukraine-corpus sentence, per target.
CROWD_DIMENSION = {"russian_government": "russia", "ukrainian_government": "ukraine", "western_governments": "west",
                   "us_government": "west", "uk_government": "west"}
# Evaluative words, written once before any labelling: praise / legitimising words and
# blame / delegitimising words (a passage may have both).
POSITIVE = re.compile(
    r"\b(?:prais\w*|hail\w*|welcom\w*|success\w*|heroic|heroes|hero|brave\w*|courage\w*|legitimate|peaceful"
    r"|historic|wise|strong leader\w*|restraint|responsible|commend\w*|applaud\w*|support\w*|victor\w*"
    r"|liberat\w*|protect\w*|achiev\w*|effective|progress|generous|humanitarian|stabili\w*|reform\w*"
    r"|popular|respected|landmark|breakthrough|credib\w*|calm|constructive|defend\w*)\b",
    re.IGNORECASE,
)
NEGATIVE = re.compile(
    r"\b(?:brutal\w*|aggress\w*|illegal\w*|illegitimate|regime|propaganda|atrocit\w*|massacre\w*|barbar\w*"
    r"|terror\w*|crimes?|criminal|lies|lying|liars?|hypocri\w*|puppet|junta|fascis\w*|nazi\w*|neo-nazi\w*"
    r"|invad\w*|invasion|occup\w*|annex\w*|repress\w*|crackdown|persecut\w*|tortur\w*|corrupt\w*|thugs?"
    r"|dictator\w*|tyrann\w*|provocat\w*|reckless|blunder\w*|fail\w*|disaster\w*|shameful|disgrace\w*"
    r"|outrage\w*|condemn\w*|denounc\w*|slam\w*|blast\w*|accus\w*|blam\w*|threat\w*|bully\w*|cynical"
    r"|arrogan\w*|incompeten\w*|chaos|savage\w*|beheading\w*|slaughter\w*|genocide|extremis\w*|fiasco"
    r"|scandal\w*|misled|mislead\w*|betray\w*|abus\w*|violat\w*)\b",
    re.IGNORECASE,
)


def words(text: str) -> int:
    return len(text.split())


def window(units: list[str]) -> list[str]:
    """Consecutive units merged until MIN_WORDS; a unit over MAX_WORDS is cut at sentence ends."""
    pieces: list[str] = []
    for unit in units:
        unit = " ".join(unit.split())
        if words(unit) > MAX_WORDS:
            pieces += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'“])", unit) if s]
        elif unit:
            pieces.append(unit)
    out, current = [], []
    for piece in pieces:
        if current and words(" ".join([*current, piece])) > MAX_WORDS:
            out.append(" ".join(current))
            current = []
        current.append(piece)
        if words(" ".join(current)) >= MIN_WORDS:
            out.append(" ".join(current))
            current = []
    if current:
        if out and words(" ".join([out[-1], *current])) <= MAX_WORDS:
            out[-1] = " ".join([out[-1], *current])
        else:
            out.append(" ".join(current))
    return [p for p in out if words(p) <= MAX_WORDS * 1.5]


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def ukraine_passages() -> list[dict]:
    rows = []
    for path in sorted((RAW / "ukraine_news_bias").glob("article_*.json"), key=lambda p: int(p.stem.split("_")[1])):
        doc = json.loads(path.read_text(encoding="utf-8"))
        sentences = sorted(doc["sentences"], key=lambda s: s["position_in_article"])
        texts = [s["content"] for s in sentences]
        framing = {s["content"]: s["framing"]["score"] for s in sentences}
        for i, passage in enumerate(window(texts)):
            crowd = {dim: max((f[dim]["avg"] for sent, f in framing.items() if sent in passage), key=abs, default=0.0)
                     for dim in ("russia", "ukraine", "west")}
            rows.append({"source": "ukraine_news_bias", "article_id": f"ukraine_news_bias/{path.name}",
                         "item_id": f"ukraine_news_bias/{path.stem}#p{i}", "text": passage, "crowd": crowd})
    return rows


def bbc_passages(exclude: set[str]) -> list[dict]:
    rows = []
    for path in sorted((RAW / "bbc").glob("*/*.txt")):
        article_id = f"bbc/{path.parent.name}/{path.name}"
        if article_id in exclude:
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        title, body = lines[0].strip(), paragraphs("\n".join(lines[1:]))
        for i, passage in enumerate(window([f"{title}.", *body])):
            rows.append({"source": "bbc", "article_id": article_id, "item_id": f"{article_id}#p{i}", "text": passage})
    return rows


def fnc1_passages() -> list[dict]:
    bodies = pd.read_csv(BENCH / "fnc1" / "competition_test_bodies.csv", dtype={"Body ID": str})
    rows = []
    for body_id, text in zip(bodies["Body ID"], bodies["articleBody"], strict=True):
        article_id = f"fnc1/body_{body_id}"
        for i, passage in enumerate(window(paragraphs(str(text)))):
            rows.append({"source": "fnc1", "article_id": article_id, "item_id": f"{article_id}#p{i}", "text": passage})
    return rows


def agnews_items() -> list[dict]:
    frame = pd.read_csv(BENCH / "agnews" / "test.csv", header=None, names=["label", "title", "description"])
    rows = []
    for row_number, (title, description) in enumerate(zip(frame["title"], frame["description"], strict=True)):
        text = " ".join(f"{title}. {description}".replace("\\", " ").split())
        item = f"agnews/test_{row_number}"
        rows.append({"source": "agnews", "article_id": item, "item_id": item, "text": text})
    return rows


def hashed_split(article_id: str) -> str:
    digest = hashlib.sha256(f"{SEED}:{article_id}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "test"


def dev_gold_split() -> dict[str, str]:
    """The evaluate stage's tune/test side of each dev-gold item (its matched gold, seed from params)."""
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    articles = pd.read_parquet("data/processed/articles.parquet", columns=["doc_id", "path"])
    gold = matched_gold(params["evaluation"]["gold_path"], articles)
    return dict(zip(gold["item_id"], split_tune_test(gold, int(params["evaluation"]["seed"])), strict=True))


def stratum(row: dict, target: str) -> str:
    """positive: a praise word (or the crowd's mean framing >= 0.6); negative: two blame words
    (or crowd <= -0.6); mild: one evaluative word; plain: none."""
    text = row["text"]
    pos, neg = len(POSITIVE.findall(text)), len(NEGATIVE.findall(text))
    dim = CROWD_DIMENSION.get(target)
    crowd = row["crowd"][dim] if dim and "crowd" in row else 0.0
    if (pos >= 1 and pos >= neg) or crowd >= 0.6:
        return "positive"
    if neg >= 2 or crowd <= -0.6:
        return "negative"
    return "mild" if pos + neg == 1 else "plain"


def draw(pool: list[dict], k: int, rng: random.Random, taken: dict[str, int]) -> list[dict]:
    """Up to k rows of the pool, at most PER_ARTICLE per article (counting ``taken``), capped per source.
    The pool's order is shuffled with ``rng`` first."""
    cap = max(1, int(SOURCE_CAP * MENTION_QUOTA))
    per_source: dict[str, int] = {}
    out = []
    for row in rng.sample(pool, len(pool)):
        if len(out) >= k:
            break
        if taken.get(row["article_id"], 0) >= PER_ARTICLE or per_source.get(row["source"], 0) >= cap:
            continue
        taken[row["article_id"]] = taken.get(row["article_id"], 0) + 1
        per_source[row["source"]] = per_source.get(row["source"], 0) + 1
        out.append(row)
    return out


def sentences_of(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=[.!?])\s+", text) if x]


def near(row: dict, cue: re.Pattern[str], words_re: re.Pattern[str]) -> int:
    """Evaluative words in the sentences that mention the target."""
    return sum(len(words_re.findall(s)) for s in sentences_of(row["text"]) if cue.search(s))


def round_two(passages: list[dict], first: list[dict], rng: random.Random) -> list[dict]:
    """Round 2, added after round 1's label *counts* (not its items) showed 1-2 favor and
    8-15 against rows per government target among about 1,000: per target, passages not yet
    drawn for it whose target-mentioning sentences carry praise words (favor candidates) or
    blame words (against candidates)."""
    done = {(r["target"], r["item_id"]) for r in first}
    rows = []
    for target, cue in CUE_RE.items():
        pool = [r for r in passages if (target, r["item_id"]) not in done and cue.search(r["text"])]
        positive = [r for r in pool if near(r, cue, POSITIVE) >= 1 and near(r, cue, NEGATIVE) == 0]
        negative = [r for r in pool if near(r, cue, NEGATIVE) >= 1 and len(NEGATIVE.findall(r["text"])) >= 2]
        quotas = ROUND_TWO_QUOTAS.get(target, ROUND_TWO_QUOTAS["default"])
        taken: dict[str, int] = {}
        chosen = [("r2_positive", r) for r in draw(positive, quotas[0], rng, taken)]
        negative = [r for r in negative if all(r is not c for _, c in chosen)]
        chosen += [("r2_negative", r) for r in draw(negative, quotas[1], rng, taken)]
        rows += [{"item_id": r["item_id"], "target": target, "source": r["source"], "article_id": r["article_id"],
                  "stratum": name, "split": r["split"], "round": 2} for name, r in chosen]
    return rows


def main() -> None:
    dev_split = dev_gold_split()
    dev_items = set(pd.read_csv("data/gold/gold.csv", dtype=str)["item_id"])
    passages = ukraine_passages() + bbc_passages(exclude=dev_items) + fnc1_passages() + agnews_items()
    ukraine_articles = {r["article_id"] for r in passages if r["source"] == "ukraine_news_bias"}
    missing = sorted(a for a in ukraine_articles if a not in dev_split)
    for row in passages:
        # A Ukraine article the dev gold could not match (quarantined / removed) gets the hash side.
        row["split"] = dev_split.get(row["article_id"]) or hashed_split(row["article_id"])
    rng = random.Random(SEED)
    sample: list[dict] = []
    screened: dict[str, dict] = {}
    for target, cue in CUE_RE.items():
        mentions = [r for r in passages if cue.search(r["text"])]
        by_stratum: dict[str, list[dict]] = {name: [] for name in STRATUM_SHARE}
        for row in mentions:
            by_stratum[stratum(row, target)].append(row)
        taken: dict[str, int] = {}
        chosen: list[tuple[str, dict]] = []
        if len(mentions) <= MENTION_QUOTA:  # a small pool (the Taliban) is screened whole
            chosen = [(name, r) for name, rows in by_stratum.items() for r in rows]
        for name, share in STRATUM_SHARE.items() if not chosen else ():
            quota = round(share * MENTION_QUOTA)
            chosen += [(name, r) for r in draw(by_stratum[name], quota, rng, taken)]
        # A small stratum leaves room: fill it from the others, in order.
        short = MENTION_QUOTA - len(chosen) if len(mentions) > MENTION_QUOTA else 0
        for name in STRATUM_SHARE:
            if short <= 0:
                break
            left = [r for r in by_stratum[name] if all(r is not c for _, c in chosen)]
            extra = draw(left, short, rng, taken)
            chosen += [(name, r) for r in extra]
            short -= len(extra)
        others = [r for r in passages if not cue.search(r["text"])
                  and any(CUE_RE[t].search(r["text"]) for t in CUE_RE if t != target)]
        chosen += [("none_candidate", r) for r in draw(others, NONE_QUOTA, rng, {})]
        screened[target] = {"mention_pool": len(mentions), **{k: len(v) for k, v in by_stratum.items()}}
        sample += [{"item_id": r["item_id"], "target": target, "source": r["source"], "article_id": r["article_id"],
                    "stratum": name, "split": r["split"], "round": 1} for name, r in chosen]
    sample += round_two(passages, sample, random.Random(SEED + 2))
    OUT.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(sample).sort_values(["target", "item_id"], kind="stable")
    frame.to_csv(OUT / "sample.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    used = set(frame["item_id"])
    items = pd.DataFrame([{k: r[k] for k in ("item_id", "source", "article_id", "split", "text")}
                          for r in passages if r["item_id"] in used]).sort_values("item_id", kind="stable")
    items.to_csv(OUT / "items.csv", index=False)
    (OUT / "sample_report.json").write_text(json.dumps({
        "seed": SEED, "passages_built": len(passages), "rows": len(frame), "items": len(items),
        "ukraine_articles_without_dev_split": missing, "pools": screened,
        "rows_per_target": frame.groupby("target").size().to_dict(),
        "rows_per_split": frame.groupby("split").size().to_dict(),
    }, indent=2) + "\n", encoding="utf-8")
    print(f"{len(frame)} rows over {len(items)} passages -> {OUT}")


if __name__ == "__main__":
    main()
