"""The doctor's fault-injection benchmark: healthy RLlib bases (:mod:`.bases`) mutated by
fault operators (:mod:`.operators`, envs in :mod:`.envs`), trained for real
(:mod:`.generate`) and scored (:mod:`.score`). Run ``python -m benchmarks.doctor_faults``.
"""
