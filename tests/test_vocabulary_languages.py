"""vocabulary.language_code: langcodes' answers, kept in the cache so that a later process does not import langcodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("langcodes")

_LOOKUP = """
import json, sys
from medsreg.vocabulary import language_code
codes = [language_code(value) for value in ["English", "en", "Español", "zh-Hans", "Deutsch", "not a language at all"]]
print(json.dumps({"codes": codes, "langcodes": "langcodes" in sys.modules}))
"""


def _lookup(cache) -> dict:
    env = {**os.environ, "MEDSREG_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", _LOOKUP], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_codes_langcodes_gave_are_kept_and_a_later_process_does_not_import_it(tmp_path):
    import langcodes

    first = _lookup(tmp_path / "cache")
    assert first["langcodes"]
    # langcodes' own answers (a name in English or in the language itself, a tag, nothing)
    assert first["codes"] == ["en", "en", "es", "zh", "de", None]
    assert first["codes"][:5] == [langcodes.find("English").language, langcodes.Language.get("en").language,
                                  langcodes.find("Español").language, langcodes.Language.get("zh-Hans").language,
                                  langcodes.find("Deutsch").language]
    second = _lookup(tmp_path / "cache")
    assert second == {"codes": first["codes"], "langcodes": False}


def test_a_damaged_language_cache_is_asked_again(tmp_path):
    first = _lookup(tmp_path / "cache")
    (kept,) = (tmp_path / "cache" / "langcodes").glob("codes-*.json")
    for damage in ("{not json", json.dumps({"English": 3}), json.dumps(["en"])):
        kept.write_text(damage)
        again = _lookup(tmp_path / "cache")
        assert again == {"codes": first["codes"], "langcodes": True}
