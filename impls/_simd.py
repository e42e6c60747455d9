"""SIMD code written as LLVM vector IR, for small blocks of rows where LLVM will not vectorize.

``numba_blocked`` works on blocks of 4 to 16 rows that stay in L1. Loops that short are
left to LLVM's own vectorizers, and they do badly there:

* **Loss and error of a block** (``logistic_terms_simd``). ``numba_tiled`` gets SIMD ``exp``
  and ``log1p`` by running its polynomials in loops over a tile of hundreds of logits. For
  a loop of 4, 8 or 16 iterations LLVM keeps scalar code (its cost model skips loops this
  short, and unrolling does not recover the vector form), and scalar polynomials cost
  about 25 ns per example on the benchmark machine, as much as reading a row of 25
  doubles from memory. The intrinsic emits one load of the logits, the range reduction,
  the two polynomials and two divisions, one store of the losses and one of the errors, on
  ``<lanes x double>`` values. The mathematics is that of ``numba_tiled.tile_terms`` (same
  reduction, same coefficients); the polynomials are evaluated by Estrin's scheme, a tree
  of multiply-adds whose depth grows with the log of the degree, so the next block's work
  does not wait on a chain of 30 dependent operations.
* **Dot products and gradient of four rows** (``dot_rows4``, ``grad_rows4``). LLVM does
  vectorize ``for j in range(n)`` over four rows, but for every trip count: a main loop of
  16 elements, an epilogue of 4, a scalar remainder, and a horizontal sum of each row
  between them. For short rows (n = 25) that machinery is most of the work. The
  intrinsics have one vector loop (one ``VECTOR_BYTES`` register per row), a scalar loop
  for the last ``n % lanes`` elements, and one transpose-and-add that turns the four rows'
  accumulators into four sums at once.

LLVM maps each vector type onto the machine's registers (a ``<4 x double>`` is one ``ymm``
with AVX2, two ``xmm`` with SSE2), so the code stays portable.
"""

from __future__ import annotations

from functools import cache

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from impls.numba_tiled import EXP_FLOOR, INV_LN2, LN2_HI, LN2_LO

# Bytes of one row's vector in dot_rows4 / grad_rows4: an AVX2 register, 4 float64 or 8 float32
# lanes. Any power of two from 32 works (the final transpose needs four float64 lanes).
VECTOR_BYTES = 32
_I32 = ir.IntType(32)

# exp(r), |r| <= ln2/2: Taylor coefficients 1/k!, k = 0..13 (as in numba_tiled.exp_taylor).
EXP_COEFFS = tuple(1.0 / float(_f) for _f in (1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880,
                                                3628800, 39916800, 479001600, 6227020800))  # fmt: skip
# atanh(s)/s as a series in s**2, s <= 1/3: 1/(2k+1), k = 0..18 (as in numba_tiled.atanh_series).
ATANH_COEFFS = tuple(1.0 / (2 * k + 1) for k in range(19))


def _estrin(builder: ir.IRBuilder, coeffs, x, const, fma):
    """sum(coeffs[k] * x**k) as a tree: pairs c0 + c1 x, then pairs of those with x**2, ..."""
    terms = [const(c) for c in coeffs]
    power = x
    while len(terms) > 1:
        paired = [fma(terms[k + 1], power, terms[k]) for k in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
        if len(terms) > 1:
            power = builder.fmul(power, power)
    return terms[0]


@cache
def logistic_terms_simd(lanes: int):
    """An intrinsic ``terms(z, y, loss, error)`` over the first ``lanes`` float64 elements.

    ``loss[k] = max(z, 0) + log1p(exp(-|z|)) - y z`` and ``error[k] = sigmoid(z) - y`` for
    ``k < lanes``. All four arguments must be C-contiguous float64 arrays with at least
    ``lanes`` elements; nothing is checked at run time (the caller owns these buffers).
    """

    @intrinsic
    def terms(typingctx, z, y, loss, error):
        arrays = (z, y, loss, error)
        if not all(
            isinstance(a, types.Array) and a.dtype == types.float64 and a.ndim == 1 and a.layout == "C"
            for a in arrays
        ):
            return None

        def codegen(context, builder, signature, args):
            vector = ir.VectorType(ir.DoubleType(), lanes)
            integers = ir.VectorType(ir.IntType(64), lanes)

            def pointer(k):
                view = context.make_array(signature.args[k])(context, builder, args[k])
                return builder.bitcast(view.data, vector.as_pointer())

            def const(value):
                return ir.Constant(vector, [float(value)] * lanes)

            def intrinsic_call(name, *operands):
                function = cgutils.get_or_insert_function(
                    builder.module,
                    ir.FunctionType(vector, [vector] * len(operands)),
                    f"llvm.{name}.v{lanes}f64",
                )
                return builder.call(function, list(operands))

            def fma(a, b, c):  # a*b + c, fused where the machine has FMA
                return intrinsic_call("fmuladd", a, b, c)

            def load_lanes(k):
                # Lane by lane, not one vector load: the caller has just stored these values one
                # at a time, and a vector load spanning several pending stores cannot take its
                # data from them (store forwarding fails) and waits until they reach L1. That
                # stall cost ~40% of the time per row at n = 25.
                view = context.make_array(signature.args[k])(context, builder, args[k])
                value = ir.Constant(vector, ir.Undefined)
                for lane in range(lanes):
                    item = builder.load(builder.gep(view.data, [ir.Constant(ir.IntType(64), lane)]), align=8)
                    value = builder.insert_element(value, item, ir.Constant(ir.IntType(32), lane))
                return value

            zv = load_lanes(0)
            yv = load_lanes(1)
            abs_z = intrinsic_call("fabs", zv)
            # e = exp(x), x = max(-|z|, EXP_FLOOR) = k ln2 + r, |r| <= ln2/2
            x = intrinsic_call("maxnum", builder.fneg(abs_z), const(EXP_FLOOR))
            k = builder.fptosi(builder.fsub(builder.fmul(x, const(INV_LN2)), const(0.5)), integers)
            kf = builder.sitofp(k, vector)
            r = builder.fsub(fma(builder.fneg(kf), const(LN2_HI), x), builder.fmul(kf, const(LN2_LO)))
            biased = builder.add(k, ir.Constant(integers, [1023] * lanes))
            two_to_k = builder.bitcast(builder.shl(biased, ir.Constant(integers, [52] * lanes)), vector)
            e = builder.fmul(_estrin(builder, EXP_COEFFS, r, const, fma), two_to_k)
            # log1p(e) = 2 atanh(s), s = e / (2 + e) <= 1/3
            s = builder.fdiv(e, builder.fadd(e, const(2.0)))
            atanh_over_s = _estrin(builder, ATANH_COEFFS, builder.fmul(s, s), const, fma)
            log1p_e = builder.fmul(builder.fmul(const(2.0), s), atanh_over_s)
            positive_part = builder.fmul(const(0.5), builder.fadd(zv, abs_z))  # max(z, 0)
            loss_v = builder.fsub(builder.fadd(positive_part, log1p_e), builder.fmul(yv, zv))
            # sigmoid(z) = 1/(1+e) for z >= 0, e/(1+e) below
            numerator = builder.select(builder.fcmp_ordered(">=", zv, const(0.0)), const(1.0), e)
            error_v = builder.fsub(builder.fdiv(numerator, builder.fadd(e, const(1.0))), yv)
            builder.store(loss_v, pointer(2), align=8)
            builder.store(error_v, pointer(3), align=8)
            return context.get_dummy_value()

        return types.void(*arrays), codegen

    return terms


def _is_vector(a, dtype=None) -> bool:
    """A 1-D C-contiguous float32 or float64 array (of ``dtype``, if given)."""
    return (
        isinstance(a, types.Array)
        and a.ndim == 1
        and a.layout == "C"
        and a.dtype in (types.float32, types.float64)
        and (dtype is None or a.dtype == dtype)
    )


def _shuffle(builder: ir.IRBuilder, a, b, indices):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, len(indices)), indices))


def _broadcast(builder: ir.IRBuilder, x, lanes: int):
    one = builder.insert_element(
        ir.Constant(ir.VectorType(x.type, lanes), ir.Undefined), x, ir.Constant(_I32, 0)
    )
    return _shuffle(builder, one, one, [0] * lanes)


def _fmuladd(builder: ir.IRBuilder, a, b, c):
    """a*b + c, fused where the machine has FMA (scalars or vectors)."""
    t = a.type
    suffix = f"v{t.count}{_scalar_suffix(t.element)}" if isinstance(t, ir.VectorType) else _scalar_suffix(t)
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(t, [t] * 3), f"llvm.fmuladd.{suffix}"
    )
    return builder.call(function, [a, b, c])


def _fold_to_four_lanes(builder: ir.IRBuilder, v):
    """Add the upper half of a vector onto its lower half until four lanes are left."""
    while v.type.count > 4:
        half = v.type.count // 2
        v = builder.fadd(
            _shuffle(builder, v, v, list(range(half))), _shuffle(builder, v, v, list(range(half, 2 * half)))
        )
    return v


def _scalar_suffix(t) -> str:
    return "f64" if isinstance(t, ir.DoubleType) else "f32"


class _FourRows:
    """Pointers to four consecutive rows of a flat C-contiguous matrix, and the vector type."""

    def __init__(self, context, builder, flat_type, flat, start, n):
        self.builder = builder
        self.element = context.get_value_type(flat_type.dtype)
        self.single = flat_type.dtype == types.float32
        self.align = flat_type.dtype.bitwidth // 8
        self.lanes = VECTOR_BYTES // self.align
        self.vector = ir.VectorType(self.element, self.lanes)
        data = context.make_array(flat_type)(context, builder, flat).data
        self.rows = [
            builder.gep(data, [builder.add(start, builder.mul(n, ir.Constant(n.type, k)))]) for k in range(4)
        ]
        # elements [0, n_vector) in whole vectors, [n_vector, n) one at a time
        self.n_vector = builder.sub(n, builder.srem(n, ir.Constant(n.type, self.lanes)))

    def load_vector(self, pointer, j):
        address = self.builder.bitcast(self.builder.gep(pointer, [j]), self.vector.as_pointer())
        return self.builder.load(address, align=self.align)

    def store_vector(self, value, pointer, j):
        address = self.builder.bitcast(self.builder.gep(pointer, [j]), self.vector.as_pointer())
        self.builder.store(value, address, align=self.align)


@intrinsic
def dot_rows4(typingctx, flat, start, n, w, b, z, k):
    """``z[k + r] = flat[start + r*n : start + (r+1)*n] @ w + b`` for the four rows r = 0..3.

    ``flat`` and ``w`` are 1-D C-contiguous arrays of one float dtype (the sums run in it),
    ``z`` is float64. Nothing is checked at run time: the caller guarantees that the four
    rows, ``w[:n]`` and ``z[k:k+4]`` exist.
    """
    if not (_is_vector(flat) and _is_vector(w, flat.dtype) and _is_vector(z, types.float64)):
        return None
    signature = types.void(flat, types.intp, types.intp, w, types.float64, z, types.intp)

    def codegen(context, builder, signature, args):
        flat_v, start_v, n_v, w_v, b_v, z_v, k_v = args
        rows = _FourRows(context, builder, signature.args[0], flat_v, start_v, n_v)
        w_data = context.make_array(signature.args[3])(context, builder, w_v).data
        z_data = context.make_array(signature.args[5])(context, builder, z_v).data
        intp = n_v.type
        zero = ir.Constant(rows.vector, [0.0] * rows.lanes)
        sums = [cgutils.alloca_once_value(builder, zero) for _ in range(4)]
        step = ir.Constant(intp, rows.lanes)
        with cgutils.for_range_slice(builder, ir.Constant(intp, 0), rows.n_vector, step) as (j, _):
            w_j = rows.load_vector(w_data, j)
            for r in range(4):
                builder.store(
                    _fmuladd(builder, rows.load_vector(rows.rows[r], j), w_j, builder.load(sums[r])), sums[r]
                )
        a = [builder.load(s) for s in sums]
        a = [_fold_to_four_lanes(builder, v) for v in a]
        # Transpose and add: [a0+.., a1+.., a2+.., a3+..] in two rounds of shuffles.
        pair01 = builder.fadd(
            _shuffle(builder, a[0], a[1], [0, 4, 2, 6]), _shuffle(builder, a[0], a[1], [1, 5, 3, 7])
        )
        pair23 = builder.fadd(
            _shuffle(builder, a[2], a[3], [0, 4, 2, 6]), _shuffle(builder, a[2], a[3], [1, 5, 3, 7])
        )
        four = builder.fadd(
            _shuffle(builder, pair01, pair23, [0, 1, 4, 5]), _shuffle(builder, pair01, pair23, [2, 3, 6, 7])
        )
        doubles = ir.VectorType(ir.DoubleType(), 4)
        if rows.single:
            four = builder.fpext(four, doubles)
        logits = cgutils.alloca_once_value(builder, builder.fadd(four, _broadcast(builder, b_v, 4)))
        with cgutils.for_range_slice(builder, rows.n_vector, n_v, ir.Constant(intp, 1)) as (j, _):
            w_j = builder.load(builder.gep(w_data, [j]))
            current = builder.load(logits)
            for r in range(4):
                term = builder.fmul(builder.load(builder.gep(rows.rows[r], [j])), w_j)
                if rows.single:
                    term = builder.fpext(term, ir.DoubleType())
                lane = ir.Constant(_I32, r)
                current = builder.insert_element(
                    current, builder.fadd(builder.extract_element(current, lane), term), lane
                )
            builder.store(current, logits)
        target = builder.bitcast(builder.gep(z_data, [k_v]), doubles.as_pointer())
        builder.store(builder.load(logits), target, align=8)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def grad_rows4(typingctx, flat, start, n, error, k, grad):
    """``grad[j] += sum(error[k + r] * flat[start + r*n + j] for r in 0..3)`` for every j < n.

    ``flat`` and ``grad`` share one float dtype (the products and sums run in it; ``error``
    is float64 and rounded to it). Nothing is checked at run time: the caller guarantees
    that the four rows, ``grad[:n]`` and ``error[k:k+4]`` exist.
    """
    if not (_is_vector(flat) and _is_vector(grad, flat.dtype) and _is_vector(error, types.float64)):
        return None
    signature = types.void(flat, types.intp, types.intp, error, types.intp, grad)

    def codegen(context, builder, signature, args):
        flat_v, start_v, n_v, error_v, k_v, grad_v = args
        rows = _FourRows(context, builder, signature.args[0], flat_v, start_v, n_v)
        error_data = context.make_array(signature.args[3])(context, builder, error_v).data
        grad_data = context.make_array(signature.args[5])(context, builder, grad_v).data
        intp = n_v.type
        errors = []
        for r in range(4):
            e = builder.load(builder.gep(error_data, [builder.add(k_v, ir.Constant(intp, r))]))
            errors.append(builder.fptrunc(e, rows.element) if rows.single else e)
        error_vectors = [_broadcast(builder, e, rows.lanes) for e in errors]
        step = ir.Constant(intp, rows.lanes)
        with cgutils.for_range_slice(builder, ir.Constant(intp, 0), rows.n_vector, step) as (j, _):
            x = [rows.load_vector(rows.rows[r], j) for r in range(4)]
            # two independent pairs, so the four products do not form one chain
            pair01 = _fmuladd(builder, error_vectors[1], x[1], builder.fmul(error_vectors[0], x[0]))
            pair23 = _fmuladd(builder, error_vectors[3], x[3], builder.fmul(error_vectors[2], x[2]))
            total = builder.fadd(rows.load_vector(grad_data, j), builder.fadd(pair01, pair23))
            rows.store_vector(total, grad_data, j)
        with cgutils.for_range_slice(builder, rows.n_vector, n_v, ir.Constant(intp, 1)) as (j, _):
            pointer = builder.gep(grad_data, [j])
            total = builder.load(pointer)
            for r in range(4):
                total = _fmuladd(builder, errors[r], builder.load(builder.gep(rows.rows[r], [j])), total)
            builder.store(total, pointer)
        return context.get_dummy_value()

    return signature, codegen
