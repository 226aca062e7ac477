"""The README's "From JAX" example runs as printed and gives the right
numbers (so the front page never shows code that does not work)."""

import pathlib

import numpy as np


def test_readme_example_runs():
    readme = pathlib.Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text()
    section = text[text.index("## From JAX"):]
    start = section.index("```python") + len("```python")
    code = section[start:section.index("```", start)]
    scope: dict = {}
    exec(compile(code, "README.md (From JAX)", "exec"), scope)  # noqa: S102
    # o = sin((1 + 1) * 2) everywhere.
    np.testing.assert_allclose(np.asarray(scope["o"]), np.sin(4.0), rtol=1e-6)
