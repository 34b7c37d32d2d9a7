"""One Prometheus for the repository: the kind loop's server image (images/prometheus/) and the chart
tier's promtool (scripts/lint/install-promtool.sh) are built from the same pinned module version by
the same function (images/prometheus/versions.sh: prometheus_build), and the image is rebuilt
exactly when what it is made of changes (image.sh's inputs). The builds here run a fake `go`, so
the tier stays fast and offline; tests/images/test_prometheus.py builds and runs the real server."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from prometheus_image import FOLDER, INSTALL_PROMTOOL, REPO, VERSIONS, pinned, version_line

pytestmark = pytest.mark.unit

PREPARE = FOLDER / "prepare.sh"
DOCKERFILE = FOLDER / "Dockerfile"
# Where a Prometheus version can be written down in the repository
SCANNED = ("README.md", "Makefile", "mk", "docs", "images", "scripts", "tests", ".ci")
SUFFIXES = {".md", ".sh", ".py", ".mk", ".yaml", ".yml", ".txt", ".toml"}

# A stand-in for the Go toolchain: answers `go env`, `go mod download -json` (from $FAKE_GO_JSON)
# and `go build -o OUT ... ./cmd/NAME` (logs the call, shell-quoted, to $FAKE_GO_BUILDS, then writes an OUT
# that prints the version line the ldflags stamp would give).
FAKE_GO = r"""#!/usr/bin/env bash
set -euo pipefail
case "$1" in
  env)
    case "$2" in GOVERSION) echo go1.99.0 ;; GOARCH|GOHOSTARCH) echo amd64 ;; esac ;;
  mod)
    cat "$FAKE_GO_JSON" ;;
  build)
    shift
    echo "cwd=$PWD CGO_ENABLED=${CGO_ENABLED:-} GOOS=${GOOS:-} $(printf '%q ' "$@")" >>"$FAKE_GO_BUILDS"
    out="" version="" revision="" prev=""
    for arg in "$@"; do
      [ "$prev" = -o ] && out="$arg"
      prev="$arg"
    done
    version="$(sed -n 's/.*common\/version.Version=\([^ ]*\).*/\1/p' <<<"$*")"
    revision="$(sed -n 's/.*common\/version.Revision=\([^ ]*\).*/\1/p' <<<"$*")"
    name="${!#}"; name="${name##*/}"
    printf '#!/bin/sh\necho "%s, version %s (branch: module, revision: %s)"\n' "$name" "$version" "$revision" >"$out"
    chmod +x "$out" ;;
  *) echo "fake go: $*" >&2; exit 2 ;;
esac
"""


def _text_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = REPO / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [
                p
                for p in path.rglob("*")
                if p.is_file() and (p.suffix in SUFFIXES or p.name in {"Makefile", "Dockerfile", "run"})
            ]
    return files


class FakeGo:
    """A module directory, the `go mod download -json` answer about it, and a fake `go` on PATH."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.module = root / "mod" / f"github.com/prometheus/prometheus@{pinned('PROMETHEUS_VERSION')}"
        for command in ("prometheus", "promtool"):
            (self.module / "cmd" / command).mkdir(parents=True)
            (self.module / "cmd" / command / "main.go").write_text("package main\n")
        (self.module / "VERSION").write_text(pinned("PROMETHEUS_RELEASE") + "\n")
        self.bin = root / "fakebin"
        self.bin.mkdir()
        (self.bin / "go").write_text(FAKE_GO)
        (self.bin / "go").chmod(0o755)
        self.builds = root / "builds.log"
        self.builds.write_text("")
        self.answer(pinned("PROMETHEUS_SUM"), pinned("PROMETHEUS_GOMOD_SUM"))

    def answer(self, module_sum: str, gomod_sum: str) -> None:
        """What `go mod download -json` prints (the layout the scripts parse)."""
        fields = {
            "Path": "github.com/prometheus/prometheus",
            "Version": pinned("PROMETHEUS_VERSION"),
            "Dir": str(self.module),
            "Sum": module_sum,
            "GoModSum": gomod_sum,
        }
        body = ",\n".join(f'\t"{key}": "{value}"' for key, value in fields.items())
        (self.root / "download.json").write_text("{\n" + body + "\n}\n")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        env.update(
            PATH=f"{self.bin}:/usr/bin:/bin",
            XDG_CACHE_HOME=str(self.root / "cache"),
            FAKE_GO_JSON=str(self.root / "download.json"),
            FAKE_GO_BUILDS=str(self.builds),
        )
        return env

    def calls(self) -> list[str]:
        return self.builds.read_text().splitlines()


@pytest.fixture
def fake_go(tmp_path: Path) -> FakeGo:
    return FakeGo(tmp_path)


def _build(fake: FakeGo, command: str, out: Path, tags: str = "") -> subprocess.CompletedProcess[str]:
    script = f'. "{VERSIONS}"; prometheus_build pm_log {command} "$1" "$2"'
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; {script}", "bash", str(out), tags],
        env=fake.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _image_sh(*names: str) -> dict[str, list[str]]:
    """What images/prometheus/image.sh declares, as scripts/build-image.sh sources it."""
    script = (
        f'dir="{FOLDER}" repo="{REPO}" cache=/nonexistent; build_args=() inputs=(); . "$dir/image.sh"; '
        + "; ".join(f'echo "{name}=$(printf "%s\\037" "${{{name}[@]}}")"' for name in names)
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True).stdout
    declared = dict(line.split("=", 1) for line in out.splitlines())
    return {name: [v for v in declared[name].split("\x1f") if v] for name in names}


def test_the_module_version_is_the_release() -> None:
    """v0.3MM.P is Prometheus 3.MM.P (the module's VERSION file, which the build checks)."""
    assert pinned("PROMETHEUS_MODULE") == "github.com/prometheus/prometheus"
    match = re.fullmatch(r"v0\.3(\d\d)\.(\d+)", pinned("PROMETHEUS_VERSION"))
    assert match, pinned("PROMETHEUS_VERSION")
    assert pinned("PROMETHEUS_RELEASE") == f"3.{int(match.group(1))}.{match.group(2)}"
    for name in ("PROMETHEUS_SUM", "PROMETHEUS_GOMOD_SUM"):
        assert re.fullmatch(r"h1:[A-Za-z0-9+/]{43}=", pinned(name)), name


def test_promtool_and_the_server_share_the_pin_and_the_build() -> None:
    promtool = INSTALL_PROMTOOL.read_text()
    prepare = PREPARE.read_text()
    assert '. "$here/../../images/prometheus/versions.sh"' in promtool
    assert '. "$here/versions.sh"' in prepare
    for script in (promtool, prepare):
        code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
        assert not re.search(r"^\s*(export\s+)?PROMETHEUS_\w+=", code, re.M), "a pin of its own"
        assert "h1:" not in code and "v0.3" not in code and "3.16" not in code, "a pin of its own"
        assert not re.search(r"\bgo (mod download|install|build)\b", code), "a download or build of its own"
    assert re.search(r"^prometheus_build pm_log promtool \"\$bin\"$", promtool, re.M)
    assert re.search(
        r'^prometheus_build pm_log prometheus "\$ctx/prometheus" "\$PROMETHEUS_SERVER_TAGS"$', prepare, re.M
    )


def test_the_build_function_is_defined_once() -> None:
    defined = [
        p for p in _text_files() if p.suffix == ".sh" and re.search(r"^prometheus_build\(\)", p.read_text(), re.M)
    ]
    assert defined == [VERSIONS]


def test_every_mention_of_a_prometheus_version_is_the_pinned_one() -> None:
    """Docs, comments and targets name the pinned release and module version, nothing else."""
    release, version = pinned("PROMETHEUS_RELEASE"), pinned("PROMETHEUS_VERSION")
    seen = 0
    for path in _text_files():
        text = path.read_text(errors="replace")
        for found in re.findall(r"(?i)\b(?:prometheus|promtool)(?:[ :]+|\s+)v?(3\.\d+\.\d+)", text):
            assert found == release, f"{path.relative_to(REPO)} names Prometheus {found}"
            seen += 1
        for found in re.findall(r"\bv0\.3\d\d\.\d+\b", text):
            assert found == version, f"{path.relative_to(REPO)} names module version {found}"
            seen += 1
    assert seen >= 4, "the scan found nothing: has the layout changed?"


def test_the_image_is_named_by_the_release_and_made_of_the_context() -> None:
    declared = _image_sh("tag", "context", "build_args", "inputs")
    (tag,) = declared["tag"]
    (context,) = declared["context"]
    assert tag == pinned("PROMETHEUS_RELEASE")
    assert declared["build_args"] == [f"PROMETHEUS_VERSION={tag}"]
    assert re.search(rf"^ARG PROMETHEUS_VERSION={re.escape(tag)}$", DOCKERFILE.read_text(), re.M)
    # the context lives in the cache, per module version, never in the clone
    assert context.endswith(f"/article-pipeline/prometheus/{pinned('PROMETHEUS_VERSION')}/context")
    assert not context.startswith(str(REPO))
    inputs = [Path(p) if p.startswith("/") else FOLDER / p for p in declared["inputs"]]
    assert FOLDER / "Dockerfile" in inputs
    copied = re.findall(r"^COPY (?!--from)(\S+) \S+$", DOCKERFILE.read_text(), re.M)
    assert sorted(copied) == ["prometheus", "prometheus.yml"]
    for source in copied:
        assert Path(context) / source in inputs, f"the Dockerfile copies {source}, which is no input of image.sh"


def test_the_image_runs_the_server_as_a_numeric_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    assert text.count("FROM ") == 1 and re.search(r"^ARG BASE_IMAGE=\S+$", text, re.M)
    assert "apt-get" not in text, "nothing is installed on the base"
    assert re.search(r"^USER 65534:65534$", text, re.M)
    assert re.search(r"^WORKDIR /prometheus$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/prometheus"\]$', text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd and "--storage.tsdb.path=/prometheus" in cmd.group(1)
    assert "--config.file=/etc/prometheus/prometheus.yml" in cmd.group(1)
    assert "install -d -o 65534 -g 65534" in text, "/prometheus writable by the user without a volume"


def test_prometheus_build_checks_the_pins_and_builds_statically(fake_go: FakeGo, tmp_path: Path) -> None:
    out = tmp_path / "out" / "prometheus"
    proc = _build(fake_go, "prometheus", out, pinned("PROMETHEUS_SERVER_TAGS"))
    assert proc.returncode == 0, proc.stderr
    (call,) = fake_go.calls()
    assert call.startswith(f"cwd={fake_go.module} CGO_ENABLED=0 GOOS=linux ")
    args = shlex.split(call.split(" GOOS=linux ", 1)[1])
    for flag in ("-mod=readonly", "-trimpath", "-buildvcs=false"):
        assert flag in args, flag
    assert args[args.index("-tags") + 1] == pinned("PROMETHEUS_SERVER_TAGS")
    assert "builtinassets" not in pinned("PROMETHEUS_SERVER_TAGS")
    assert args[-1] == "./cmd/prometheus"
    ldflags = args[args.index("-ldflags") + 1]
    assert f"-X github.com/prometheus/common/version.Version={pinned('PROMETHEUS_RELEASE')}" in ldflags
    assert "BuildDate" not in ldflags and "BuildUser" not in ldflags, "the same inputs give the same bytes"
    assert subprocess.run([str(out)], capture_output=True, text=True, check=True).stdout.strip() == version_line(
        "prometheus"
    )


def test_prometheus_build_runs_only_when_its_inputs_change(fake_go: FakeGo, tmp_path: Path) -> None:
    out = tmp_path / "out" / "prometheus"
    for _ in range(2):
        assert _build(fake_go, "prometheus", out, "a").returncode == 0
    assert len(fake_go.calls()) == 1, "the same inputs built twice"
    assert _build(fake_go, "prometheus", out, "a,b").returncode == 0
    assert len(fake_go.calls()) == 2, "other tags, same binary"


@pytest.mark.parametrize("wrong", ["module sum", "go.mod sum", "release"])
def test_prometheus_build_refuses_another_module(fake_go: FakeGo, tmp_path: Path, wrong: str) -> None:
    other = "h1:" + "A" * 43 + "="
    if wrong == "module sum":
        fake_go.answer(other, pinned("PROMETHEUS_GOMOD_SUM"))
    elif wrong == "go.mod sum":
        fake_go.answer(pinned("PROMETHEUS_SUM"), other)
    else:
        (fake_go.module / "VERSION").write_text("3.15.0\n")
    out = tmp_path / "out" / "prometheus"
    proc = _build(fake_go, "prometheus", out)
    assert proc.returncode != 0
    assert ("differ from the pinned" if "sum" in wrong else "is release 3.15.0") in proc.stderr
    assert not out.exists() and fake_go.calls() == []


def test_install_promtool_builds_the_pinned_promtool_once(fake_go: FakeGo) -> None:
    def install() -> subprocess.CompletedProcess[str]:
        env = dict(fake_go.env(), GO=str(fake_go.bin / "go"))
        return subprocess.run(["bash", str(INSTALL_PROMTOOL)], env=env, capture_output=True, text=True, timeout=60)

    proc = install()
    assert proc.returncode == 0, proc.stderr
    binary = Path(proc.stdout.strip().splitlines()[-1])
    assert binary == fake_go.root / "cache" / "article-pipeline" / "bin" / f"promtool-{pinned('PROMETHEUS_VERSION')}"
    (call,) = fake_go.calls()
    args = shlex.split(call.split(" GOOS=linux ", 1)[1])
    assert args[args.index("-tags") + 1] == "" and args[-1] == "./cmd/promtool", "promtool: every discovery"
    # the binary that reports the pinned version is taken as it is: no Go needed then
    again = subprocess.run(
        ["bash", str(INSTALL_PROMTOOL)],
        env=dict(fake_go.env(), GO="/nonexistent/go", PATH="/usr/bin:/bin"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == str(binary) and len(fake_go.calls()) == 1
