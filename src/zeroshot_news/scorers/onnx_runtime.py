"""ONNX Runtime execution of a sequence-classification model (the NLI backend's ``runtime: onnx``).

Why: on CPU, ONNX Runtime's fused kernels run the same fp32 graph ~1.3-1.4x faster than
eager PyTorch with scores equal to ~1e-6 (perf/README.md). ``precision: int8`` adds
ONNX Runtime's dynamic per-channel int8 quantisation: faster again, but it moves scores,
so it is opt-in and has its own fingerprint.

The graph is exported once from the loaded safetensors weights (torch.onnx, dynamo
exporter; batch and sequence length dynamic) and kept under ``model.export_dir``, named by
the weights' fingerprint, so every experiment and every Ray actor re-uses it. Export goes
to a temporary folder renamed into place: an interrupted export leaves nothing
half-written behind, and two processes exporting at once both end with a valid graph.
An ONNX file is a protobuf graph and weights, not code: loading it executes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from zeroshot_news.config import ConfigError

log = logging.getLogger(__name__)

GRAPH = "model.onnx"


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"model.runtime=onnx needs the {module!r} package (pip install onnxruntime onnx "
                          f"onnxscript), or set model.runtime=torch: {exc}") from exc


def _export(model, folder: Path, input_names: list[str], output: str = "logits") -> None:
    """torch model -> folder/model.onnx (+ external weights), dynamic batch and length; the
    graph's one output is the model output's ``output`` field (logits, last_hidden_state)."""
    import torch

    _require("onnxscript")

    class Logits(torch.nn.Module):
        """Named tensor inputs, one output: the graph's signature is the runner's."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return getattr(self.inner(input_ids=input_ids, attention_mask=attention_mask, **extra), output)

    positions = int(getattr(model.config, "max_position_embeddings", 512))
    batch = torch.export.Dim("batch", min=1, max=4096)
    length = torch.export.Dim("length", min=2, max=max(positions, 3))
    # Example sizes above 1 so the exporter does not specialise a dimension to a constant.
    example = {name: torch.ones((2, 8), dtype=torch.long) for name in input_names}
    chatter = io.StringIO()
    # The exporter prints progress and warns about axis names; neither is actionable here.
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(chatter):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(Logits(model.float().cpu().eval()), (), kwargs=example, dynamo=True,
                                    input_names=input_names, output_names=[output],
                                    dynamic_shapes={name: {0: batch, 1: length} for name in input_names},
                                    external_data=True, verbose=False)
        program.save(str(folder / GRAPH), external_data=True)
    log.debug("torch.onnx export: %s", chatter.getvalue())


class _DropPreprocessAdvice(logging.Filter):
    """onnxruntime's quantiser advises (on the root logger) a shape-inference pre-pass that
    matters for static quantisation of vision models, not for dynamic int8 of a transformer."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _quantize(src: Path, dst: Path) -> None:
    quantization = _require("onnxruntime.quantization")
    advice = _DropPreprocessAdvice()
    logging.getLogger().addFilter(advice)
    try:
        quantization.quantize_dynamic(str(src / GRAPH), str(dst / GRAPH), weight_type=quantization.QuantType.QInt8,
                                      per_channel=True, use_external_data_format=True)
    finally:
        logging.getLogger().removeFilter(advice)


MANIFEST = "MANIFEST.json"
_VERIFIED: dict[Path, str] = {}  # folder -> manifest digest, checked once per process


def _file_digests(folder: Path) -> dict[str, list]:
    """[size, sha256] of every file of an export, the manifest excepted."""
    out = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.name != MANIFEST:
            h = hashlib.sha256()
            with f.open("rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(chunk)
            out[f.name] = [f.stat().st_size, h.hexdigest()]
    return out


def _write_manifest(folder: Path) -> None:
    (folder / MANIFEST).write_text(json.dumps(_file_digests(folder), indent=1, sort_keys=True), encoding="utf-8")


def export_digest(folder: Path) -> str:
    """The verified identity of an export (its manifest's hash): part of the score-cache key,
    so scores from a damaged or different export are never served as this one's."""
    folder = Path(folder)
    if folder not in _VERIFIED:
        manifest = folder / MANIFEST
        try:
            recorded = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DamagedExport(f"{folder}: no readable {MANIFEST} ({exc})") from exc
        actual = _file_digests(folder)
        if recorded != actual:
            changed = sorted(k for k in set(recorded) | set(actual) if recorded.get(k) != actual.get(k))
            raise DamagedExport(f"{folder}: files differ from the export's {MANIFEST}: {changed}")
        _VERIFIED[folder] = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
    return _VERIFIED[folder]


class DamagedExport(RuntimeError):
    """An export folder whose files are not what the export wrote."""


def _usable(final: Path) -> bool:
    """An existing, verified export; a damaged one is moved aside (to be rebuilt), with a warning."""
    if not (final / GRAPH).exists():
        return False
    try:
        export_digest(final)
        return True
    except DamagedExport as exc:
        aside = final.with_name(f".{final.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
        log.warning("ONNX export is damaged, moving it to %s and exporting again: %s", aside.name, exc)
        with contextlib.suppress(OSError):
            os.rename(final, aside)
        return False


def _build_atomically(final: Path, build) -> Path:
    if _usable(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the graph from other users of a shared cache
    try:
        build(tmp)
        _write_manifest(tmp)
        try:
            os.rename(tmp, final)  # atomic; fails if another process got there first
        except OSError:
            if not (final / GRAPH).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def exported_graph(load_model: Callable[[], Any], export_dir: str, fingerprint: str, precision: str,
                   input_names: list[str], output: str = "logits") -> Path:
    """The ONNX folder for these weights and precision, exporting (and quantising) on first use.
    ``load_model`` returns the torch model; it is called only when an export must be made."""
    root = Path(export_dir)
    fp32 = _build_atomically(root / f"{fingerprint}-fp32", lambda d: _export(load_model(), d, input_names, output))
    if precision == "fp32":
        return fp32
    return _build_atomically(root / f"{fingerprint}-{precision}", lambda d: _quantize(fp32, d))


class OnnxLogits:
    """Callable: numpy int64 inputs (in ``input_names`` order) -> the graph's float32 output."""

    def __init__(self, folder: Path, input_names: list[str], threads: int | None = None):
        ort = _require("onnxruntime")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Same thread count as torch's (== cores by default), one graph at a time.
        options.intra_op_num_threads = int(threads or 0)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"])
        self.input_names = input_names

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        feed = dict(zip(self.input_names, arrays, strict=True))
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
