"""The method: passages -> pair scores -> article scores (``scoring``), the topic and stance
decisions, and the label-free topic head with its self-training."""
