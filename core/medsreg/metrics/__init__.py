"""Scoring: the official MedS-Bench / MMedBench metric rules, corrected by default and reproducible with ``official``.

One module per family: ``answers`` (multiple choice and substring accuracies), ``entities``
(NER micro F1, HoC macro P/R/F1), ``generation`` (BLEU-1 / ROUGE-L on each language's official
tokens) with ``rouge_l`` (the ``rouge`` package's ROUGE-L, fast). ``builtin`` registers them
through the ``register_metrics`` hook, as a plugin would. docs/metrics.md lists where the
corrected rules differ from the official scripts.
"""
