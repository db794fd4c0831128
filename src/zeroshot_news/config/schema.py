"""The configuration schema: one frozen dataclass per section, with its validation rules.

The *values* live in ``conf/`` (Hydra groups), never here. A field is either required
(``conf/`` always sets it) or has a default that is used only where ``conf/`` leaves the
key out: ``None`` for an optional setting ("absent", e.g. a source's ``glob``, or a
backend-specific field of the other backend), or a value that equals ``conf/`` exactly
wherever ``conf/`` sets the key (``tests/test_config.py`` checks every option of every
group). Parsing and loading are in :mod:`.load`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


class ConfigError(ValueError):
    """A configuration problem, always naming the offending key."""


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns of a CSV/JSONL table hold which article field (``null`` = absent)."""

    id: str | None = "id"
    title: str | None = "title"
    body: str | None = "body"
    text: str | None = "text"
    date: str | None = "date"
    source: str | None = "source"


@dataclass(frozen=True)
class SourceConfig:
    """One raw-data source and the adapter that reads it."""

    name: str
    format: Literal["native", "bbc", "ukraine_news_bias", "table"]
    path: str
    glob: str | None = None  # file pattern; each adapter has its own default
    categories: list[str] | None = None
    sample_per_category: int | None = None
    sample_seed: int = 0
    columns: ColumnMapping = field(default_factory=ColumnMapping)

    def validate(self, key: str) -> None:
        if self.sample_per_category is not None and self.sample_per_category < 1:
            raise ConfigError(f"{key}.sample_per_category: must be >= 1 or null")
        if self.format == "table" and self.columns.body is None and self.columns.text is None:
            raise ConfigError(f"{key}.columns: a table needs a 'body' or a 'text' column")


@dataclass(frozen=True)
class CorpusConfig:
    name: str
    sources: list[SourceConfig]
    max_file_bytes: int = 2_000_000
    fallback_encodings: list[str] = field(default_factory=lambda: ["cp1252", "latin-1"])
    max_control_char_ratio: float = 0.01

    def validate(self, key: str) -> None:
        if not self.sources:
            raise ConfigError(f"{key}.sources: at least one source is needed")
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ConfigError(f"{key}.sources: source names must be unique, got {names}")
        if self.max_file_bytes < 1:
            raise ConfigError(f"{key}.max_file_bytes: must be positive")
        _check_unit(self.max_control_char_ratio, f"{key}.max_control_char_ratio")
        for enc in self.fallback_encodings:
            try:
                "".encode(enc)
            except LookupError as exc:
                raise ConfigError(f"{key}.fallback_encodings: unknown encoding {enc!r}") from exc

    def check_paths(self, root: Path = Path(".")) -> None:
        for i, src in enumerate(self.sources):
            if not (root / src.path).exists():
                raise ConfigError(
                    f"corpus.sources[{i}].path: {src.path!r} does not exist (source {src.name!r})"
                )


@dataclass(frozen=True)
class PatternRule:
    """A named regex: ``drop_line`` removes whole matching lines, ``strip`` removes the match."""

    name: str
    pattern: str
    action: Literal["drop_line", "strip"]


@dataclass(frozen=True)
class NearDuplicateConfig:
    enabled: bool
    threshold: float
    num_perm: int
    shingle_words: int
    seed: int


@dataclass(frozen=True)
class CleaningConfig:
    fix_unicode: bool
    unicode_form: Literal["NFC", "NFKC"]
    drop_repeated_lines: bool
    patterns: list[PatternRule]
    near_duplicates: NearDuplicateConfig
    languages: list[str]
    # Language identification is unreliable on short text (measured on 8,494 English
    # headlines: 1,219 called another language, every one at a probability below 0.95). A
    # text under ``language_short_words`` words is removed as another language only at
    # ``language_min_prob`` or above; otherwise it is kept and its language flagged uncertain.
    language_short_words: int
    language_min_prob: float
    min_words: int

    def validate(self, key: str) -> None:
        for i, rule in enumerate(self.patterns):
            try:
                re.compile(rule.pattern)
            except re.error as exc:
                raise ConfigError(f"{key}.patterns[{i}].pattern: invalid regex ({exc})") from exc
        _check_unit(self.near_duplicates.threshold, f"{key}.near_duplicates.threshold")
        if self.near_duplicates.num_perm < 16:
            raise ConfigError(f"{key}.near_duplicates.num_perm: must be >= 16")
        if self.near_duplicates.shingle_words < 1:
            raise ConfigError(f"{key}.near_duplicates.shingle_words: must be >= 1")
        if self.min_words < 0:
            raise ConfigError(f"{key}.min_words: must be >= 0")
        if self.language_short_words < 0:
            raise ConfigError(f"{key}.language_short_words: must be >= 0")
        _check_unit(self.language_min_prob, f"{key}.language_min_prob")


@dataclass(frozen=True)
class TopicLabel:
    name: str
    descriptions: list[str]
    threshold: float = 0.5


@dataclass(frozen=True)
class TaxonomyConfig:
    name: str
    hypothesis_template: str
    labels: list[TopicLabel]
    # What gets no topic (GUIDELINES.md §1): self-training ranks passages by their
    # similarity to a label's descriptions *minus* their similarity to these.
    background: list[str] | None = None

    def validate(self, key: str) -> None:
        _check_template(self.hypothesis_template, f"{key}.hypothesis_template")
        if not self.labels:
            raise ConfigError(f"{key}.labels: at least one label is needed")
        names = [lab.name for lab in self.labels]
        if len(set(names)) != len(names):
            raise ConfigError(f"{key}.labels: label names must be unique, got {names}")
        for i, lab in enumerate(self.labels):
            if not lab.descriptions:
                raise ConfigError(f"{key}.labels[{i}].descriptions: at least one description")
            _check_unit(lab.threshold, f"{key}.labels[{i}].threshold")

    def hypotheses(self) -> list[tuple[str, str]]:
        """(label, hypothesis text) pairs, in label order."""
        return [
            (lab.name, self.hypothesis_template.format(desc))
            for lab in self.labels
            for desc in lab.descriptions
        ]


@dataclass(frozen=True)
class ModelConfig:
    """A pair scorer: which backend, which weights, how to run them (``conf/model/``)."""

    backend: Literal["embedding", "nli", "stance"]
    name_or_path: str
    batch_size: int
    max_length: int
    device: str
    # Cap on rows x longest pair per batch (null: batch_size only). Small on a CPU, where
    # it saves time and memory; null (with a large batch_size) on a GPU.
    max_batch_tokens: int | None = None
    # Embedding backend only (required there): p = sigmoid(scale * (cosine - center));
    # see scorers/embedding.py.
    calibration_center: float | None = None
    calibration_scale: float | None = None
    # Every backend (required). torch: eager PyTorch. onnx: ONNX Runtime on CPU (graph
    # exported once into export_dir; fp32 scores equal torch's to ~1e-6, faster on CPU, and
    # for the embedding backend no torch/transformers import at start-up). auto: onnx when
    # the device is the CPU, torch (bf16 autocast for cross-encoders) on a GPU.
    runtime: Literal["torch", "onnx", "auto"] | None = None
    # fp32 is exact. int8 (dynamic quantisation; the embedding backend: ONNX Runtime only)
    # and bf16 (torch CPU autocast, cross-encoders) are measured opt-in modes that move
    # scores; see perf/README.md.
    precision: Literal["fp32", "int8", "bf16"] | None = None
    export_dir: str | None = None

    RUNTIME = ("runtime", "precision", "export_dir")
    EMBEDDING_ONLY = ("calibration_center", "calibration_scale")

    def validate(self, key: str) -> None:
        # The stance backend is a cross-encoder too: it runs like the nli backend.
        mine = self.RUNTIME + (self.EMBEDDING_ONLY if self.backend == "embedding" else ())
        other = () if self.backend == "embedding" else self.EMBEDDING_ONLY
        for name in mine:
            if getattr(self, name) is None:
                raise ConfigError(f"{key}.{name}: required by the {self.backend} backend")
        for name in other:
            if getattr(self, name) is not None:
                raise ConfigError(f"{key}.{name}: not an option of the {self.backend} backend (remove it)")
        if self.backend == "embedding" and self.precision == "bf16":
            raise ConfigError(f"{key}.precision: the embedding backend runs fp32 or int8 (ONNX Runtime)")
        if self.backend == "embedding" and self.precision == "int8" and self.runtime == "torch":
            raise ConfigError(f"{key}.precision: int8 vectors come from ONNX Runtime (runtime=onnx or auto on the CPU)")
        if self.runtime == "onnx" and self.device not in ("auto", "cpu"):
            raise ConfigError(f"{key}.runtime: onnx runs on the CPU; use device=cpu/auto, or runtime=torch on GPU")
        if self.runtime in ("onnx", "auto") and self.precision == "bf16":
            raise ConfigError(f"{key}.precision: bf16 is a torch runtime option (use fp32 or int8 with onnx)")
        if self.batch_size < 1:
            raise ConfigError(f"{key}.batch_size: must be >= 1")
        if self.max_batch_tokens is not None and self.max_batch_tokens < 1:
            raise ConfigError(f"{key}.max_batch_tokens: must be >= 1 or null")
        if not 16 <= self.max_length <= 8192:
            raise ConfigError(f"{key}.max_length: must be in [16, 8192]")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", self.device):
            raise ConfigError(f"{key}.device: expected auto, cpu, cuda, cuda:N or mps")
        if self.calibration_scale is not None and self.calibration_scale <= 0:
            raise ConfigError(f"{key}.calibration_scale: must be positive")


@dataclass(frozen=True)
class StanceTarget:
    name: str
    display: str
    aliases: list[str]
    # What counts as discussing the target, for the relevance hypothesis only (the stance
    # templates keep the short ``display``); empty: ``display``.
    description: str = ""
    # Unambiguous designations of the target as an actor ("Downing Street", "the Kremlin"):
    # they count as mentions, and under none_rule=role_or_relevant_alias a role alone means
    # the target is discussed (a bare alias such as a country name also needs relevance).
    roles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StanceConfig:
    targets: list[StanceTarget]
    templates: dict[str, list[str]]
    relevance_template: str
    none_rule: Literal["alias", "relevance", "alias_or_relevance", "alias_and_relevance", "role_or_relevant_alias"]
    relevance_threshold: float
    case_sensitive_aliases: bool
    passage_aggregate: Literal["max", "mean", "topk_mean", "vote"]
    top_k: int
    neutral_margin: float
    # A favor (against) call needs its class score to lead neutral's by at least this much,
    # or the decision is neutral: hard news rarely takes a side (guidelines §2).
    favor_lead: float
    against_lead: float
    # What a stance decision reads: model-sized passages that mention the target, or single
    # sentences that mention it (``sentence``: a side is taken where the target is named).
    unit: Literal["passage", "sentence"]
    # Attributed speech (guidelines §2: criticism attributed to someone else is neutral):
    # keep it, skip it (weight 0: it shows the target is discussed, never a side), or
    # discount it to ``attribution_weight`` (zeroshot/attribution.py says what counts).
    attribution: Literal["keep", "skip", "discount"]
    attribution_weight: float
    # A favor / against / neutral decision whose winning class score leads the runner-up by
    # less than this, or whose label is one of ``uncertain_labels`` (a label the method gets
    # right less than half of the time on the stance gold's tune half), is flagged
    # ``uncertain`` in every output.
    uncertain_margin: float
    # Score only articles predicted with one of these topics (empty: every article).
    restrict_to_topics: list[str]
    # Per-stage backend: null uses the top-level ``model`` section.
    model: ModelConfig | None = None
    uncertain_labels: list[str] | None = None  # see uncertain_margin; None: no label

    def validate(self, key: str) -> None:
        if not self.targets:
            raise ConfigError(f"{key}.targets: at least one target is needed")
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ConfigError(f"{key}.targets: target names must be unique, got {names}")
        for i, t in enumerate(self.targets):
            if not t.aliases and self.none_rule != "relevance":
                raise ConfigError(f"{key}.targets[{i}].aliases: needed by none_rule={self.none_rule}")
        if set(self.templates) != {"favor", "against", "neutral"}:
            raise ConfigError(
                f"{key}.templates: needs exactly the keys favor, against, neutral; got {sorted(self.templates)}"
            )
        for stance, templates in self.templates.items():
            if not templates:
                raise ConfigError(f"{key}.templates.{stance}: at least one template")
            for j, t in enumerate(templates):
                _check_template(t, f"{key}.templates.{stance}[{j}]")
        _check_template(self.relevance_template, f"{key}.relevance_template")
        _check_unit(self.relevance_threshold, f"{key}.relevance_threshold")
        _check_unit(self.uncertain_margin, f"{key}.uncertain_margin")
        bad = sorted(set(self.uncertain_labels or ()) - {"favor", "against", "neutral"})
        if bad:
            raise ConfigError(f"{key}.uncertain_labels: {bad} are not favor / against / neutral")
        _check_unit(self.attribution_weight, f"{key}.attribution_weight")
        _check_unit(self.neutral_margin, f"{key}.neutral_margin")
        _check_unit(self.favor_lead, f"{key}.favor_lead")
        _check_unit(self.against_lead, f"{key}.against_lead")
        if self.top_k < 1:
            raise ConfigError(f"{key}.top_k: must be >= 1")
        if self.model is not None:
            self.model.validate(f"{key}.model")


@dataclass(frozen=True)
class PassageConfig:
    """How articles become model-sized passages.

    split: every sentence is read, packed into passages that fit the model (the default).
    lead: one passage per article, its first tokens only, each pair cut to the model's
    length like transformers' zero-shot pipeline (truncation="only_first"): faster,
    blind to everything after the lead, and score-for-score the pipeline's method.
    """

    mode: Literal["split", "lead"]
    overlap_sentences: int

    def validate(self, key: str) -> None:
        if self.overlap_sentences < 0:
            raise ConfigError(f"{key}.overlap_sentences: must be >= 0")


@dataclass(frozen=True)
class TopicConfig:
    hypothesis_combine: Literal["max", "mean"]
    passage_aggregate: Literal["max", "mean", "topk_mean"]
    top_k: int
    # Items of fewer than short_words words (0: none) are decided at each label's threshold
    # x short_threshold_scale (short texts score lower on the head; chosen on the short gold).
    short_words: int
    short_threshold_scale: float
    # An article head's score on a short item is blended with calibrated zero-shot:
    # (1 - w) x head + w x zero-shot (0: the head alone; it ranks short items better, see conf).
    short_zero_shot_weight: float

    def validate(self, key: str) -> None:
        if self.top_k < 1:
            raise ConfigError(f"{key}.top_k: must be >= 1")
        if self.short_words < 0:
            raise ConfigError(f"{key}.short_words: must be >= 0 (0 turns the short-item rule off)")
        _check_unit(self.short_threshold_scale, f"{key}.short_threshold_scale")
        _check_unit(self.short_zero_shot_weight, f"{key}.short_zero_shot_weight")


@dataclass(frozen=True)
class EncoderTuningConfig:
    """Fine-tuning the head's encoder on the head's own pseudo-labels after the head is fitted
    (``self_train.encoder``; :mod:`zeroshot_news.training.topic_encoder`). epochs 0 (or no
    section) = off: the head stays on the configured, frozen encoder."""

    epochs: float
    learning_rate: float
    batch_size: int
    max_length: int
    weight_decay: float
    warmup_ratio: float
    lr_schedule: Literal["linear", "cosine", "constant"]
    # The passages with a pseudo-label, a seeded sample of at most this many (time on 2 CPU
    # cores: about 0.6 s per passage at max_length 256).
    max_passages: int
    num_threads: int | None  # torch CPU threads; null: torch's default
    # Rounds after the first, each on LOTClass's sharpened soft targets over the whole pool
    # (zeroshot/topic_head.py: sharpened_targets; AG News' folds: sharpened_distribution).
    soft_rounds: int
    # A pool (AG News: a fold's fit texts) with fewer passages keeps the head on frozen vectors:
    # fine-tuning on a small pool's few pseudo-labels cost dev-gold F1 where the frozen head did
    # not (research/small_corpus_encoder.py). 0 = fine-tune whatever the pool.
    min_pool_passages: int

    def validate(self, key: str) -> None:
        if not 0 <= self.epochs <= 10:
            raise ConfigError(f"{key}.epochs: must be in [0, 10]")
        if not 0 <= self.soft_rounds <= 5:
            raise ConfigError(f"{key}.soft_rounds: must be in [0, 5]")
        if self.min_pool_passages < 0:
            raise ConfigError(f"{key}.min_pool_passages: must be >= 0")
        if self.learning_rate <= 0 or self.batch_size < 1 or self.max_length < 8 or self.max_passages < 1:
            raise ConfigError(f"{key}: learning_rate must be > 0, batch_size >= 1, max_length >= 8, "
                              "max_passages >= 1")
        if not 0 <= self.warmup_ratio < 1 or self.weight_decay < 0:
            raise ConfigError(f"{key}: warmup_ratio must be in [0, 1) and weight_decay >= 0")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"{key}.num_threads: must be >= 1 or null")


@dataclass(frozen=True)
class SelfTrainConfig:
    """The label-free topic head (``self_train`` stage): pseudo-labels from the zero-shot
    contrast, one logistic regression per label on frozen passage embeddings."""

    rounds: int  # 0 = no head: the topic stage scores zero-shot
    positive_fraction: float  # top share of the pool's passages taken as positives, per label
    negative_fraction: float  # bottom share taken as negatives
    C: float  # inverse L2 regularisation of the logistic regression
    max_iter: int
    seed: int
    # pseudo: label-free (the default). gold: few-shot, fitted on the dev gold's tune half
    # (evaluation.gold_path, evaluation.seed) and on the fine-tuned encoder's vectors when
    # `encoder` is on; its dev-gold scores are comparable on the test half only.
    labels_from: Literal["pseudo", "gold"] = "pseudo"
    # A pool under this many passages gets calibrated zero-shot instead of a head (too few
    # pseudo-positives per label to learn from). 0 = always fit a head.
    min_pool_passages: int = 200
    # Cap each label's positive_fraction at its zero-shot share of the pool (a rare new label
    # then gets fewer pseudo-positives); false = the fixed share for every label.
    cap_at_zero_shot_share: bool = True
    # Fine-tune the head's encoder too; null = no.
    encoder: EncoderTuningConfig | None = None

    @property
    def tunes_encoder(self) -> bool:
        """Whether the head's encoder is fine-tuned, always on the label-free head's pseudo-labels
        (the few-shot head, ``labels_from: gold``, is then fitted on the fine-tuned vectors)."""
        return self.encoder is not None and self.encoder.epochs > 0

    def validate(self, key: str) -> None:
        if self.encoder is not None:
            self.encoder.validate(f"{key}.encoder")
        if self.min_pool_passages < 0:
            raise ConfigError(f"{key}.min_pool_passages: must be >= 0")
        if not 0 <= self.rounds <= 5:
            raise ConfigError(f"{key}.rounds: must be in [0, 5]")
        if not 0 < self.positive_fraction < 1 or not 0 < self.negative_fraction < 1:
            raise ConfigError(f"{key}: positive_fraction and negative_fraction must be in (0, 1)")
        if self.positive_fraction + self.negative_fraction > 1:
            raise ConfigError(f"{key}: positive_fraction + negative_fraction must be <= 1")
        if self.C <= 0 or self.max_iter < 1:
            raise ConfigError(f"{key}: C must be > 0 and max_iter >= 1")


@dataclass(frozen=True)
class EvaluationConfig:
    gold_path: str
    bootstrap_samples: int
    confidence: float
    seed: int
    # Crowd stance gold: a sentence is favor/against when at least this many of its 5
    # votes share that sign. 2 is the corpus authors' "intensified" rule; 3 (a strict
    # majority) leaves 3 non-neutral sentences in 2,057, since most votes are 0.
    crowd_min_votes: int

    def validate(self, key: str) -> None:
        if self.bootstrap_samples < 0:
            raise ConfigError(f"{key}.bootstrap_samples: must be >= 0")
        if not 0.5 <= self.confidence < 1:
            raise ConfigError(f"{key}.confidence: must be in [0.5, 1)")
        if not 1 <= self.crowd_min_votes <= 5:
            raise ConfigError(f"{key}.crowd_min_votes: must be in [1, 5]")


@dataclass(frozen=True)
class EngineConfig:
    """How the topic and stance stages run: in this process, or on a Ray cluster.

    Outputs do not depend on the engine or the chunk size (a test compares them), so
    these settings are not stage params and changing them re-runs nothing.
    """

    name: Literal["local", "ray"]
    # Articles per chunk: stages stream parquet in chunks, so memory stays flat.
    chunk_size: int
    # Ray only: actors holding a model, their resources, and the cluster address (null =
    # start a local Ray instance; "auto" = an existing one, e.g. `ray start --head`).
    num_actors: int
    cpus_per_actor: float
    gpus_per_actor: float
    ray_address: str | None = None

    def validate(self, key: str) -> None:
        if self.chunk_size < 1:
            raise ConfigError(f"{key}.chunk_size: must be >= 1")
        if self.num_actors < 1:
            raise ConfigError(f"{key}.num_actors: must be >= 1")
        if self.cpus_per_actor <= 0 or self.gpus_per_actor < 0:
            raise ConfigError(f"{key}.cpus_per_actor/gpus_per_actor: must be positive / non-negative")


@dataclass(frozen=True)
class CacheConfig:
    """On-disk cache of pair scores keyed by (model fingerprint, passage, hypothesis).

    Lives outside DVC's outputs so experiments share it: changing a threshold or an
    aggregation rule re-uses every score, and new articles or labels cost only new pairs.
    """

    enabled: bool
    path: str

    SUFFIXES = (".sqlite", ".sqlite3", ".db")

    def validate(self, key: str) -> None:
        """The cache file must be creatable (an existing read-only one is served read-only) and
        look like a cache: a ``.sqlite`` / ``.db`` name, a regular file if it exists. A cache moves
        a damaged file aside and writes its own tables, so pointing it at the input or the gold
        (``cache.path=data/gold/gold.csv``) must fail here, not rename the user's file."""
        if not self.enabled:
            return
        path = Path(self.path).expanduser()
        if path.suffix.lower() not in self.SUFFIXES:
            raise ConfigError(f"{key}.path: {str(path)!r} is not a cache file name (it must end in "
                              f"{' / '.join(self.SUFFIXES)}); the cache would take over whatever file is there")
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):  # not there (yet): can it be created?
            st = None
        except OSError as exc:  # a symlink loop
            raise ConfigError(f"{key}.path: {path}: {exc.strerror or exc}") from None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                raise ConfigError(f"{key}.path: {path} is a folder, not a cache file")
            if not stat.S_ISREG(st.st_mode):  # a FIFO would block forever, /dev/null holds nothing
                raise ConfigError(f"{key}.path: {path} is not a regular file")
            return
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            raise ConfigError(f"{key}.path: cannot create {path}: {folder} is a file")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"{key}.path: cannot create {path}: {folder} is not writable "
                              "(use cache.path=... or cache.enabled=false)")


@dataclass(frozen=True)
class BenchmarkConfig:
    """A public benchmark run with the project's zero-shot setup (no training on it)."""

    name: Literal["agnews", "fnc1", "vast"]
    path: str
    sample_seed: int
    hypothesis_template: str
    # Which model scores it: the topic one (`model`), the stance stage's (`stance`), or the
    # benchmark's own (`own`: its `model` section, e.g. the trained stance cross-encoder
    # whatever the stance stage uses).
    scorer: Literal["model", "stance", "own"]
    # Subsample (seeded) for quick runs; null = the whole test set.
    max_items: int | None = None
    # Topic benchmarks (agnews) only: class -> descriptions (each becomes a hypothesis).
    labels: dict[str, list[str]] | None = None
    # Stance benchmarks (fnc1, vast) only: stance class -> templates with one {} for the claim,
    templates: dict[str, list[str]] | None = None
    # the relevance a text needs to be "related" to the claim,
    related_threshold: float | None = None
    # and the |pro - con| margin below which the prediction is neutral / discuss.
    neutral_margin: float | None = None
    # FNC-1 only: the model that decides related vs unrelated, when not `scorer` (e.g. the
    # topic encoder for relatedness, the trained stance model for agree/disagree/discuss);
    relevance_scorer: Literal["model", "stance", "own"] | None = None
    # and the share of agree + disagree below which a related pair is `discuss` (no position).
    position_threshold: float | None = None
    # Topic benchmarks with a bi-encoder only: label-free self-training, cross-fitted (fit on
    # one half's texts, no labels, score the other half). 0/null = plain zero-shot.
    self_train_rounds: int | None = None
    self_train_top_fraction: float | None = None  # per predicted class, the most confident share
    self_train_C: float | None = None
    # and then the encoder fine-tuned on the head's confident pseudo-labels (the pipeline's
    # self_train.encoder, single-label), cross-fitted the same way; null = the head alone.
    self_train_encoder: EncoderTuningConfig | None = None
    # The benchmark's own model (scorer / relevance_scorer `own`).
    model: ModelConfig | None = None

    STANCE_ONLY = ("templates", "related_threshold", "neutral_margin")

    def validate(self, key: str) -> None:
        if self.max_items is not None and self.max_items < 1:
            raise ConfigError(f"{key}.max_items: must be >= 1 or null")
        if "own" in (self.scorer, self.relevance_scorer) and self.model is None:
            raise ConfigError(f"{key}.model: scorer `own` needs the benchmark's own model section")
        if self.model is not None:
            self.model.validate(f"{key}.model")
        _check_template(self.hypothesis_template, f"{key}.hypothesis_template")
        if self.name == "agnews" and not self.labels:
            raise ConfigError(f"{key}.labels: agnews needs class descriptions")
        for name in self.STANCE_ONLY:
            if self.name in ("fnc1", "vast") and getattr(self, name) is None:
                raise ConfigError(f"{key}.{name}: required by the {self.name} benchmark")
        for cls, templates in (self.templates or {}).items():
            for j, t in enumerate(templates):
                _check_template(t, f"{key}.templates.{cls}[{j}]")
        if self.related_threshold is not None:
            _check_unit(self.related_threshold, f"{key}.related_threshold")
        if self.position_threshold is not None:
            _check_unit(self.position_threshold, f"{key}.position_threshold")
        for name in ("relevance_scorer", "position_threshold"):
            if getattr(self, name) is not None and self.name != "fnc1":
                raise ConfigError(f"{key}.{name}: only the fnc1 benchmark uses it")
        if self.self_train_rounds:
            if self.self_train_top_fraction is None or not 0 < self.self_train_top_fraction <= 1:
                raise ConfigError(f"{key}.self_train_top_fraction: must be in (0, 1] when self-training")
            if self.self_train_C is None or self.self_train_C <= 0:
                raise ConfigError(f"{key}.self_train_C: must be > 0 when self-training")
        if self.self_train_encoder is not None:
            self.self_train_encoder.validate(f"{key}.self_train_encoder")
            if self.name != "agnews" or not self.self_train_rounds:
                raise ConfigError(f"{key}.self_train_encoder: only agnews with self_train_rounds uses it")


@dataclass(frozen=True)
class NLITrainingConfig:
    """Fine-tuning the project's own NLI cross-encoder (the ``train_nli`` stage)."""

    base_model: str
    data_path: str
    rte_path: str
    output_dir: str
    # Training sources (exact `source` values); empty = every source not held out.
    train_sources: list[str]
    # Validation is by held-out source, never by random rows of a training source.
    holdout_sources: list[str]
    # Down-weight (0..1) the loss of synthetic sources; 0 drops them.
    synthetic_sources: list[str]
    synthetic_weight: float
    use_rte: bool
    max_train_pairs: int | None  # null: every pair
    seed: int
    epochs: float
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    lr_schedule: Literal["linear", "cosine", "constant"]
    label_smoothing: float
    max_length: int
    eval_batch_size: int
    device: str
    num_threads: int | None  # null: torch's default

    def validate(self, key: str) -> None:
        if self.epochs <= 0:
            raise ConfigError(f"{key}.epochs: must be positive")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ConfigError(f"{key}.batch_size: must be >= 1")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"{key}.learning_rate: must be in (0, 1)")
        _check_unit(self.warmup_ratio, f"{key}.warmup_ratio")
        _check_unit(self.label_smoothing, f"{key}.label_smoothing")
        _check_unit(self.synthetic_weight, f"{key}.synthetic_weight")
        if not self.holdout_sources:
            raise ConfigError(f"{key}.holdout_sources: at least one held-out source")
        overlap = sorted(set(self.holdout_sources) & set(self.train_sources))
        if overlap:
            raise ConfigError(f"{key}.holdout_sources: {overlap} are also training sources")
        if not 16 <= self.max_length <= 512:
            raise ConfigError(f"{key}.max_length: must be in [16, 512]")


@dataclass(frozen=True)
class StanceTrainingConfig:
    """Fine-tuning the stance cross-encoder on VAST train (the ``train_stance`` stage)."""

    # An NLI cross-encoder (entailment/contradiction/neutral -> favor/against/neutral) or a
    # model whose labels already are favor/against/neutral; anything else is refused.
    base_model: str
    data_path: str
    output_dir: str
    # Validation holds out whole topics (never rows of a training topic), chosen with seed.
    holdout_topic_fraction: float
    max_train_items: int | None  # null: every training item
    max_eval_items: int | None  # null: every held-out item
    seed: int
    epochs: float
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    lr_schedule: Literal["linear", "cosine", "constant"]
    label_smoothing: float
    max_length: int
    eval_batch_size: int
    # null: bf16 autocast where the CPU/GPU has native bf16; true / false force it.
    bf16: bool | None
    freeze_word_embeddings: bool
    device: str
    num_threads: int | None
    # true: the base is a bare encoder (e.g. a sentence-transformers folder) and gets a new,
    # seeded 3-way head; false: the base's own head is mapped (NLI or stance labels).
    new_head: bool = False

    def validate(self, key: str) -> None:
        if self.epochs <= 0:
            raise ConfigError(f"{key}.epochs: must be positive")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ConfigError(f"{key}.batch_size: must be >= 1")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"{key}.learning_rate: must be in (0, 1)")
        _check_unit(self.warmup_ratio, f"{key}.warmup_ratio")
        _check_unit(self.label_smoothing, f"{key}.label_smoothing")
        if not 0 < self.holdout_topic_fraction < 1:
            raise ConfigError(f"{key}.holdout_topic_fraction: must be in (0, 1)")
        if not 16 <= self.max_length <= 512:
            raise ConfigError(f"{key}.max_length: must be in [16, 512]")


@dataclass(frozen=True)
class Config:
    """The whole composition (``params.yaml``): one section per Hydra group of ``conf/``."""

    corpus: CorpusConfig
    cleaning: CleaningConfig
    taxonomy: TaxonomyConfig
    stance: StanceConfig
    model: ModelConfig
    passages: PassageConfig
    topic: TopicConfig
    self_train: SelfTrainConfig
    evaluation: EvaluationConfig
    nli_training: NLITrainingConfig
    cache: CacheConfig
    engine: EngineConfig
    # The public benchmarks by name (conf/config.yaml places each `benchmark/` option here).
    benchmarks: dict[str, BenchmarkConfig]
    stance_training: StanceTrainingConfig | None = None  # only the train_stance stage reads it

    def __post_init__(self) -> None:
        labels = {lab.name for lab in self.taxonomy.labels}
        unknown = sorted(set(self.stance.restrict_to_topics) - labels)
        if unknown:
            raise ConfigError(f"stance.restrict_to_topics: {unknown} are not labels of taxonomy {self.taxonomy.name!r}")

    @property
    def uses_topic_head(self) -> bool:
        """The self-trained head is fitted on the embedding backend's vectors: with another
        backend (model=nli) topics stay zero-shot whatever ``self_train.rounds`` says."""
        return self.self_train.rounds > 0 and self.model.backend == "embedding"

    def stance_model(self) -> ModelConfig:
        return self.stance.model if self.stance.model is not None else self.model


def _check_unit(value: float, key: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{key}: must be in [0, 1], got {value}")


def _check_template(template: str, key: str) -> None:
    """Exactly one bare ``{}`` and no other replacement field: ``"About {}. {x}"`` or ``"{:{}}"``
    would pass a count of ``{}`` and fail only after the model has loaded."""
    import string

    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:
        raise ConfigError(f"{key}: not a valid template ({exc}): {template!r}") from None
    if fields != [("", "", None)]:
        raise ConfigError(f"{key}: must contain exactly one '{{}}' placeholder and no other field, got {template!r}")
