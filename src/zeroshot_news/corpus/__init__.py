"""News texts before any model: readers of every source format (``ingest``), cleaning,
sentence passages, the gold sets and seeded sampling."""
