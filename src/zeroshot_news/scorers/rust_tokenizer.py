"""A tokenizer straight from ``tokenizer.json`` (the `tokenizers` library), without transformers.

Why: importing transformers' tokenizer and model stack costs ~2-3 s per process, more
than scoring 200 short texts. With ONNX Runtime running the encoder, the embedding
backend needs only ids, offsets and padded batches; this class gives exactly the subset of
transformers' fast-tokenizer call that the scorers use (``tests/scorers`` checks every
output against ``AutoTokenizer`` on the same folder). A ``transformers`` fast tokenizer
is itself this ``tokenizer.json`` run by the same Rust library.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# transformers' value for "no limit" (tokenization_utils_base.VERY_LARGE_INTEGER).
VERY_LARGE_INTEGER = int(1e30)


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "[PAD]", ...} in newer tokenizer_config files
        return value.get("content")
    return value


class RustTokenizer:
    """transformers-compatible subset over ``tokenizers.Tokenizer``: ``__call__`` for one text or
    a list (ids, attention mask, token types, offsets; padding to the longest and truncation
    to ``max_length`` with numpy tensors), ``num_special_tokens_to_add``, ``model_max_length``,
    ``pad_token_id``."""

    @staticmethod
    def available(folder: Path | str) -> bool:
        return (Path(folder) / "tokenizer.json").is_file()

    def __init__(self, folder: Path | str):
        from tokenizers import Tokenizer

        folder = Path(folder)
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        self.model_max_length = int(config.get("model_max_length") or VERY_LARGE_INTEGER)
        pad = _token_text(config.get("pad_token"))
        self.pad_token_id = self._tok.token_to_id(pad) if pad else None
        self._special = {pair: len(self._tok.encode("", "" if pair else None, add_special_tokens=True).ids)
                         - len(self._tok.encode("", "" if pair else None, add_special_tokens=False).ids)
                         for pair in (False, True)}

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self._special[pair]

    def __call__(self, text: str | Sequence[str], add_special_tokens: bool = True, truncation: bool = False,
                 max_length: int | None = None, padding: bool = False, return_offsets_mapping: bool = False,
                 return_tensors: str | None = None) -> dict[str, Any]:
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        encodings = self._tok.encode_batch(texts, add_special_tokens=add_special_tokens)
        if truncation and max_length is not None and any(len(e.ids) > max_length for e in encodings):
            # Re-encode the long ones with the library's own truncation (special tokens kept).
            self._tok.enable_truncation(max_length=max_length)
            try:
                encodings = [self._tok.encode(t, add_special_tokens=add_special_tokens)
                             if len(e.ids) > max_length else e for t, e in zip(texts, encodings, strict=True)]
            finally:
                self._tok.no_truncation()
        out: dict[str, Any] = {
            "input_ids": [list(e.ids) for e in encodings],
            "token_type_ids": [list(e.type_ids) for e in encodings],
            "attention_mask": [list(e.attention_mask) for e in encodings],
        }
        if return_offsets_mapping:
            out["offset_mapping"] = [[tuple(o) for o in e.offsets] for e in encodings]
        if padding:
            if self.pad_token_id is None:
                raise ValueError("padding needs a pad token (tokenizer_config.json has none)")
            width = max((len(ids) for ids in out["input_ids"]), default=0)
            fill = {"input_ids": self.pad_token_id, "token_type_ids": 0, "attention_mask": 0}
            for key, value in fill.items():
                out[key] = [row + [value] * (width - len(row)) for row in out[key]]
        if return_tensors == "np":
            return {k: np.asarray(v, dtype=np.int64) for k, v in out.items() if k != "offset_mapping"}
        if return_tensors is not None:
            raise ValueError(f"RustTokenizer returns numpy tensors only, not {return_tensors!r}")
        if single:
            out = {k: v[0] for k, v in out.items()}
        return out


__all__ = ["RustTokenizer"]
