"""The reference NLI scorer: the plain, obviously-correct version of the ``nli`` backend.

It tokenises every (premise, hypothesis) pair per batch, exactly as transformers'
zero-shot pipeline does, and scores softmax(entailment vs contradiction). No backend
builds it: it is the executable specification that the tests (and ``perf/throughput.py``'s
``b_ref`` baseline) hold :class:`zeroshot_news.scorers.fast_nli.FastNLIScorer` to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from tqdm import tqdm

from zeroshot_news.config import ModelConfig
from zeroshot_news.scorers.base import TokenizerMixin, length_sorted_batches, loading, model_fingerprint, resolve_model
from zeroshot_news.scorers.fast_nli import entailment_ids


class NLIScorer(TokenizerMixin):
    bi_encoder = False

    def __init__(self, cfg: ModelConfig, progress: bool = True):
        from transformers import AutoConfig, AutoModelForSequenceClassification

        # The label check comes first: a model without an entailment label fails in
        # well under a second, before its weights are read.
        resolved = resolve_model(cfg.name_or_path)
        with loading(resolved):
            config = AutoConfig.from_pretrained(resolved.path, local_files_only=resolved.local,
                                                trust_remote_code=False)
        self.entail_id, self.contra_id = entailment_ids(dict(config.label2id))
        self._load(cfg, AutoModelForSequenceClassification, progress)
        self.fingerprint = model_fingerprint(cfg, resolved, "nli-entail-vs-contra")
        # The weights alone (not max_length or the scoring rule): names exported graphs.
        self.weights_fingerprint = model_fingerprint(replace(cfg, max_length=0), resolved, "weights")

    def passage_budget(self, hypotheses: Sequence[str]) -> int:
        longest = max(self.count_tokens(hypotheses)) if hypotheses else 0
        return self.max_length - longest - self.tokenizer.num_special_tokens_to_add(pair=True)

    def logits(self, premises: Sequence[str], hypotheses: Sequence[str], desc: str = "nli",
               truncate: bool = False) -> np.ndarray:
        """Raw logits for aligned (premise, hypothesis) pairs, [n_pairs, n_labels].

        ``truncate``: a pair longer than max_length loses the end of its premise (the
        pipeline's truncation="only_first") instead of raising."""
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

    def score(self, passages: Sequence[str], hypotheses: Sequence[str], truncate: bool = False) -> np.ndarray:
        premises = [p for p in passages for _ in hypotheses]
        hyps = [h for _ in passages for h in hypotheses]
        logits = self.logits(premises, hyps, truncate=truncate).astype(np.float64)
        pair = logits[:, [self.contra_id, self.entail_id]] if self.contra_id is not None else logits
        pair = pair - pair.max(axis=1, keepdims=True)
        probs = np.exp(pair) / np.exp(pair).sum(axis=1, keepdims=True)
        entail_col = 1 if self.contra_id is not None else self.entail_id
        return probs[:, entail_col].reshape(len(passages), len(hypotheses))
