"""Built-in recipes of ``dualsparse compress --recipe NAME`` (TOML files; see :mod:`compress.pipeline.recipe_file`)."""
