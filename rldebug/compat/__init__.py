"""2021-era RLlib code on RLlib 2.60.

- :mod:`rldebug.compat.legacy` — gym 0.21 envs (old ``reset``/``step`` signatures) as
  Gymnasium envs, as ``rldebug debug`` applies them.
- :mod:`rldebug.compat.migrate` — ``rldebug migrate PATH``: every 2021-era RLlib name in
  code, with its 2.60 replacement.
"""
