"""The BLAS thread pools of this process, found once: a ThreadpoolController scans the
loaded libraries (``threadpool_limits`` makes a new one at every call, about 5 ms here;
a kept controller's ``limit`` takes 0.04 ms)."""

from threadpoolctl import ThreadpoolController

BLAS = ThreadpoolController()


def blas_threads() -> list[int]:
    """The thread counts of the BLAS libraries loaded now."""
    return [lib["num_threads"] for lib in BLAS.select(user_api="blas").info()]


def limit_blas(threads: int):
    """A context in which the BLAS libraries use at most ``threads`` threads."""
    return BLAS.limit(limits=threads, user_api="blas")
