"""Minibatch epochs on a torch device, with no host round trip per step.

For data in a torch tensor, :class:`DeviceLoop` runs the steps of
:class:`~logitkit.solvers.stochastic.Trainer` where X lives: the trained coordinates u,
the optimizer's buffers and the epoch's loss and accuracy sums stay on the device, and
the optimizer's per-step numbers (learning rates, bias corrections) are computed on the
host for a whole epoch and uploaded at once. Steps run in windows of up to 16: a
window's row indices, labels, weights and optimizer numbers are gathered into fixed
buffers at once, so a step gathers only its rows of X. On CUDA, a full window of steps is
captured once as a CUDA graph and replayed, so a step costs its kernels and no Python;
elsewhere (CPU torch) the same steps run eagerly. The row order comes from the trainer's
NumPy generator, so a seed gives the same trajectory on every backend (the tests compare
them).
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import torch

from logitkit.backends import to_numpy

# steps per window: one gather of their labels and weights, one graph replay on CUDA
_WINDOW_STEPS = 16


class DeviceLoop:
    """One :meth:`Trainer.run`'s epochs on X's device; u and the optimizer state are read
    from the trainer at the start and written back after every epoch."""

    def __init__(self, problem, trainer, batch: int):
        ob = problem.train
        self.problem, self.objective, self.trainer = problem, ob, trainer
        self.penalty = ob.penalty.like(ob.X)
        self.batch = batch
        self.full = ob.n // batch  # full-size steps per epoch
        self.steps = max(1, math.ceil(ob.n / batch))
        dev = ob.X.device
        self.u = torch.tensor(trainer.u, dtype=torch.float64, device=dev)
        self.buffers = [torch.tensor(b, dtype=torch.float64, device=dev)
                        for b in trainer.state.buffers]
        self.grad = torch.empty(ob.n_params, dtype=torch.float64, device=dev)
        self.order = torch.arange(ob.n, device=dev)
        self.batches = self.order[: self.full * batch].view(self.full, batch)
        # the current window: rows, labels, weights (as given, and times the batch's
        # scale n / (b * total weight)) and optimizer scalars of each of its steps
        self.window = max(1, min(_WINDOW_STEPS, self.full))
        shape = (self.window, batch)
        self.rows = torch.empty(shape, dtype=torch.int64, device=dev)
        self.y = torch.empty(shape, dtype=ob.y.dtype, device=dev)
        self.w = torch.empty(shape, dtype=torch.float64, device=dev)
        self.w_scaled = torch.empty(shape, dtype=torch.float64, device=dev)
        self.scalars = torch.empty((self.window, trainer.optimizer.n_scalars),
                                   dtype=torch.float64, device=dev)
        # each step adds record * factors to sums; record: (scaled batch loss, slopes'
        # penalty quadratic if penalised, weight of the correctly classified rows)
        self.penalised = self.penalty.alpha > 0
        self.sums = torch.zeros(2 + self.penalised, dtype=torch.float64, device=dev)
        self.factors, self.last_factors = (self._factors(b, dev)
                                           for b in (batch, ob.n - self.full * batch))
        self.graph = None
        self.capture = dev.type == "cuda" and self.full > 0

    def _factors(self, rows: int, dev):
        """A step's record times these is its share of the epoch's sums."""
        factors = [rows, 0.5 * self.penalty.alpha * rows, 1.0] if self.penalised else [rows, 1.0]
        return torch.tensor(factors, dtype=torch.float64, device=dev)

    def epoch(self, order: np.ndarray | None, progress=None) -> tuple[float, float]:
        """Run one epoch in the row ``order`` (None: as stored); returns (sum over steps of
        the batch objective times its rows, weight of the correctly classified rows).
        ``progress(steps_done, loss_sum, correct)`` is called about ten times if given."""
        trainer, ob = self.trainer, self.objective
        if order is not None:
            self.order.copy_(torch.from_numpy(order))
        table = torch.from_numpy(trainer.optimizer.table(trainer.state.count, self.steps))
        table = table.to(self.u.device)
        self.sums.zero_()
        every = max(1, self.steps // 10)
        done, report_at = 0, every
        while done < self.full:
            size = min(self.window, self.full - done)
            self._gather(done, size, table)
            if self.capture and size == self.window:
                self._run_graph()
            else:
                for k in range(size):
                    self._window_step(k)
            done += size
            if progress is not None and done >= report_at:
                progress(done, *self._totals())
                report_at = (done // every + 1) * every
        if self.full < self.steps:  # the last, short batch
            rows = self.order[self.full * self.batch:]
            w = ob.w[rows]
            scale = ob.n / (rows.shape[0] * ob.total_weight)
            self._step(rows, ob.y[rows], w, w * scale, table[self.full], self.last_factors)
        loss_sum, correct = self._totals()
        self._write_back()
        return loss_sum, correct

    def _totals(self) -> tuple[float, float]:
        """(loss sum, correct weight) so far: one host read."""
        sums = to_numpy(self.sums)
        return float(sums[:-1].sum()), float(sums[-1])

    def _gather(self, done: int, size: int, table):
        """Fill the window's buffers for the steps done .. done + size - 1."""
        ob = self.objective
        rows = self.rows[:size]
        rows.copy_(self.batches[done:done + size])
        torch.index_select(ob.y, 0, rows.view(-1), out=self.y[:size].view(-1))
        torch.index_select(ob.w, 0, rows.view(-1), out=self.w[:size].view(-1))
        torch.mul(self.w[:size], ob.n / (self.batch * ob.total_weight),
                  out=self.w_scaled[:size])
        self.scalars[:size].copy_(table[done:done + size])

    def _run_graph(self):
        """A full window's steps: replayed from the CUDA graph, or (the first time) run
        eagerly on a side stream, PyTorch's warm-up before a capture, then captured."""
        if self.graph is not None:
            self.graph.replay()
            return
        with self._side_stream():
            for k in range(self.window):  # real steps
                self._window_step(k)
            try:
                self.graph = self._capture()
            except RuntimeError as error:  # a step a graph cannot hold: run it eagerly
                self.capture = False
                warnings.warn(f"minibatch steps could not be captured as a CUDA graph "
                              f"({error}); they run one launch at a time (same results, "
                              "slower)", RuntimeWarning, stacklevel=5)

    @contextlib.contextmanager
    def _side_stream(self):
        """Work on a fresh CUDA stream that waits for, and is then awaited by, the current."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            yield
        torch.cuda.current_stream().wait_stream(side)

    def _capture(self):
        """Capture a window's steps as one CUDA graph (nothing runs)."""
        # capture_begin/end rather than torch.cuda.graph, whose entry collects garbage
        # and empties the allocator's cache (tens of milliseconds, then fresh allocations)
        graph = torch.cuda.CUDAGraph()
        graph.capture_begin()
        try:
            for k in range(self.window):
                self._window_step(k)
        finally:
            graph.capture_end()
        return graph

    def _window_step(self, k: int):
        self._step(self.rows[k], self.y[k], self.w[k], self.w_scaled[k], self.scalars[k],
                   self.factors)

    def _step(self, rows, y, w, w_scaled, scalars, factors):
        """One update at the rows given (b,), with their labels y (b,), weights w (b,),
        weights times the batch's scale, the step's optimizer scalars (k,) and the factors
        of its record in the sums."""
        problem, ob, penalty = self.problem, self.objective, self.penalty
        md, d = ob.m * ob.d1, ob.d
        theta = problem.to_natural(self.u)
        W, aux = theta[:md].reshape(ob.m, ob.d1), theta[md:]
        loss, eta = ob.batch_terms(W, aux, ob.X[rows], y, w_scaled, self.grad,
                                   ob._offset_rows(rows))
        record = [loss]
        if self.penalised:
            B = W[:, :d]
            GB = penalty.gram_times(B)
            self.grad[:md].view(ob.m, ob.d1)[:, :d].add_(GB, alpha=penalty.alpha)
            # B' G B: one dot product for one row of slopes (B a view of u, W[:, :d] with
            # intercepts is not), else without copying B
            record.append(torch.dot(GB.reshape(-1), B.reshape(-1)) if B.is_contiguous()
                          else (GB * B).sum())
        grad = problem.gradient(self.u, self.grad)
        self.u += self.trainer.optimizer.apply(grad, self.buffers, scalars)
        hit = ob.family.predict_class(eta, aux) == y
        record.append((w * hit).sum())
        self.sums.addcmul_(torch.stack(record), factors)

    def _write_back(self):
        trainer = self.trainer
        trainer.u = to_numpy(self.u).copy()
        for host, dev in zip(trainer.state.buffers, self.buffers, strict=True):
            host[...] = to_numpy(dev)
        for state in trainer.state.states:
            state.count += self.steps
