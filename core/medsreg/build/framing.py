"""The official framing (``render.frame``) of many rows at once, as Arrow columns: a mixture bucket's and a suite table's
texts.

``render.frame`` frames one row in Python. A build frames thousands at a time from its instances' texts (Arrow string
arrays) and, per row, the index of its instance, its instruction and its shots: ``systems`` gathers each row's pieces
(the constant parts of the k-shot framing, the instruction, the shots' inputs and outputs) and joins them in one
``binary_join``; ``users`` frames each row's input as a k-shot query or leaves it raw; ``messages`` lays the rows'
message contents out as datasets' list of {role, content}. No Python string is made per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medsreg.build.render import LEARN_FROM_SHOTS, QUERY, SHOT, SHOT_SEPARATOR

_SHOT_START, _SHOT_REST = SHOT.split("{input}")
_SHOT_MIDDLE, _SHOT_END = _SHOT_REST.split("{output}")
_QUERY_START, _QUERY_END = QUERY.split("{input}")
_PIECES = [_SHOT_START, _SHOT_MIDDLE, _SHOT_END + SHOT_SEPARATOR, LEARN_FROM_SHOTS]
"""The constant pieces of a k-shot system text: a shot is pieces 0, input, 1, output, 2 (its end and the separator that
follows every shot, the last one's before the instruction); the instruction is followed by piece 3."""
_PIECE_START, _PIECE_MIDDLE, _PIECE_END, _PIECE_LEARN = range(4)


def systems(inputs: Any, outputs: Any, instructions: list[str], instruction: np.ndarray, counts: np.ndarray,
            shots: np.ndarray) -> Any:
    """Each row's system text: its instruction (``instructions[instruction[row]]``) alone without shots, else its
    ``counts[row]`` shots (the next ones of ``shots``, indices into ``inputs`` and ``outputs``) in the k-shot framing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = len(counts)
    framed = counts > 0
    # a row without shots is one piece (its instruction); with m shots 5 m + 2 (the shots, the instruction, piece 3)
    sizes = np.where(framed, 5 * counts + 2, 1)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    first_instruction = len(_PIECES)
    first_input = first_instruction + len(instructions)
    first_output_piece = first_input + len(inputs)
    index = np.empty(int(offsets[-1]), dtype=np.int64)
    index[offsets[:-1][~framed]] = first_instruction + instruction[~framed]
    shot_ends = np.cumsum(counts)
    shot_starts = np.repeat(offsets[:-1], counts) + 5 * (np.arange(len(shots)) - np.repeat(shot_ends - counts, counts))
    index[shot_starts] = _PIECE_START
    index[shot_starts + 1] = first_input + shots
    index[shot_starts + 2] = _PIECE_MIDDLE
    index[shot_starts + 3] = first_output_piece + shots
    index[shot_starts + 4] = _PIECE_END
    ends = offsets[1:][framed]
    index[ends - 2] = first_instruction + instruction[framed]
    index[ends - 1] = _PIECE_LEARN
    pieces = pa.concat_arrays([pa.array(_PIECES + instructions, type=pa.string()), inputs, outputs])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pieces.take(pa.array(index))), "")


def users(inputs: Any, counts: np.ndarray) -> Any:
    """Each row's user text: its input (``inputs``, one per row) as the k-shot query when it has shots, else as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    framed = pa.array(counts > 0)
    return pc.binary_join_element_wise(pc.if_else(framed, _QUERY_START, ""), inputs, pc.if_else(framed, _QUERY_END, ""), "")


def messages(contents: list[Any], roles: list[str], message_type: Any) -> Any:
    """Each row's messages: ``{role: roles[i], content: contents[i][row]}`` for each i, as a list array of
    ``message_type`` (datasets' list of {role, content})."""
    import pyarrow as pa

    rows, width = len(contents[0]), len(contents)
    # the contents interleaved: row 0's first, second, ..., then row 1's
    interleaved = (np.arange(rows, dtype=np.int64)[:, None] + rows * np.arange(width)).ravel()
    content = pa.concat_arrays(contents).take(pa.array(interleaved))
    role = pa.array(roles).take(pa.array(np.tile(np.arange(width, dtype=np.int32), rows)))
    return pa.ListArray.from_arrays(
        pa.array(np.arange(0, width * rows + 1, width, dtype=np.int32)),
        pa.StructArray.from_arrays([role, content], fields=list(message_type.value_type)), type=message_type)


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
