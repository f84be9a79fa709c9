"""``medsreg eval``: run a model over an evaluation suite and write predictions the scorer and the leaderboard read.

* ``rows``: the suite's rows, rendered exactly as ``medsreg build --suite`` renders them (or read
  from a suite folder that build wrote), over its readable tasks when it is partial (what it
  misses is recorded in config.json for ``medsreg score``), ``--limit`` and data-parallel sharding;
* ``predictions``: the append-only predictions file (one JSON object per line, fsync'd per batch;
  a rerun skips what is done), the merge of the ranks' files and the leaderboard submission CSVs;
* ``backends``: ``hf`` (transformers), ``vllm`` and ``openai`` (any OpenAI-compatible endpoint)
  behind one small interface: a batch of chat conversations in, their generated texts out;
* ``run``: the order of an evaluation; ``command``: the click command.

Importing this package is cheap: torch, transformers, vllm and datasets are imported inside the
functions that need them, so ``medsreg --help`` never loads them.
"""
