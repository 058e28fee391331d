import pathlib

import jax
import pytest

jax.config.update("jax_enable_x64", True)

#: Reference data copied into the repository (see tests/data/README.md).
DATA = pathlib.Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def ref_data():
    """Path to tests/data: Sloane's best-known d = 3 table and coordinate files."""
    return DATA
