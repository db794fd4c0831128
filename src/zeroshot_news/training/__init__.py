"""Fine-tuning the project's cross-encoders: one training loop (``loop``) shared by the NLI
model (``nli``) and the stance model (``stance``)."""
