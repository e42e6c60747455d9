"""A software prefetch for Numba kernels: ``prefetch(a, i)`` asks for the cache line holding ``a[i]``.

Numba has no prefetch of its own; this emits LLVM's ``llvm.prefetch`` intrinsic, which
becomes ``prefetcht0`` on x86-64 (``prfm`` on AArch64) and is dropped on targets without
one. A prefetch is only a hint: it never faults, changes no value, and the kernels stay
correct without it.

Why a kernel needs it: one core can only have so many cache misses in flight, and the
out-of-order window only reaches a few rows ahead when each row also carries gradient
work. Asking for data a few kilobytes ahead keeps the memory system busy while the core
computes (see ``impls/numba_blocked.py`` and ``bench/FINDINGS.md``).
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_READ = 0  # rw: 0 = read
_KEEP_IN_ALL_LEVELS = 3  # locality 3 = prefetcht0: into L1 (and L2, L3)
_DATA = 1  # cache type: data
LINE_BYTES = 64  # the unit a prefetch asks for


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch the line of ``array[index]`` (1-D array, integer index; no bounds check)."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer)):
        return None
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, view, [args[1]], wraparound=False, boundscheck=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        builder.call(
            hint,
            [
                builder.bitcast(pointer, byte_pointer),
                ir.Constant(i32, _READ),
                ir.Constant(i32, _KEEP_IN_ALL_LEVELS),
                ir.Constant(i32, _DATA),
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


@njit(inline="always")
def prefetch_until(flat, cursor, target, line):
    """Prefetch the lines from element ``cursor`` up to ``target``, ``line`` elements apart.

    Returns the new cursor.
    """
    while cursor < target:
        prefetch(flat, cursor)
        cursor += line
    return cursor
