"""Minibatch epochs on a torch device, with no host round trip per step.

For data in a torch tensor, :class:`DeviceLoop` runs the steps of
:class:`~logitkit.solvers.stochastic.Trainer` where X lives: the trained coordinates u,
the optimizer's buffers and the epoch's loss and accuracy sums stay on the device, and
the optimizer's per-step numbers (learning rates, bias corrections) are computed on the
host for a whole epoch and uploaded at once. On CUDA, 16 full-size steps are captured
once as a CUDA graph and replayed, so a step costs its kernels and no Python; elsewhere
(CPU torch) the same step runs eagerly. The row order comes from the trainer's NumPy
generator, so a seed gives the same trajectory on every backend (the tests compare them).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from logitkit.backends import to_numpy

# warm-up steps run eagerly on a side stream before a capture (PyTorch's recipe)
_WARMUP_STEPS = 2
# full-size steps per captured graph: one launch from Python replays all of them
_GRAPH_STEPS = 16


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
        self.sums = torch.zeros(2, dtype=torch.float64, device=dev)  # loss * rows, correct
        self.order = torch.arange(ob.n, device=dev)
        self.batches = self.order[: self.full * batch].view(self.full, batch)
        self.scalars = torch.zeros((self.steps, trainer.optimizer.n_scalars),
                                   dtype=torch.float64, device=dev)
        self.step_index = torch.zeros(1, dtype=torch.int64, device=dev)
        self.graph = None
        self.graph_steps = min(_GRAPH_STEPS, self.full - _WARMUP_STEPS)
        self.capture = dev.type == "cuda" and self.graph_steps > 0

    def epoch(self, order: np.ndarray | None, progress=None) -> tuple[float, float]:
        """Run one epoch in the row ``order`` (None: as stored); returns (sum over steps of
        the batch objective times its rows, weight of the correctly classified rows).
        ``progress(steps_done, loss_sum, correct)`` is called about ten times if given."""
        trainer = self.trainer
        if order is not None:
            self.order.copy_(torch.from_numpy(order))
        self.scalars.copy_(torch.from_numpy(
            trainer.optimizer.table(trainer.state.count, self.steps)))
        self.sums.zero_()
        self.step_index.zero_()
        every = max(1, self.steps // 10)
        done, report_at = 0, every
        if self.capture and self.graph is None:
            done = self._warm_up()
            try:
                self.graph = self._capture()
            except RuntimeError as error:  # a step a graph cannot hold: run it eagerly
                self.capture = False
                warnings.warn(f"minibatch steps could not be captured as a CUDA graph "
                              f"({error}); they run one launch at a time (same results, "
                              "slower)", RuntimeWarning, stacklevel=4)
        while done < self.full:
            if self.graph is not None and done + self.graph_steps <= self.full:
                self.graph.replay()
                done += self.graph_steps
            else:
                self._full_step()
                done += 1
            if progress is not None and done >= report_at:
                progress(done, *to_numpy(self.sums))
                report_at = (done // every + 1) * every
        if self.full < self.steps:  # the last, short batch
            rows = self.order[self.full * self.batch:]
            self._step(rows, self.scalars[self.full])
        loss_sum, correct = (float(v) for v in to_numpy(self.sums))
        self._write_back()
        return loss_sum, correct

    def _write_back(self):
        trainer = self.trainer
        trainer.u = to_numpy(self.u).copy()
        for host, dev in zip(trainer.state.buffers, self.buffers, strict=True):
            host[...] = to_numpy(dev)
        for state in trainer.state.states:
            state.count += self.steps

    def _warm_up(self) -> int:
        """Run the first steps on a side stream (PyTorch's recipe before a capture); they
        are real steps. Returns how many ran."""
        self._side = torch.cuda.Stream()
        self._side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self._side):
            for _ in range(_WARMUP_STEPS):
                self._full_step()
        torch.cuda.current_stream().wait_stream(self._side)
        return _WARMUP_STEPS

    def _capture(self):
        """Capture ``graph_steps`` full-size steps as one CUDA graph (nothing runs)."""
        # capture_begin/end rather than torch.cuda.graph, whose entry collects garbage
        # and empties the allocator's cache (tens of milliseconds, then fresh allocations)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.stream(self._side):
            graph.capture_begin()
            try:
                for _ in range(self.graph_steps):
                    self._full_step()
            finally:
                graph.capture_end()
        torch.cuda.current_stream().wait_stream(self._side)
        return graph

    def _full_step(self):
        rows = self.batches.index_select(0, self.step_index).view(-1)
        self._step(rows, self.scalars.index_select(0, self.step_index)[0])
        self.step_index += 1

    def _step(self, rows, scalars):
        """One update at the rows given, with the step's optimizer scalars (k,)."""
        problem, ob = self.problem, self.objective
        md, d = ob.m * ob.d1, ob.d
        theta = problem.to_natural(self.u)
        W, aux = theta[:md].reshape(ob.m, ob.d1), theta[md:]
        loss, grad_W, grad_aux, eta = ob.batch_terms(W, aux, rows)
        if self.penalty.alpha > 0:
            loss = loss + self.penalty.slope_value(W[:, :d])
            grad_W[:, :d] += self.penalty.slope_gradient(W[:, :d])
        grad = problem.gradient(self.u, torch.cat([grad_W.reshape(-1), grad_aux]))
        self.u += self.trainer.optimizer.apply(grad, self.buffers, scalars)
        hit = ob.family.predict_class(eta, aux) == ob.y[rows]
        self.sums[0] += loss * eta.shape[0]
        self.sums[1] += (ob.w[rows] * hit.to(torch.float64)).sum()
