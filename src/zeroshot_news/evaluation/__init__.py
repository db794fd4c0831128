"""Predictions against gold: metrics with confidence intervals, the dev / stance / crowd
golds (``evaluate``) and the public benchmarks (``benchmarks``)."""
