import os
import pathlib

import jax
import pytest

jax.config.update("jax_enable_x64", True)

SHARED = pathlib.Path(
    os.environ.get(
        "SPHERECODES_SHARED", pathlib.Path(__file__).resolve().parents[1].parent / "shared"
    )
)


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data, or skip when the reference data is absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set SPHERECODES_SHARED)")
    return path
