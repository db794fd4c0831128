"""Pair scorers behind one contract (:class:`~zeroshot_news.scorers.base.PairScorer`).

Backends: ``embedding`` (bi-encoder), ``nli`` (``fast_nli``, ONNX Runtime or torch) and the
trained ``stance`` cross-encoder (``stance_ce``); model files are found and checked by
``loading`` and ``safety``; ``store`` keeps scores on disk and ``cached`` is the PairScorer
that consults it; ``build`` is the one constructor. This file imports nothing, so a module
that needs only ``loading`` (the training stages) does not depend on every backend.
"""
