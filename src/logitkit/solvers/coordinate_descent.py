"""Coordinate descent on a small dense quadratic with an L1 (or group-L1) term.

Minimises  r0' (z - z0) + 1/2 (z - z0)' Q (z - z0) + sum_i w_i |z_i|  over z (P,)
(grouped: sum_g w_g ||z_g||_2 over consecutive groups of ``size`` coordinates), the
model that :mod:`logitkit.solvers.prox_newton` builds on a working set. Each update
costs O(P) (the model's gradient r = r0 + Q (z - z0) is kept up to date), none reads X.
A coordinate takes its exact minimiser (soft-thresholding); a group takes proximal
gradient steps with its block's largest eigenvalue as step bound (block
soft-thresholding, glmnet's bound for ``type.multinomial="grouped"``).

With numba (the ``[fast]`` extra; :func:`logitkit.solvers.compiled_loop.available`) the
sweeps run compiled; without it the same code runs in Python with NumPy vector updates.
"""

from __future__ import annotations

import numpy as np

from logitkit.solvers import compiled_loop

# proximal steps of a group per visit (its block is small; a few steps cost little)
_GROUP_STEPS = 5


def solve(Q, r, z, weights, size: int, tol: float, max_sweeps: int) -> int:
    """Coordinate descent in place on z (P,) and r (P,) (the model's gradient at z) until
    the largest violation of the model's optimality conditions is <= ``tol`` or after
    ``max_sweeps`` sweeps; returns the sweeps made. ``weights``: (P,) per coordinate, or
    with ``size`` > 1 (groups) (P / size,) per group."""
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    if size > 1:
        blocks = np.stack([Q[g * size:(g + 1) * size, g * size:(g + 1) * size]
                           for g in range(len(weights))]) if len(weights) else np.zeros((0, 1, 1))
        bounds = np.linalg.eigvalsh(blocks)[:, -1] if len(weights) else np.zeros(0)
    else:
        bounds = np.diag(Q).copy()
    kernel = compiled_loop.jitted(_sweeps, _axpy=_axpy_loop, _violation=_violation)
    return int(kernel(Q, r, z, np.asarray(weights, float), bounds, size, float(tol),
                      int(max_sweeps)))


def _axpy(r, Q, i, delta):
    """r += delta * Q[i] (Q symmetric: its row i is its column i)."""
    r += delta * Q[i]


def _axpy_loop(r, Q, i, delta):
    for k in range(r.shape[0]):
        r[k] += delta * Q[i, k]


def _violation(r, z, weights, size):
    """The largest violation of the model's optimality conditions at z."""
    worst = 0.0
    for g in range(weights.shape[0]):
        w = weights[g]
        if size == 1:
            zi, ri = z[g], r[g]
            v = abs(ri + w * np.sign(zi)) if zi != 0.0 else max(abs(ri) - w, 0.0)
        else:
            zn, rn, mv = 0.0, 0.0, 0.0
            for k in range(g * size, (g + 1) * size):
                zn += z[k] * z[k]
                rn += r[k] * r[k]
            zn = np.sqrt(zn)
            if zn > 0.0:
                for k in range(g * size, (g + 1) * size):
                    mv += (r[k] + w * z[k] / zn) ** 2
                v = np.sqrt(mv)
            else:
                v = max(np.sqrt(rn) - w, 0.0)
        worst = max(worst, v)
    return worst


def _sweeps(Q, r, z, weights, bounds, size, tol, max_sweeps):
    """The loop of :func:`solve`; ``bounds``: Q's diagonal (coordinates) or each group's
    largest eigenvalue."""
    sweeps = 0
    step = np.empty(size)
    while sweeps < max_sweeps and _violation(r, z, weights, size) > tol:
        sweeps += 1
        for g in range(weights.shape[0]):
            a = bounds[g]
            if not a > 0.0:  # no curvature in the model: the coordinate stays
                continue
            w = weights[g]
            if size == 1:
                u = z[g] - r[g] / a
                new = np.sign(u) * max(abs(u) - w / a, 0.0)
                delta = new - z[g]
                if delta != 0.0:
                    z[g] = new
                    _axpy(r, Q, g, delta)
                continue
            for _ in range(_GROUP_STEPS):
                norm = 0.0
                for k in range(g * size, (g + 1) * size):
                    u = z[k] - r[k] / a
                    norm += u * u
                norm = np.sqrt(norm)
                shrink = max(1.0 - w / (a * norm), 0.0) if norm > 0.0 else 0.0
                for k in range(size):  # the whole group's step from the same r
                    step[k] = shrink * (z[g * size + k] - r[g * size + k] / a) - z[g * size + k]
                moved = 0.0
                for k in range(size):
                    if step[k] != 0.0:
                        z[g * size + k] += step[k]
                        _axpy(r, Q, g * size + k, step[k])
                        moved = max(moved, abs(step[k]))
                if moved == 0.0:
                    break
    return sweeps
