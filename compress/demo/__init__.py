"""The ``dualsparse demo`` job: an embedded real dataset, a model trained on it, and the full pipeline."""
