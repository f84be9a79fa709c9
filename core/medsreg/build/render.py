"""Rendering one instance into one row: the instruction, the k-shot context, chat messages and provenance.

Pure functions, no I/O. Every random choice for a row comes from its own ``RowRandom`` keyed by
``f"{seed}|{task}|{instance id}|{repeat}"``: a row is the same on every machine and run, and does
not depend on which rows were rendered before it (the mixture can be produced in any order, or
in parallel).

The framing is the official MedS-Ins evaluation loader's (SEEDS.md §1.4), byte for byte:

* a shot is ``"Input:\\n{input}\\n\\nOutput:\\n{output}\\n"``, shots are joined by ``"\\n\\n"``;
* the k-shot system text is the shots, ``"\\n\\n"``, the instruction and, with no space in between,
  ``"Please learn from the few-shot cases to see what content you have to output."`` (the loader
  concatenates the two strings directly; models were trained and scored on exactly that text);
* the k-shot query is ``"Input:\\n{input}\\nOutput:\\n"``; a zero-shot query is the raw input.

Unlike the official loader, the shots never include the example itself, nor another instance
with the same input (which would hand the model its answer).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import Any

from medsreg.models import Instance, Suite, SuiteTask, Task

SHOT = "Input:\n{input}\n\nOutput:\n{output}\n"
SHOT_SEPARATOR = "\n\n"
LEARN_FROM_SHOTS = "Please learn from the few-shot cases to see what content you have to output."
QUERY = "Input:\n{input}\nOutput:\n"

SMALL_POOL = 64
"""Below this many instances, shots are drawn from an explicit candidate list (cheap, and exact with duplicates)."""


class RowRandom:
    """The random draws of one row: 64-bit values read from BLAKE2b digests of the row's key and a block counter.

    A counter-based generator, as JAX's and numpy's Philox are: creating one costs a hash (under a
    microsecond), where seeding a ``random.Random`` fills a 624-word Mersenne Twister state (about
    7 us, a third of a row's rendering at millions of rows). Only the three draws rendering needs.
    """

    __slots__ = ("_key", "_block", "_values", "_used")

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")
        self._block = 0
        self._refill()  # eagerly: every row draws (the instruction's draw comes first, rewrites or not)

    def _refill(self) -> None:
        self._values = _EIGHT_WORDS.unpack(block_digest(self._key, self._block))
        self._block += 1
        self._used = 0

    def _next(self) -> int:
        if self._used == 8:
            self._refill()
        self._used += 1
        return self._values[self._used - 1]

    def random(self) -> float:
        """Uniform in [0, 1), 53 bits."""
        used = self._used
        if used < 8:  # the next value of the block, without a call (rendering draws a few per row, millions of rows)
            self._used = used + 1
            return (self._values[used] >> 11) * _TWO_TO_MINUS_53
        return (self._next() >> 11) * _TWO_TO_MINUS_53

    def randrange(self, start: int, stop: int | None = None) -> int:
        """Uniform in range(start, stop) (or range(start)), unbiased: values past the last whole multiple are redrawn."""
        low, n = (0, start) if stop is None else (start, stop - start)
        limit = _TWO_TO_64 - _TWO_TO_64 % n
        used = self._used
        if used < 8:  # as in ``random``
            self._used = used + 1
            value = self._values[used]
        else:
            value = self._next()
        while value >= limit:
            value = self._next()
        return low + value % n

    def sample(self, population: list, k: int) -> list:
        """``k`` distinct items in random order (a partial Fisher-Yates shuffle of a copy)."""
        pool = list(population)
        for i in range(k):
            j = i + self.randrange(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]


_EIGHT_WORDS = struct.Struct("<8Q")
_TWO_TO_64 = 1 << 64
_TWO_TO_MINUS_53 = 2.0 ** -53


def block_digest(key: bytes, block: int) -> bytes:
    """The 64 bytes (eight little-endian words) of block ``block`` of the draws of the row keyed ``key``."""
    return hashlib.blake2b(b"%s#%d" % (key, block), digest_size=64).digest()


def row_rng(seed: int, task: str, instance_id: str, repeat: int = 0) -> RowRandom:
    return RowRandom(draw_key(seed, task, instance_id, repeat))


def draw_key(seed: int, task: str, instance_id: str, repeat: int) -> str:
    """What a row's draws are a function of (``RowRandom``'s key)."""
    return f"{seed}|{task}|{instance_id}|{repeat}"


def first_blocks(seed: int, task: str, ids: Iterable[str], repeats: Iterable[int]) -> bytes:
    """The first block of the draws (``block_digest``) of each row of ``task``, one after the other: the rows' keys and
    digests made inline (a function call per row would be half again the time, at millions of rows)."""
    prefix = f"{seed}|{task}|"  # draw_key's
    blake2b = hashlib.blake2b
    return b"".join([blake2b(f"{prefix}{identifier}|{repeat}#0".encode("utf-8"), digest_size=64).digest()
                     for identifier, repeat in zip(ids, repeats)])


def choose_instruction(rng: RowRandom, definition: list[str], p_original: float) -> tuple[int, str]:
    """(index, text): the original instruction with probability ``p_original``, else a uniformly drawn rewrite."""
    draw = rng.random()  # drawn even without rewrites, so adding rewrites later changes no other choice
    if draw < p_original or len(definition) < 2:
        return 0, definition[0]
    index = rng.randrange(1, len(definition))
    return index, definition[index]


def instruction_rewrites(seed: int, task: Task, count: int) -> list[int]:
    """``medsreg eval --instructions K``: the indices (into ``task.definition``, never 0) of up to ``count`` of the task's
    rewritten instructions, a seeded choice that depends on the suite's seed and the task only, so that every model
    is evaluated under the same rewrites; fewer when the task has fewer."""
    rewrites = list(range(1, len(task.definition)))
    return RowRandom(f"{seed}|{task.name}|instructions").sample(rewrites, min(count, len(rewrites)))


class _Inputs:
    """A pool's inputs by position, without a list made of them (``shot_positions`` reads a few per row)."""

    __slots__ = ("_pool",)

    def __init__(self, pool: list[Instance]) -> None:
        self._pool = pool

    def __getitem__(self, index: int) -> str:
        return self._pool[index]["input"]


def shot_positions(rng: RowRandom, size: int, position: int, k: int, inputs: Any) -> list[int]:
    """The positions of up to ``k`` distinct instances of a pool of ``size``, never ``position`` nor one whose input
    equals its input; ``inputs[i]``: the input of position i, or any value that is equal exactly when the inputs are
    (the build passes one number per distinct input)."""
    if k <= 0 or size < 2:
        return []
    own = inputs[position]
    if size <= SMALL_POOL:
        return _from_candidates(rng, size, position, own, k, inputs)
    chosen: list[int] = []
    seen = {position}
    for _ in range(20 * k):  # rejection sampling: O(k) on a large pool instead of a copy of it
        index = rng.randrange(size)
        if index in seen:
            continue
        seen.add(index)
        if inputs[index] != own:
            chosen.append(index)
            if len(chosen) == k:
                return chosen
    return _from_candidates(rng, size, position, own, k, inputs)  # a pool full of duplicates: be exact


def _from_candidates(rng: RowRandom, size: int, position: int, own: Any, k: int, inputs: Any) -> list[int]:
    candidates = [i for i in range(size) if i != position and inputs[i] != own]
    return rng.sample(candidates, min(k, len(candidates)))


def first_output(instance: Instance) -> str:
    """The reference the official loader trains on: the first output ('' for an instance without one, which
    validate reports, rather than a crash hours into a build)."""
    return instance["output"][0] if instance["output"] else ""


def few_shot_system(shots: list[Instance], instruction: str) -> str:
    """The official k-shot system text (see the module docstring for why 'Please' follows without a space)."""
    # SHOT, written out: an f-string costs half of str.format, for millions of shots
    rendered = [f"Input:\n{shot['input']}\n\nOutput:\n{shot['output'][0] if shot['output'] else ''}\n" for shot in shots]
    return SHOT_SEPARATOR.join(rendered) + SHOT_SEPARATOR + instruction + LEARN_FROM_SHOTS


def frame(instruction: str, query: str, shots: list[Instance]) -> tuple[str, str]:
    """(system, user): zero-shot when there are no shots, else the official k-shot framing."""
    if not shots:
        return instruction, query
    return few_shot_system(shots, instruction), QUERY.format(input=query)


def training_parts(task: Task, pool: list[Instance], position: int, repeat: int, *, seed: int, p_original: float,
                   p_zero_shot: float, shots: int) -> tuple[str, str, str, int, list[str]]:
    """What a mixture row for ``pool[position]`` holds beyond the instance and the task: (system, user, completion,
    instruction index, shot ids). ``training_row`` makes the row of them; the build makes Arrow columns of them
    (mixture.py), as cheaper than a dict per row."""
    instance = pool[position]
    rng = row_rng(seed, task.name, instance["id"], repeat)
    instruction_index, chosen = training_choices(rng, task.definition, p_original, p_zero_shot, shots, len(pool), position,
                                                 _Inputs(pool))
    context = [pool[index] for index in chosen]
    system, user = frame(task.definition[instruction_index], instance["input"], context)
    return system, user, first_output(instance), instruction_index, [shot["id"] for shot in context]


def training_choices(rng: RowRandom, definition: list[str], p_original: float, p_zero_shot: float, shots: int,
                     size: int, position: int, inputs: Any) -> tuple[int, list[int]]:
    """A mixture row's random choices, in their order: (the instruction's index, the shots' positions in the pool of
    ``size``); ``inputs`` as ``shot_positions`` takes it."""
    instruction_index = choose_instruction(rng, definition, p_original)[0]
    zero_shot = rng.random() < p_zero_shot  # drawn even when the pool has no shot to give
    return instruction_index, [] if zero_shot else shot_positions(rng, size, position, shots, inputs)


def training_row(task: Task, pool: list[Instance], position: int, repeat: int, *, seed: int, p_original: float,
                 p_zero_shot: float, shots: int) -> dict[str, Any]:
    """One mixture row for ``pool[position]`` (``pool``: the task's training instances left after decontamination)."""
    instance = pool[position]
    system, user, completion, instruction_index, shot_ids = training_parts(
        task, pool, position, repeat, seed=seed, p_original=p_original, p_zero_shot=p_zero_shot, shots=shots)
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": completion},
        ],
        "prompt": system + "\n" + user,
        "completion": completion,
        "task": task.name,
        "legacy_id": task.legacy_id,
        "category": task.categories[0] if task.categories else "",
        "source": ", ".join(task.source),
        "license": task.license,
        "instance_id": instance["id"],
        "instruction_index": instruction_index,
        "shot_ids": shot_ids,
        "zero_shot": not shot_ids,  # a task with a single instance has no shot to give: the row is zero-shot
        "repeat": repeat,
    }


def suite_row(suite: Suite, category: str, entry: SuiteTask, task: Task, pool: list[Instance], position: int, *,
              instruction: str | None = None) -> dict[str, Any]:
    """One evaluation row, rendered as the official evaluation does: the suite's seed, instruction and shot count.

    ``pool`` is the task's test instances; shots come from them (never the instance itself). ``instruction``
    (``medsreg eval --instructions``) replaces the suite's instruction and nothing else: the same shots, the same framing.
    """
    instance = pool[position]
    instruction_index, chosen = suite_choices(suite, entry, task, pool, position)
    context = [pool[index] for index in chosen]
    system, user = frame(task.definition[instruction_index] if instruction is None else instruction, instance["input"],
                         context)
    return {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "prompt": system + "\n" + user,
        "references": list(instance["output"]),
        "metrics": list(entry.metrics),
        "suite": suite.name,
        "category": category,
        "group": entry.group,
        "average": entry.average,
        "task": task.name,
        "legacy_id": task.legacy_id,
        "instance_id": instance["id"],
        "shot_ids": [shot["id"] for shot in context],
    }


def suite_shots(suite: Suite, entry: SuiteTask) -> int:
    """The shots a suite's task is evaluated with: its own, else the suite's."""
    return entry.shots if entry.shots is not None else suite.shots


def suite_choices(suite: Suite, entry: SuiteTask, task: Task, pool: list[Instance], position: int) -> tuple[int, list[int]]:
    """An evaluation row's random choices, in their order: (its instruction's index in the task's definition, its shots'
    positions in ``pool``)."""
    rng = row_rng(suite.seed, task.name, pool[position]["id"], 0)
    if suite.instruction == "original":
        instruction_index = 0
    else:  # drawn from the rewrites: the shots' draws come after
        instruction_index = choose_instruction(rng, task.definition, 0.0)[0]
    return instruction_index, shot_positions(rng, len(pool), position, suite_shots(suite, entry), _Inputs(pool))
