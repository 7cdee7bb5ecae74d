"""Joint spatial/Winograd sparse fine-tuning pipeline (the paper's stages 1-3, as a library).

Stages: partial L2 regularizers in both domains with learnable coefficients
(:mod:`~compress.pipeline.regularizers`, :mod:`~compress.pipeline.coefficients`), regularized
fine-tuning (:func:`~compress.pipeline.finetune.finetune`), dithered quantization
(:func:`~compress.pipeline.quantization.quantize_weights`) and codebook fine-tuning
(:func:`~compress.pipeline.codebook.tune_codebooks`), the artifact
(:func:`~compress.pipeline.artifact.write_artifact`) and deployment checks in either domain
(:mod:`~compress.pipeline.deploy_eval`).
"""
