"""MMedC-style corpora: the seed's keyword filter, exact and near-duplicate removal, token counting and
packing into continued-pretraining windows, run on datatrove (SEEDS.md §5).

Plugins describe corpora with ``register_corpora()`` (``medsreg.Corpus``: language, source type,
licence, access, token estimate, where the documents are, and for filtered web text the keyword
list). ``medsreg corpus run`` runs the pipeline of ``medsreg.corpus.pipeline`` over one of them or
over a folder of files:

1. the keyword filter (``keywords``) with the seed's per-language thresholds;
2. exact deduplication (datatrove's ``ExactDedupSignature`` / ``ExactFindDedups``) and near-duplicate
   removal with MinHash (datatrove's four MinHash stages; the shingles are medsreg's, in numpy);
3. token counting with a local tokenizer folder (``tokenizer``);
4. packing into windows of 2048 tokens with stride 1536, EOS after each document, short documents
   padded, the last window right-aligned (``packing``).

Why datatrove's MinHash stages rather than datasketch: datasketch's ``MinHashLSH`` is an in-memory
index in one process, so each worker would only see its own shard's duplicates (or one process would
have to index the whole corpus). datatrove's stages write sorted signature files per task and find
the duplicate pairs band by band in separate tasks, so near duplicates are found across every shard
and the work spreads over as many processes, or machines, as there are tasks. datasketch is kept in
the tests, as an independent estimate of the planted near duplicates' Jaccard similarity.

Running on a cluster
--------------------

``pipeline.stages(run, root, files, tasks)`` gives the five stages as plain datatrove pipelines; the
local run hands each to ``LocalPipelineExecutor``. On Slurm give each to datatrove's
``SlurmPipelineExecutor`` instead, each stage depending on the one before it, with ``root`` (and the
input) on storage that every node sees (a shared file system, or an fsspec URL such as ``s3://``)::

    from datatrove.executor.slurm import SlurmPipelineExecutor
    from medsreg.corpus.pipeline import CorpusRun, input_files, stages

    run = CorpusRun(output=None, language="en", input=Path("/data/culturax-en"), filters=...,
                    tokenizer=Path("/models/llama-3-tokenizer"))
    _, files = input_files(run.input)
    previous = None
    for stage in stages(run, "/shared/mmedc-en", files, tasks=1000):
        previous = SlurmPipelineExecutor(
            pipeline=stage.pipeline, tasks=stage.tasks, workers=-1 if stage.parallel else 1,
            time="12:00:00", partition="cpu", cpus_per_task=1, mem_per_cpu_gb=4,
            job_name=f"mmedc-{stage.name}", logging_dir=f"/shared/logs/mmedc-en/{stage.name}",
            depends=previous)
    previous.run()  # submits the five jobs, each waiting for the one before

Stages 1 and 5 must run with the same number of tasks (task ``r`` of stage 5 reads what task ``r`` of
stage 1 kept); stage 3 runs one task per MinHash band (14), stages 2 and 4 one task. Outputs on a
cluster are not renamed into place: read them once the last job has succeeded.
"""
