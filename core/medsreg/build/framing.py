"""The official framing (``render.frame``) of many rows at once, as Arrow columns: a mixture bucket's and a suite table's
texts.

``render.frame`` frames one row in Python. A build frames thousands at a time from its instances' texts (Arrow string
arrays) and, per row, the index of its instance, its instruction and its shots: ``frame_rows`` lays every text out as a
list of pieces (the constant parts of the k-shot framing, the instruction, the shots' inputs and outputs, the row's
input and output) and joins them in one ``binary_join``, then lays the rows' message contents out as datasets' list of
{role, content} and makes the prompts of them. No Python string is made per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medsreg.build.render import LEARN_FROM_SHOTS, QUERY, SHOT, SHOT_SEPARATOR

_SHOT_START, _SHOT_REST = SHOT.split("{input}")
_SHOT_MIDDLE, _SHOT_END = _SHOT_REST.split("{output}")
_QUERY_START, _QUERY_END = QUERY.split("{input}")
_PIECES = [_SHOT_START, _SHOT_MIDDLE, _SHOT_END + SHOT_SEPARATOR, LEARN_FROM_SHOTS, _QUERY_START, _QUERY_END]
"""The constant pieces of the framing: a shot is pieces 0, input, 1, output, 2 (its end and the separator that follows
every shot, the last one's before the instruction); the instruction is followed by piece 3; a k-shot query is pieces 4,
input, 5."""
_PIECE_START, _PIECE_MIDDLE, _PIECE_END, _PIECE_LEARN, _PIECE_QUERY, _PIECE_QUERY_END = range(len(_PIECES))


def frame_rows(inputs: list[Any], outputs: list[Any], instructions: list[str], instruction: np.ndarray,
               counts: np.ndarray, shots: np.ndarray, own: np.ndarray, message_type: Any,
               completion: bool) -> tuple[Any, Any, Any]:
    """(messages, prompt, completion) of each row, framed as ``render.frame`` frames one: the system text (its
    instruction, ``instructions[instruction[row]]``, alone without shots, else its ``counts[row]`` shots, the next ones
    of ``shots``, in the k-shot framing), the user text (its input, ``own[row]``, as the k-shot query when it has shots)
    and, with ``completion``, its output; the prompt is system, newline, user. ``own`` and ``shots`` index the texts of
    ``inputs`` and ``outputs`` (string or large string arrays, laid end to end: ``outputs[i]`` goes with ``inputs[i]``;
    both lists are emptied).

    The messages' contents (each row's system, user and completion, one after the other) are lists of pieces (the
    constant parts, instructions, inputs, outputs) joined by one ``binary_join``; a prompt joins its row's system and
    user texts taken from them (two texts a row, where the pieces are twenty).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = inputs[0].type if inputs else pa.string()
    first_input = len(_PIECES) + len(instructions)
    first_output = first_input + sum(len(array) for array in inputs)
    pieces = pa.concat_arrays([pa.array(_PIECES + instructions, type=kind), *inputs, *outputs])
    inputs.clear()  # freed before the rows' texts are made (when the caller holds them nowhere else)
    outputs.clear()
    if kind != pa.string():  # large strings (a mixture's pools): the offsets cast, the text shared
        pieces = pieces.cast(pa.string())
    framed = counts > 0
    system = np.where(framed, 5 * counts + 2, 1)  # pieces per row: the instruction alone, or m shots, it and piece 3
    user = np.where(framed, 3, 1)
    sizes = [system, user, np.ones_like(user)] if completion else [system, user]
    width = len(sizes)
    offsets = _offsets(np.stack(sizes, axis=1).ravel())  # each row's lists: system, user (, completion)
    starts = offsets[:-1].reshape(len(counts), width)
    index = np.empty(int(offsets[-1]), dtype=np.int64)
    instruction_piece = len(_PIECES) + instruction
    _system_pieces(index, starts[:, 0], framed, instruction_piece, counts, shots, first_input, first_output)
    _user_pieces(index, starts[:, 1], framed, first_input + own)
    if completion:
        index[starts[:, 2]] = first_output + own
    content = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pieces.take(pa.array(index))), "")
    completed = pieces.take(pa.array(first_output + own)) if completion else None
    del index, pieces  # before the prompts are made: the fewer pages a bucket holds at once, the fewer a new worker maps
    prompt = pc.binary_join_element_wise(content.take(pa.array(np.arange(0, width * len(counts), width))),
                                         content.take(pa.array(np.arange(1, width * len(counts), width))), "\n")
    roles = pa.array(["system", "user", "assistant"][:width]).take(pa.array(np.tile(np.arange(width, dtype=np.int32),
                                                                                    len(counts))))
    messages = pa.ListArray.from_arrays(pa.array(np.arange(0, width * len(counts) + 1, width, dtype=np.int32)),
                                        pa.StructArray.from_arrays([roles, content], fields=list(message_type.value_type)),
                                        type=message_type)
    return messages, prompt, completed


def _offsets(sizes: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets


def _system_pieces(index: np.ndarray, at: np.ndarray, framed: np.ndarray, instruction_piece: np.ndarray,
                   counts: np.ndarray, shots: np.ndarray, first_input: int, first_output: int) -> None:
    """Write each row's system pieces into ``index`` from ``at[row]`` on: its instruction alone, or its shots (inputs
    from piece ``first_input`` on, outputs from ``first_output``), its instruction and piece 3."""
    index[at[~framed]] = instruction_piece[~framed]
    shot_ends = np.cumsum(counts)
    shot_starts = np.repeat(at, counts) + 5 * (np.arange(len(shots)) - np.repeat(shot_ends - counts, counts))
    index[shot_starts] = _PIECE_START
    index[shot_starts + 1] = first_input + shots
    index[shot_starts + 2] = _PIECE_MIDDLE
    index[shot_starts + 3] = first_output + shots
    index[shot_starts + 4] = _PIECE_END
    ends = at[framed] + 5 * counts[framed] + 2
    index[ends - 2] = instruction_piece[framed]
    index[ends - 1] = _PIECE_LEARN


def _user_pieces(index: np.ndarray, at: np.ndarray, framed: np.ndarray, input_piece: np.ndarray) -> None:
    """Write each row's user pieces into ``index`` from ``at[row]`` on: its input, between pieces 4 and 5 when framed."""
    index[at[~framed]] = input_piece[~framed]
    index[at[framed]] = _PIECE_QUERY
    index[at[framed] + 1] = input_piece[framed]
    index[at[framed] + 2] = _PIECE_QUERY_END


def with_bitmaps(array: Any, present: bool) -> Any:
    """``array`` (no null in it) with an all-set validity bitmap on every string, list and struct level (``present``),
    as Arrow's ``take`` makes them, or with none, as ``from_pylist`` makes them. The bitmaps are never written (an IPC
    batch leaves out a validity buffer without nulls), but ``nbytes`` counts them, and ``nbytes`` decides where a shard
    ends and is the dataset's size in dataset_info.json: a table made here has the layout of the one it replaces (a
    mixture's rows were ``from_pylist`` tables shuffled with ``take``; a suite's are ``from_pylist`` tables)."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_list(kind):
        own, children = array.buffers()[:2], [with_bitmaps(array.values, present)]
    elif pa.types.is_struct(kind):
        own, children = array.buffers()[:1], [with_bitmaps(array.field(index), present) for index in range(kind.num_fields)]
    elif pa.types.is_string(kind):
        own, children = array.buffers(), None
        if (own[0] is not None) == present:
            return array
    else:
        return array
    if array.null_count or array.offset:
        raise ValueError("with_bitmaps expects a whole array without nulls")
    bitmap = pa.py_buffer(b"\xff" * -(-len(array) // 8)) if present else None
    return pa.Array.from_buffers(kind, len(array), [bitmap, *own[1:]], children=children)  # null_count=0 would drop it
