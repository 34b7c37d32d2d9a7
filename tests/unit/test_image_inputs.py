"""The app images are tagged by content (scripts/image-inputs.sh) and installed from uv.lock.

Same inputs, same tag (no needless rebuild or reload into kind); any change of what an image is
made of, a new tag; every file the Dockerfile copies is an input; each image installs its own
share of the lock, hash-checked.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "scripts" / "image-inputs.sh"
APP_IMAGES = ("publisher", "spark-job")


def _bash(script: str, *args: str) -> str:
    proc = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; . "{LIB}"; {script}', "bash", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _hash(root: Path, *inputs: str, text: str = "", from_id: str = "sha256:base", args: str = "build") -> str:
    return _bash('inputs_hash "$@"', str(root / "images" / "app"), str(root), text, from_id, args, *inputs)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "images" / "app").mkdir(parents=True)
    (tmp_path / "images" / "app" / "Dockerfile").write_text("FROM base\n")
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "mod.py").write_text("X = 1\n")
    (tmp_path / "uv.lock").write_text("lock\n")
    return tmp_path


def _inputs(root: Path) -> tuple[str, ...]:
    return ("Dockerfile", f"{root}/uv.lock", f"{root}/pkg")


def test_the_same_inputs_give_the_same_tag(tree: Path):
    first = _hash(tree, *_inputs(tree))
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert _hash(tree, *_inputs(tree)) == first
    assert _bash('content_tag "$@"', "0.1.0", first) == f"0.1.0-{first[:12]}"


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "pkg" / "sub" / "mod.py").write_text("X = 2\n"),
        lambda root: (root / "pkg" / "sub" / "new.py").write_text(""),
        lambda root: (root / "pkg" / "sub" / "mod.py").rename(root / "pkg" / "mod.py"),
        lambda root: (root / "uv.lock").write_text("lock 2\n"),
        lambda root: (root / "images" / "app" / "Dockerfile").write_text("FROM other\n"),
    ],
    ids=["code", "new file", "moved file", "lock", "Dockerfile"],
)
def test_any_change_of_the_content_gives_a_new_tag(tree: Path, change):
    before = _hash(tree, *_inputs(tree))
    change(tree)
    assert _hash(tree, *_inputs(tree)) != before


def test_the_base_image_and_the_build_arguments_are_inputs(tree: Path):
    before = _hash(tree, *_inputs(tree))
    assert _hash(tree, *_inputs(tree), from_id="sha256:newbase") != before
    assert _hash(tree, *_inputs(tree), args="build --build-arg X=1") != before


def test_what_dockerignore_keeps_out_of_the_context_is_no_input(tree: Path):
    before = _hash(tree, *_inputs(tree))
    (tree / "pkg" / "__pycache__").mkdir()
    (tree / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (tree / "pkg" / "sub" / "mod.pyc").write_bytes(b"\0")
    (tree / "pkg" / "article_pipeline.egg-info").mkdir()
    (tree / "pkg" / "article_pipeline.egg-info" / "PKG-INFO").write_text("x")
    assert _hash(tree, *_inputs(tree)) == before


def test_a_missing_input_fails_instead_of_hashing_nothing(tree: Path):
    args = [str(tree / "images" / "app"), str(tree), "", "", "", "Dockerfile", "gone.txt"]
    script = f'set -euo pipefail; . "{LIB}"; inputs_hash "$@"'
    proc = subprocess.run(["bash", "-c", script, "bash", *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "no input" in proc.stderr


def test_file_inputs_hash_as_before_so_cached_images_stay_current(tree: Path):
    """localstack and spark-operator list files only: their label hash is the one they had."""
    dockerfile = tree / "images" / "app" / "Dockerfile"
    old = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()} {path.name}\n" for path in (dockerfile, tree / "uv.lock")
    )
    old += "pinned\nsha256:base\nbuild --network host\n"
    expected = hashlib.sha256(old.encode()).hexdigest()
    got = _hash(tree, "Dockerfile", f"{tree}/uv.lock", text="pinned", args="build --network host")
    assert got == expected


def test_a_content_tag_needs_a_hash():
    proc = subprocess.run(
        ["bash", "-c", f'. "{LIB}"; content_tag 0.1.0 ""'], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode != 0


def _copied_sources(dockerfile: Path) -> list[str]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    sources = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(word.startswith("--from") for word in words):
            sources += [word for word in words[1:-1] if not word.startswith("--")]
    return sources


@pytest.mark.parametrize("image", APP_IMAGES)
def test_every_file_the_dockerfile_copies_is_an_input_of_the_tag(image: str):
    folder = REPO / "images" / image
    declared = subprocess.run(
        [
            "bash",
            "-c",
            f'repo="{REPO}"; dir="{folder}"; . "{folder}/image.sh"; printf "%s\\n" "$version" "${{inputs[@]}}"',
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split("\n")
    version, inputs = declared[0], [line for line in declared[1:] if line]
    assert version == "0.1.0"
    paths = [Path(p) if p.startswith("/") else folder / p for p in inputs]
    assert REPO / "uv.lock" in paths and folder / "Dockerfile" in paths
    sources = _copied_sources(folder / "Dockerfile")
    assert sources, "no COPY found"
    for source in sources:
        target = REPO / source
        assert any(target == p or p in target.parents for p in paths), (
            f"images/{image}/Dockerfile copies {source}, which is no input in images/{image}/image.sh: "
            "a change to it would keep the old tag"
        )


@pytest.mark.parametrize(("image", "extra"), [("publisher", "publisher"), ("spark-job", "job")])
def test_each_image_installs_its_share_of_the_lock_hash_checked(image: str, extra: str):
    text = (REPO / "images" / image / "Dockerfile").read_text()
    assert "pyproject_deps" not in text
    assert "COPY requirements-bootstrap.txt pyproject.toml uv.lock ./" in text
    assert "pip install --require-hashes -r requirements-bootstrap.txt" in text
    assert "uv lock --check --offline" in text and "make lock" in text
    exports = re.findall(r"uv export [^;]*", text)
    assert len(exports) == 1 and f"--extra {extra} " in exports[0] and "--frozen" in exports[0], exports
    assert exports[0].count("--extra") == 1, "one extra per image: no pyspark in the publisher"
    installs = re.findall(r"(?:uv )?pip install [^;]*", text)
    for install in installs:
        if "-r " in install:
            assert "--require-hashes" in install, install


def test_make_venv_installs_the_lock_hash_checked():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile[makefile.index("$(STAMP):") :].split("\n\n")[0]
    assert "uv.lock" in recipe.splitlines()[0], "the venv is not rebuilt when the lock changes"
    assert "ops.lockcheck" in recipe
    assert re.search(r"\$\(UV\) pip install [^\n]*--require-hashes[^\n]*-r \$\(LOCKED_REQUIREMENTS\)", recipe)
    assert "--extra dev" in recipe
    assert "pip install --quiet --require-hashes -r requirements-bootstrap.txt" in makefile
