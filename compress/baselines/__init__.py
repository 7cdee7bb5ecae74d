"""Baselines the results page measures against, written here from their papers' descriptions.

* :mod:`compress.baselines.deep_compression`: magnitude pruning, k-means weight sharing and Huffman
  coding of the shared-value indices and of the gaps between kept weights (Han et al., 2016), without
  retraining, with its exact size in bits.
"""
