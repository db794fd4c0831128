"""Cross-encoder NLI backend: the method of transformers' zero-shot-classification pipeline, fast.

Each (passage, hypothesis) pair is one forward pass; the score is the softmax of the
entailment logit against the contradiction logit (the pipeline's ``multi_label=True``
rule), or, for 2-way models (entailment / not_entailment), the softmax over both. A
model whose config names no entailment label is refused at start-up: transformers only
warns and then scores with an arbitrary logit.

``FastNLIScorer`` is what ``build_scorer`` gives for ``backend: nli``. Against the plain
reference implementation (tokenise every pair per batch; ``tests/scorers/reference_nli.py``,
which the tests compare it with):

* each distinct premise and hypothesis is tokenised once (not once per pair), and pair
  inputs are assembled by concatenating token ids with the tokenizer's own pair
  template (``[CLS] p [SEP] h [SEP]`` and its token_type_ids for BERT), which is
  learned from the tokenizer and checked against it at start-up; a tokenizer whose
  template cannot be reproduced falls back to tokenising each batch of pairs;
* identical (premise, hypothesis) pairs are run once;
* batches are the reference's (same length sort, same padding to the longest in the
  batch), so torch fp32 logits are bit-identical to it.

``model.runtime: onnx`` runs the same batches through ONNX Runtime (scorers/onnx_runtime.py):
fp32 scores equal torch's to ~1e-6. ``model.precision: int8`` (dynamic int8 quantisation,
torch or ONNX Runtime) and ``bf16`` (torch CPU autocast) are measured options that move
scores (see perf/README.md). Every non-default mode gets its own fingerprint, so a
score cache never mixes its scores with another mode's.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from zeroshot_news.config import ConfigError, ModelConfig
from zeroshot_news.scorers.base import TokenizerMixin, length_sorted_batches, loading, model_fingerprint, resolve_model

log = logging.getLogger(__name__)


def entailment_ids(label2id: dict[str, int], key: str = "model.name_or_path") -> tuple[int, int | None]:
    """(entailment id, contradiction id or None) from a model config's ``label2id``."""
    by_name = {name.lower(): idx for name, idx in label2id.items()}
    entail = next((i for n, i in by_name.items() if n.startswith("entail")), None)
    if entail is None:
        raise ConfigError(
            f"{key}: the model's config has no entailment label (labels: {sorted(label2id)}); "
            "an NLI backend needs id2label/label2id naming 'entailment'"
        )
    contra = next((i for n, i in by_name.items() if n.startswith("contradict")), None)
    return int(entail), None if contra is None else int(contra)


@dataclass(frozen=True)
class PairTemplate:
    """Special tokens around a pair, and the token type of each part."""

    prefix: tuple[int, ...]
    middle: tuple[int, ...]
    suffix: tuple[int, ...]
    types: tuple[int, int, int, int, int]  # prefix, first, middle, second, suffix
    has_types: bool

    def build(self, a: Sequence[int], b: Sequence[int]) -> tuple[list[int], list[int]]:
        ids = [*self.prefix, *a, *self.middle, *b, *self.suffix]
        t = self.types
        types = ([t[0]] * len(self.prefix) + [t[1]] * len(a) + [t[2]] * len(self.middle)
                 + [t[3]] * len(b) + [t[4]] * len(self.suffix))
        return ids, types


def _uniform(values: Sequence[int]) -> int | None:
    return values[0] if values and all(v == values[0] for v in values) else (0 if not values else None)


def learn_pair_template(tokenizer, probes: Sequence[tuple[str, str]] | None = None) -> PairTemplate | None:
    """The tokenizer's pair layout, or None when concatenation cannot reproduce it exactly."""
    probes = list(probes or [("The talks began in Geneva.", "This text is about diplomacy."),
                             ("a", "b c d"), ("Élan, 42 — x!", "Troops.")])
    a_ids = tokenizer(probes[0][0], add_special_tokens=False)["input_ids"]
    b_ids = tokenizer(probes[0][1], add_special_tokens=False)["input_ids"]
    enc = tokenizer(probes[0][0], probes[0][1], return_token_type_ids=True)
    ids, types = list(enc["input_ids"]), list(enc.get("token_type_ids") or [0] * len(enc["input_ids"]))
    # Locate a, then b after it.
    start_a = next((i for i in range(len(ids)) if ids[i:i + len(a_ids)] == a_ids), None)
    if start_a is None:
        return None
    end_a = start_a + len(a_ids)
    start_b = next((i for i in range(end_a, len(ids)) if ids[i:i + len(b_ids)] == b_ids), None)
    if start_b is None:
        return None
    end_b = start_b + len(b_ids)
    parts = [(0, start_a), (start_a, end_a), (end_a, start_b), (start_b, end_b), (end_b, len(ids))]
    part_types = [_uniform(types[s:e]) for s, e in parts]
    if any(t is None for t in part_types):
        return None
    template = PairTemplate(tuple(ids[:start_a]), tuple(ids[end_a:start_b]), tuple(ids[end_b:]),
                            tuple(int(t) for t in part_types), "token_type_ids" in enc)  # type: ignore[arg-type]
    for a, b in probes:
        want = tokenizer(a, b, return_token_type_ids=True)
        got_ids, got_types = template.build(tokenizer(a, add_special_tokens=False)["input_ids"],
                                            tokenizer(b, add_special_tokens=False)["input_ids"])
        if got_ids != list(want["input_ids"]):
            return None
        if template.has_types and got_types != list(want["token_type_ids"]):
            return None
    return template


class FastNLIScorer(TokenizerMixin):
    """The ``nli`` backend's :class:`~.base.PairScorer` (``cfg`` validated: runtime and precision set)."""

    bi_encoder = False
    RULE = "nli-entail-vs-contra"  # the scoring rule, part of the cache fingerprint

    def _read_labels(self, label2id: dict[str, int]) -> None:
        """The head ids the rule needs; refuses a model without them (subclasses: other rules)."""
        self.entail_id, self.contra_id = entailment_ids(label2id)

    def __init__(self, cfg: ModelConfig, progress: bool = True, threads: int | None = None):
        from transformers import AutoConfig, AutoModelForSequenceClassification

        # The label check comes first: a model without an entailment label fails in
        # well under a second, before its weights are read.
        resolved = resolve_model(cfg.name_or_path)
        with loading(resolved):
            config = AutoConfig.from_pretrained(resolved.path, local_files_only=resolved.local,
                                                trust_remote_code=False)
        self._read_labels(dict(config.label2id))
        self._load(cfg, AutoModelForSequenceClassification, progress)
        self.fingerprint = model_fingerprint(cfg, resolved, self.RULE)
        # What a report names: weights + scoring rule + precision, not the runtime's export
        # bytes (an export differs by machine; the cache key below includes it, a report must not).
        self.model_id = hashlib.sha256(f"{self.fingerprint}|{cfg.precision}".encode()).hexdigest()[:16]
        # The weights alone (not max_length or the scoring rule): names exported graphs.
        self.weights_fingerprint = model_fingerprint(replace(cfg, max_length=0), resolved, "weights")
        torch = self._torch
        if threads:
            torch.set_num_threads(int(threads))
        self.precision = cfg.precision
        self.template = learn_pair_template(self.tokenizer)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.onnx = None
        mode = self.precision
        self.runtime = cfg.runtime if cfg.runtime != "auto" else ("onnx" if self.device == "cpu" else "torch")
        if self.runtime == "onnx":
            from zeroshot_news.scorers.onnx_runtime import OnnxLogits, export_digest, exported_graph

            if self.template is None:
                raise ConfigError("model.runtime=onnx: this tokenizer's pair layout cannot be rebuilt from "
                                  "token ids; use model.runtime=torch")
            if self.device != "cpu":
                log.warning("model.runtime=onnx runs on the CPU although %s is available", self.device)
                self.device = "cpu"
            names = ["input_ids", "attention_mask"] + (["token_type_ids"] if self.template.has_types else [])
            model = self.model
            folder = exported_graph(lambda: model, cfg.export_dir, self.weights_fingerprint, self.precision, names)
            self.onnx = OnnxLogits(folder, names, threads or torch.get_num_threads())
            self.model = self.model.to("meta")  # free the torch weights; the config stays
            # What computed the score: weights + runtime + the verified export itself.
            mode = f"onnx-{self.precision}-{export_digest(folder)}"
        elif self.precision == "int8":
            self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        if mode != "fp32":
            self.fingerprint = hashlib.sha256(f"{self.fingerprint}|{mode}".encode()).hexdigest()[:16]

    def passage_budget(self, hypotheses: Sequence[str]) -> int:
        longest = max(self.count_tokens(hypotheses)) if hypotheses else 0
        return self.max_length - longest - self.tokenizer.num_special_tokens_to_add(pair=True)

    def score(self, passages: Sequence[str], hypotheses: Sequence[str], truncate: bool = False) -> np.ndarray:
        premises = [p for p in passages for _ in hypotheses]
        hyps = [h for _ in passages for h in hypotheses]
        logits = self.logits(premises, hyps, truncate=truncate).astype(np.float64)
        pair = logits[:, [self.contra_id, self.entail_id]] if self.contra_id is not None else logits
        pair = pair - pair.max(axis=1, keepdims=True)
        probs = np.exp(pair) / np.exp(pair).sum(axis=1, keepdims=True)
        entail_col = 1 if self.contra_id is not None else self.entail_id
        return probs[:, entail_col].reshape(len(passages), len(hypotheses))

    def _ids(self, texts: list[str]) -> dict[str, list[int]]:
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return dict(zip(texts, enc, strict=True))

    def logits(self, premises: Sequence[str], hypotheses: Sequence[str], desc: str = "nli",
               truncate: bool = False) -> np.ndarray:
        """Raw logits for aligned (premise, hypothesis) pairs, [n_pairs, n_labels].

        ``truncate``: a pair longer than max_length loses the end of its premise (the
        pipeline's truncation="only_first") instead of raising."""
        if self.template is None:
            return self._logits_tokenizing_pairs(premises, hypotheses, desc, truncate)
        torch = self._torch
        n_labels = self.model.config.num_labels
        if len(premises) == 0:
            return np.zeros((0, n_labels), dtype=np.float32)
        # Each distinct pair once; each distinct text tokenised once.
        pair_index: dict[tuple[str, str], int] = {}
        inverse = np.fromiter((pair_index.setdefault(pair, len(pair_index))
                               for pair in zip(premises, hypotheses, strict=True)),
                              dtype=np.intp, count=len(premises))
        pairs = list(pair_index)
        p_ids = self._ids(sorted({p for p, _ in pairs}))
        h_ids = self._ids(sorted({h for _, h in pairs}))
        specials = len(self.template.prefix) + len(self.template.middle) + len(self.template.suffix)
        if truncate:  # the pipeline's truncation="only_first": the premise loses its end
            room = {h: self.max_length - specials - len(ids) for h, ids in h_ids.items()}
            if min(room.values()) < 1:
                raise ValueError(f"a hypothesis leaves no room for a premise in max_length={self.max_length}")
            premise_ids = [p_ids[p][: room[h]] for p, h in pairs]
        else:
            premise_ids = [p_ids[p] for p, _ in pairs]
        lengths = [len(a) + len(h_ids[h]) for a, (_, h) in zip(premise_ids, pairs, strict=True)]
        longest = max(lengths) + specials
        if longest > self.max_length:
            raise ValueError(f"pair of {longest} tokens exceeds max_length={self.max_length}; "
                             "split passages with this scorer's split() first")
        out = np.zeros((len(pairs), n_labels), dtype=np.float32)
        batches = list(length_sorted_batches(lengths, self.cfg.batch_size, self.cfg.max_batch_tokens))
        cuda = self.device.startswith("cuda")
        bf16_cpu = self.precision == "bf16" and not cuda
        with torch.inference_mode():
            for idx in tqdm(batches, desc=desc, unit="batch", disable=not self.progress or len(batches) < 2):
                width = max(lengths[i] for i in idx) + specials
                ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
                types = np.zeros((len(idx), width), dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=np.int64)
                for row, i in enumerate(idx):
                    a, t = self.template.build(premise_ids[i], h_ids[pairs[i][1]])
                    ids[row, : len(a)] = a
                    types[row, : len(t)] = t
                    mask[row, : len(a)] = 1
                if self.onnx is not None:
                    out[idx] = self.onnx(ids, mask, types) if self.template.has_types else self.onnx(ids, mask)
                    continue
                inputs = {"input_ids": torch.from_numpy(ids).to(self.device),
                          "attention_mask": torch.from_numpy(mask).to(self.device)}
                if self.template.has_types:
                    inputs["token_type_ids"] = torch.from_numpy(types).to(self.device)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda), \
                        torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16_cpu):
                    logits = self.model(**inputs).logits
                out[idx] = logits.float().cpu().numpy()
        return out[inverse]

    def _logits_tokenizing_pairs(self, premises: Sequence[str], hypotheses: Sequence[str], desc: str = "nli",
               truncate: bool = False) -> np.ndarray:
        """The fallback for a tokenizer whose pair template cannot be rebuilt: each batch of
        pairs goes through the tokenizer (the reference implementation's path)."""
        torch = self._torch
        n = len(premises)
        out = np.zeros((n, self.model.config.num_labels), dtype=np.float32)
        if n == 0:
            return out
        p_len = dict(zip(sorted(set(premises)), self.count_tokens(sorted(set(premises))), strict=True))
        h_len = dict(zip(sorted(set(hypotheses)), self.count_tokens(sorted(set(hypotheses))), strict=True))
        lengths = [p_len[p] + h_len[h] for p, h in zip(premises, hypotheses, strict=True)]
        if truncate:  # sort by the length the pair will have
            lengths = [min(n, self.max_length) for n in lengths]
        batches = list(length_sorted_batches(lengths, self.cfg.batch_size, self.cfg.max_batch_tokens))
        autocast = self.device.startswith("cuda")
        with torch.inference_mode():
            for idx in tqdm(batches, desc=desc, unit="batch", disable=not self.progress or len(batches) < 2):
                enc = self.tokenizer([premises[i] for i in idx], [hypotheses[i] for i in idx], padding=True,
                                     truncation="only_first" if truncate else False,
                                     max_length=self.max_length if truncate else None,
                                     return_tensors="pt").to(self.device)
                if enc["input_ids"].shape[1] > self.max_length:
                    raise ValueError(
                        f"pair of {enc['input_ids'].shape[1]} tokens exceeds max_length={self.max_length}; "
                        "split passages with this scorer's split() first"
                    )
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                    logits = self.model(**enc).logits
                out[idx] = logits.float().cpu().numpy()
        return out
