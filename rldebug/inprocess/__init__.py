"""Training in this process, where an IDE's breakpoints are hit.

- :mod:`rldebug.inprocess.local` — :func:`~rldebug.local_mode` (the replacement for the
  removed ``ray.init(local_mode=True)``) and :func:`~rldebug.start_ray`.
- :mod:`rldebug.inprocess.training` — :func:`~rldebug.run`: ``algo.train()`` until a
  Tune-style stop criterion, with its live table (:mod:`~rldebug.inprocess.progress`), stop
  criteria (:mod:`~rldebug.inprocess.stopping`) and Tune's files
  (:mod:`~rldebug.inprocess.runlog`).
- :mod:`rldebug.inprocess.debugging` — ``rldebug debug SCRIPT.py``: every Algorithm and Tune
  trial of an unchanged script in this process (:func:`~rldebug.debug_mode`); a Tune
  experiment's trials are run by :mod:`~rldebug.inprocess.tune_trials` (its stop criteria
  by :mod:`~rldebug.inprocess.tune_stop`), and what Tune returns for them is in
  :mod:`~rldebug.inprocess.trial_results`.
- :mod:`rldebug.inprocess.demo` — ``rldebug demo``.
"""
