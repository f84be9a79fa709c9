"""Corpora that plugins register (``register_corpora``), and turning the command line into a ``CorpusRun``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medsreg.corpus.keywords import KeywordFilter, read_keywords
from medsreg.corpus.pipeline import CorpusRun, check_language
from medsreg.errors import MedsregError, SourceNotConfiguredError, UnknownNameError
from medsreg.models import Corpus, LocalSource


def installed_corpora(plugins_dirs: tuple[Path, ...] = ()) -> list[Corpus]:
    """The corpora of every loaded plugin (a plugin returning something else is skipped, as the catalog does)."""
    from medsreg.plugins import get_plugin_manager

    corpora: list[Corpus] = []
    seen: set[str] = set()
    for _, returned in get_plugin_manager(plugins_dirs).call_each("register_corpora"):
        for item in returned if isinstance(returned, (list, tuple)) else [returned]:
            if isinstance(item, Corpus) and item.name not in seen:
                seen.add(item.name)
                corpora.append(item)
    return corpora


def documents_folder(corpus: Corpus) -> Path:
    """Where a corpus's files are: ``documents_from.path`` inside the folder configured for its key."""
    from medsreg.paths import outside, source_path_escape, source_place
    from medsreg.sources import config_path, configured_value, env_var

    source = corpus.documents_from
    if not isinstance(source, LocalSource):
        raise MedsregError(f"corpus {corpus.name}: only documents in a configured local folder (or a loader) can be "
                           "read so far; its documents_from is a " + type(source).__name__)
    value = configured_value(source.key)
    how = f" {source.how_to_obtain}" if source.how_to_obtain else ""
    if value is None:
        raise SourceNotConfiguredError(
            f"corpus {corpus.name}: not available: its documents are {source.path!r} in the folder configured as source "
            f"{source.key!r}; set {env_var(source.key)}=/path/to/folder, pass --source {source.key}=/path/to/folder, or add "
            f"'{source.key} = \"/path/to/folder\"' under [sources] in {config_path()}.{how}")
    escape = source_path_escape(source)
    if escape is not None:
        raise MedsregError(f"corpus {corpus.name}: documents_from {escape}")
    root = Path(value).expanduser()
    path = root / source.path
    leaves = outside(root, path, source_place(source), "copy the documents into that folder")
    if leaves is not None:  # a link out of the configured folder: nothing is read
        raise MedsregError(f"corpus {corpus.name}: documents_from {path} {leaves}")
    if not path.exists():
        raise SourceNotConfiguredError(f"corpus {corpus.name}: not available: {path} does not exist (source "
                                       f"{source.key!r} is {value}).{how}")
    return path


def status(corpus: Corpus) -> str:
    if corpus.loader is not None:
        return "available"
    if corpus.documents_from is None:
        return "no documents"
    try:
        documents_folder(corpus)
    except MedsregError:
        return "credentialed" if corpus.access == "credentialed" else "not configured"
    return "available"


def corpus_rows(corpora: list[Corpus]) -> list[dict[str, Any]]:
    return [{**corpus.model_dump(mode="json", include={"name", "language", "source_type", "license", "access",
                                                      "token_estimate", "description"}),
             "keyword_filter": corpus.keywords is not None, "status": status(corpus)} for corpus in corpora]


def find_corpus(corpora: list[Corpus], query: str) -> Corpus:
    """A corpus by full name ('mmedc/en-web') or by its name inside its plugin ('en-web')."""
    from medsreg.vocabulary import did_you_mean

    wanted = query.strip().lower()
    matches = [corpus for corpus in corpora if wanted in (corpus.name, corpus.name.split("/", 1)[1])]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UnknownNameError(f"{query!r} names several corpora ({', '.join(c.name for c in matches)}); give the full name")
    names = [corpus.name for corpus in corpora]
    hint = did_you_mean(wanted, names) if names else ""
    listed = " 'medsreg corpus list' shows them." if names else " No plugin registers a corpus: install one such as medsreg-mmedc."
    raise UnknownNameError(f"no corpus named {query!r}.{hint}{listed}")


def keyword_lists(corpora: list[Corpus]) -> dict[str, list[str]]:
    """The keyword list of each language that a registered corpus filters with (the first one registered)."""
    found: dict[str, list[str]] = {}
    for corpus in corpora:
        if corpus.keywords is not None and corpus.language not in found:
            found[corpus.language] = read_keywords(corpus.keywords)
    return found


def prepare_run(*, corpus_name: str | None, input_path: Path | None, language: str | None, output: Path, workers: int,
                tasks: int | None, tokenizer: Path | None, window: int, stride: int, keywords_file: Path | None,
                no_filter: bool, min_hits: int | None, min_ratio: float | None, overwrite: bool,
                plugins_dirs: tuple[Path, ...] = ()) -> CorpusRun:
    """The ``CorpusRun`` the options of ``medsreg corpus run`` describe; every problem is a sentence."""
    corpora = installed_corpora(plugins_dirs)
    describe: dict[str, Any] = {}
    loader = None
    filtered = not no_filter
    if corpus_name is not None:
        corpus = find_corpus(corpora, corpus_name)
        if language is not None and check_language(language) != corpus.language:
            raise MedsregError(f"corpus {corpus.name} is in {corpus.language!r}, not {language!r}; leave --language out")
        language = corpus.language
        name = corpus.name
        describe = corpus.model_dump(mode="json", include={"source_type", "license", "access", "token_estimate"})
        filtered = filtered and corpus.keywords is not None
        if corpus.loader is not None:
            loader = corpus.loader
        elif corpus.documents_from is not None:
            input_path = documents_folder(corpus)
        else:
            raise MedsregError(f"corpus {corpus.name} says neither where its documents are nor how to load them")
        if keywords_file is None and corpus.keywords is not None:
            keywords_file = Path(corpus.keywords)
    else:
        name = Path(input_path).name or "corpus"  # type: ignore[arg-type]
    language = check_language(language)
    filters = None
    if filtered:
        lists = keyword_lists(corpora)
        if keywords_file is not None:
            lists[language] = read_keywords(keywords_file)
        if language not in lists:
            raise MedsregError(f"no keyword list for language {language!r}: pass --keywords FILE, install a corpus plugin "
                               "with one (medsreg-mmedc has en, zh, ja, ru, es, fr), or --no-filter")
        filters = {code: KeywordFilter(code, words, *((min_hits, min_ratio) if code == language else (None, None)))
                   for code, words in lists.items()
                   if code == language or code in _thresholded()}
    return CorpusRun(output=output, language=language, input=input_path, loader=loader, name=name, filters=filters,
                     tokenizer=tokenizer, workers=workers, tasks=tasks, window=window, stride=stride, overwrite=overwrite,
                     describe=describe)


def _thresholded() -> set[str]:
    from medsreg.corpus.keywords import THRESHOLDS

    return set(THRESHOLDS)
