"""Loss and error of a few examples at once, as one SIMD vector: ``logistic_terms_simd(lanes)``.

``numba_tiled`` gets SIMD ``exp`` and ``log1p`` by running its polynomials in loops over a
tile of hundreds of logits: LLVM's loop vectorizer then does the work. A small block
is different. For a loop of 4, 8 or 16 iterations LLVM keeps scalar code (its cost model
skips loops this short, and unrolling does not recover the vector form), and scalar
polynomials cost about 25 ns per example on the benchmark machine, as much as reading a
row of 25 doubles from memory.

So this module writes the vector code itself. ``logistic_terms_simd(lanes)`` returns a
Numba intrinsic that emits LLVM IR on ``<lanes x double>`` values: one load of the
logits, the range reduction, the two polynomials and two divisions, one store of the
losses and one of the errors. LLVM maps the vector type onto the machine's registers
(two ``ymm`` for 8 lanes with AVX2, and so on), so the code stays portable.

The mathematics is that of ``numba_tiled.tile_terms`` (same reduction, same
coefficients). The polynomials are evaluated by Estrin's scheme instead of Horner's: a
tree of multiply-adds whose depth grows with the log of the degree, so the next block's
work does not wait on a chain of 30 dependent operations.
"""

from __future__ import annotations

from functools import cache

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from impls.numba_tiled import EXP_FLOOR, INV_LN2, LN2_HI, LN2_LO

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
