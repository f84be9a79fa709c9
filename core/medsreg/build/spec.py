"""Mixture spec files (JSON or YAML) read into ``models.MixtureSpec``, and the built-in default spec.

Every problem with a spec file is one sentence naming the file and the place in it (a line
for a syntax error, a JSON path such as ``$.include[2].weight`` for a wrong value). JSON is read
by ``formats.medsins.load_json`` and YAML without aliases, both refusing a repeated key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medsreg.errors import MedsregError, NotUtf8Error, decode_text, quoted
from medsreg.formats.medsins import JsonError, json_path, load_json
from medsreg.models import MixtureSpec

YAML_SUFFIXES = (".yaml", ".yml")


def default_spec() -> MixtureSpec:
    """MedS-Ins as released: every available training task, weight 1, no cap, temperature 1, all rows once.

    The training values of the two rendering probabilities are not published (SEEDS.md §1.4);
    the model's defaults (0.5 each) are used.
    """
    return MixtureSpec(name="meds-ins-default", description="Every available training task once, as MedS-Ins releases them.")


def load_spec(path: Path) -> MixtureSpec:
    """The spec in ``path``; any problem is a ``MedsregError`` that locates it."""
    path = Path(path)
    try:
        text = decode_text(path.read_bytes(), path)
    except FileNotFoundError:
        raise MedsregError(f"the mixture spec {path} does not exist; give an existing .json or .yaml file to --spec") from None
    except OSError as error:
        raise MedsregError(f"the mixture spec {path} cannot be read ({error.strerror or error}); give a .json or .yaml "
                           "file") from None
    except NotUtf8Error as error:
        raise MedsregError(f"the mixture spec {path} {error}") from None
    document = _parse(path, text)
    if not isinstance(document, dict):
        raise MedsregError(f"{path}: the mixture spec must be a mapping (keys include, exclude, total, seed, ...), "
                           f"not {type(document).__name__}; see schemas/mixture.schema.json")
    try:
        return MixtureSpec.model_validate(document)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise MedsregError(f"{path}: {json_path(first['loc'])}: {_message(first)}{more}; "
                           "fix it (schemas/mixture.schema.json lists every key)") from None


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            import yaml
        except ImportError:
            raise MedsregError(f"{path} is YAML, which needs PyYAML; install it (pip install pyyaml) "
                               "or write the spec as JSON") from None
        try:
            return yaml.load(text, Loader=_strict_yaml_loader())  # a SafeLoader, see there
        except _YamlProblem as problem:
            raise MedsregError(f"{path}: line {problem.mark.line + 1}: {problem}") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise MedsregError(f"{path}: {where}: not valid YAML ({problem}); fix the syntax") from None
        except RecursionError:
            raise MedsregError(f"{path}: nests lists and mappings too deeply to be read; flatten it") from None
    if path.suffix.lower() != ".json":
        raise MedsregError(f"{path}: a mixture spec is a .json, .yaml or .yml file; rename it with the suffix of its format")
    try:
        return load_json(text)
    except JsonError as error:
        raise MedsregError(f"{path}: {error}") from None


class _YamlProblem(Exception):
    def __init__(self, message: str, mark: Any):
        super().__init__(message)
        self.mark = mark


def _strict_yaml_loader() -> type:
    """PyYAML's SafeLoader without aliases (``*a`` repeated in ``*b`` repeated ... expands exponentially when
    validated) and with a repeated key as an error (PyYAML keeps the last value silently)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _YamlProblem("aliases (*name) are not read in a mixture spec; write the value out",
                                   self.peek_event().start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<' is read by SafeLoader's merge, which may repeat it
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (str, int, float, bool)) or key is None:
                    if key in seen:
                        raise _YamlProblem(f"the key {quoted(key)} appears twice in one mapping; YAML readers keep "
                                           "only the last value, so remove or rename one of them", key_node.start_mark)
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _message(problem: dict[str, Any]) -> str:
    message = problem["msg"]
    if problem.get("type") == "extra_forbidden":
        from medsreg.models import MixtureEntry
        from medsreg.vocabulary import did_you_mean

        location = problem["loc"]
        model = MixtureEntry if len(location) > 1 and location[0] == "include" else MixtureSpec
        return f"is not a key of {'an include entry' if model is MixtureEntry else 'a mixture spec'}." \
            f"{did_you_mean(str(location[-1]), list(model.model_fields))}".rstrip(".")
    if "input" in problem and problem.get("type") not in ("missing", "value_error"):
        return f"{message[0].lower()}{message[1:]} (got {quoted(problem['input'])})"
    return message.removeprefix("Value error, ")
