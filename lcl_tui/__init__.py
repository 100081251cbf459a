"""lcl-tui: fine-grained text classification with label-aware contrastive fine-tuning."""

__version__ = "0.1.0"
