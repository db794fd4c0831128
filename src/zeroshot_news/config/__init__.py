"""Typed configuration: the schema (:mod:`.schema`) and how it is loaded (:mod:`.load`)."""

from .load import (
    DEFAULT_CONFIG_DIR,
    DEFAULT_PARAMS,
    add_config_args,
    compose_config,
    config_data_from_args,
    config_from_args,
    dump_params,
    for_workers,
    load_config,
    load_params,
    parse_config,
    parse_section,
)
from .schema import (
    BenchmarkConfig,
    CacheConfig,
    CleaningConfig,
    ColumnMapping,
    Config,
    ConfigError,
    CorpusConfig,
    EngineConfig,
    EvaluationConfig,
    ModelConfig,
    NearDuplicateConfig,
    NLITrainingConfig,
    PassageConfig,
    PatternRule,
    SourceConfig,
    StanceConfig,
    StanceTarget,
    TaxonomyConfig,
    TopicConfig,
    TopicLabel,
)

__all__ = [
    "DEFAULT_CONFIG_DIR", "DEFAULT_PARAMS", "BenchmarkConfig", "CacheConfig", "CleaningConfig", "ColumnMapping",
    "Config", "ConfigError", "CorpusConfig", "EngineConfig", "EvaluationConfig", "ModelConfig", "NLITrainingConfig",
    "NearDuplicateConfig", "PassageConfig", "PatternRule", "SourceConfig", "StanceConfig", "StanceTarget",
    "TaxonomyConfig", "TopicConfig", "TopicLabel", "add_config_args", "compose_config", "config_data_from_args",
    "config_from_args", "dump_params", "for_workers", "load_config", "load_params", "parse_config", "parse_section",
]
