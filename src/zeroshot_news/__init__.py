"""zeroshot-news: zero-shot topic and stance classification of security news."""

__version__ = "0.1.0"
