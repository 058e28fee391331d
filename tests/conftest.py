import os
import pathlib
import shutil
import tempfile

# One XLA compilation cache for the whole test session: the processes the tests start (worker
# pools, Ray tasks, the command line in a subprocess, pytest-xdist's workers) compile the same
# programs as this one, and with the cache each program is compiled once per session instead of
# once per process. Set before JAX is imported, so that every process inherits it; a fresh
# folder per session (tests never see an earlier run's programs) removed at the end.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="spherecodes-xla-")
    os.environ["SPHERECODES_TEST_OWNS_XLA_CACHE"] = str(os.getpid())
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)

#: Reference data copied into the repository (see tests/data/README.md).
DATA = pathlib.Path(__file__).resolve().parent / "data"


def pytest_unconfigure(config):
    """Remove the session's compilation cache (only in the process that made it)."""
    if os.environ.get("SPHERECODES_TEST_OWNS_XLA_CACHE") == str(os.getpid()):
        shutil.rmtree(os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)


@pytest.fixture(scope="session")
def ref_data():
    """Path to tests/data: Sloane's best-known d = 3 table and coordinate files."""
    return DATA
