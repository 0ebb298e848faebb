"""The natural logarithm exactly as fdlibm computes it, compiled with Numba.

Java's ``StrictMath.log`` is specified to return fdlibm's ``__ieee754_log`` bit for bit, while
the C library's ``log`` (what ``math.log`` becomes under Numba) is free to differ from it in
the last place. The forest's scores go through logarithms, so a forest that must score
identically in Python and in Java (the Flink SQL function) takes its logarithms from here.

The algorithm (Sun's fdlibm 5.3, ``e_log.c``): write ``x = 2**k * (1 + f)`` with ``1 + f`` in
``[sqrt(2)/2, sqrt(2))``; then ``log(x) = k * ln2 + log(1 + f)``, and with ``s = f / (2 + f)``,
``log(1 + f) = f - s * (f - R(s*s))`` where R is a minimax polynomial of degree 14 in s
(coefficients Lg1..Lg7 in ``z = s*s``). ``ln2`` is split into a high part with trailing zero
bits (so that ``k * ln2_hi`` is exact) and a low correction. Every operation below is a plain
IEEE double operation in fdlibm's order, so the result is the same bit for bit on any
platform that does not fuse multiply-adds (Numba does not without ``fastmath``; Java never
does).

Instead of reading the double's bit pattern, the decomposition uses ``math.frexp``, which is
exact: ``x = m * 2**e`` with ``m`` in ``[0.5, 1)``, so fdlibm's high-word significand bits are
``(2m - 1) * 2**20`` rounded down, and its normalisation threshold ``0x6a09c`` on those bits
(``1 + f`` below about sqrt(2)) picks ``2m`` or ``m``.
"""

from __future__ import annotations

import math

from numba import njit

LN2_HI = 6.93147180369123816490e-01  # 0x3FE62E42_FEE00000: ln 2 with 32 trailing zero bits
LN2_LO = 1.90821492927058770002e-10  # 0x3DEA39EF_35793C76: ln 2 - LN2_HI
LG1 = 6.666666666666735130e-01  # 0x3FE55555_55555593
LG2 = 3.999999999940941908e-01  # 0x3FD99999_9997FA04
LG3 = 2.857142874366239149e-01  # 0x3FD24924_94229359
LG4 = 2.222219843214978396e-01  # 0x3FCC71C5_1D8E78AF
LG5 = 1.818357216161805012e-01  # 0x3FC74664_96CB03DE
LG6 = 1.531383769920937332e-01  # 0x3FC39A09_D078C69F
LG7 = 1.479819860511658591e-01  # 0x3FC2F112_DF3E5244
THIRD = 0.33333333333333333  # fdlibm's literal for the |f| < 2**-20 shortcut
SQRT2_BITS = 0x6A09C  # significand high bits from which 1 + f is taken as (1 + f) / 2
LN2 = 0.6931471805599453  # the double nearest ln 2: log2(x) is defined as log(x) / LN2


@njit(cache=True)
def log(x: float) -> float:
    """ln(x), bit for bit as fdlibm's ``__ieee754_log`` (and Java's ``StrictMath.log``)."""
    if x != x or x == math.inf:
        return x + x
    if x <= 0.0:
        return -math.inf if x == 0.0 else math.nan
    m, e = math.frexp(x)
    k = e - 1  # x = 2**k * (1 + fraction) with the significand in [1, 2)
    high = int((m * 2.0 - 1.0) * 1048576.0)  # the top 20 bits of the fraction
    if high >= SQRT2_BITS:
        k += 1
        f = m - 1.0
    else:
        f = m * 2.0 - 1.0
    if ((high + 2) & 0xFFFFF) < 3:  # |f| < 2**-20: a short series is enough
        if f == 0.0:
            if k == 0:
                return 0.0
            dk = float(k)
            return dk * LN2_HI + dk * LN2_LO
        r = f * f * (0.5 - THIRD * f)
        if k == 0:
            return f - r
        dk = float(k)
        return dk * LN2_HI - ((r - dk * LN2_LO) - f)
    s = f / (2.0 + f)
    dk = float(k)
    z = s * s
    w = z * z
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    r = t2 + t1
    if 0x6147A <= high <= 0x6B851:  # 1 + f near sqrt(2) or sqrt(2)/2: f * f / 2 kept apart
        half_square = 0.5 * f * f
        if k == 0:
            return f - (half_square - s * (half_square + r))
        return dk * LN2_HI - ((half_square - (s * (half_square + r) + dk * LN2_LO)) - f)
    if k == 0:
        return f - s * (f - r)
    return dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f)


@njit(cache=True)
def log2(x: float) -> float:
    """log2(x) as ``log(x) / LN2``: one correctly rounded division of fdlibm's logarithm, which
    Java reproduces as ``StrictMath.log(x) / LN2``. Within an ulp or two of the true value;
    exact for 2**k with |k| <= 28 (checked), so log2(256) is 8.0."""
    return log(x) / LN2
