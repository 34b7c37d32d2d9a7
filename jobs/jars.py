"""The JVM libraries the job adds to Spark: Delta Lake and the S3A connector, pinned here and only here.

``PACKAGES`` names them; ``jobs/jars.lock`` pins every jar they need (Maven coordinates and
SHA-1), leaving out what pyspark already ships. ``python -m jobs.jars`` downloads the locked jars
from Maven Central into a cache, verified and with progress, once; afterwards the job starts
offline with the cached files on the driver's and executors' class paths (``jobs.spark_session``).
The Spark image runs the same command at build time. ``python -m jobs.jars --lock`` re-resolves
``PACKAGES`` with Ivy (the resolver Spark ships) and rewrites the lock, after a change of pins.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# delta-spark for Spark 4.2 (Maven Central has 4.4.0 of this artifact); hadoop-aws matches the
# Hadoop 3.5.0 client inside pyspark and brings the AWS SDK v2 bundle (~690 MB).
PACKAGES = (("io.delta", "delta-spark_4.2_2.13", "4.4.0"), ("org.apache.hadoop", "hadoop-aws", "3.5.0"))
LOCK_FILE = Path(__file__).with_name("jars.lock")
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """``$JARS_DIR``, else ``$XDG_CACHE_HOME/article-pipeline/jars`` (``~/.cache/...``)."""
    explicit = os.environ.get("JARS_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "article-pipeline" / "jars"


def locked() -> list[tuple[str, str, str, str]]:
    """(group, artifact, version, sha1) of every locked jar."""
    entries = []
    for line in LOCK_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            coordinates, sha1 = line.split()
            group, artifact, version = coordinates.split(":")
            entries.append((group, artifact, version, sha1))
    return entries


def _file_name(group: str, artifact: str, version: str) -> str:
    return f"{group}__{artifact}-{version}.jar"


def jar_paths(root: Path | None = None) -> list[str]:
    """The locked jars in the cache, or a ``FileNotFoundError`` that says how to fetch them."""
    root = root or cache_dir()
    paths = [root / _file_name(group, artifact, version) for group, artifact, version, _ in locked()]
    missing = [path.name for path in paths if not path.exists()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} Delta Lake / S3A jars are missing from {root} ({', '.join(missing[:3])}...): run "
            "`make jars` (python -m jobs.jars) once while Maven Central is reachable, or set JARS_DIR to a "
            "directory that has them"
        )
    return [str(path) for path in paths]


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path) -> None:
    partial = target.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
        total = int(response.headers.get("Content-Length", 0))
        done, reported = 0, time.monotonic()
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            if time.monotonic() - reported > 5 and total:
                print(f"jars:   {target.name}: {done / 1e6:,.0f} of {total / 1e6:,.0f} MB", flush=True)
                reported = time.monotonic()
    partial.rename(target)


def fetch(root: Path | None = None) -> list[str]:
    """Download the locked jars that are not in the cache yet, each verified against its SHA-1."""
    root = root or cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    entries = locked()
    started = time.monotonic()
    for number, (group, artifact, version, sha1) in enumerate(entries, 1):
        target = root / _file_name(group, artifact, version)
        if target.exists() and _sha1(target) == sha1:
            continue
        url = f"{MAVEN_CENTRAL}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
        print(f"jars: [{number}/{len(entries)}] {group}:{artifact}:{version}", flush=True)
        _download(url, target)
        if _sha1(target) != sha1:
            target.unlink()
            raise RuntimeError(f"{url} does not match the SHA-1 in {LOCK_FILE} ({sha1}); nothing kept")
    paths = jar_paths(root)
    size = sum(os.path.getsize(path) for path in paths)
    print(f"jars: {len(paths)} jars ({size / 1e6:,.0f} MB) in {root}, {time.monotonic() - started:.0f} s", flush=True)
    return paths


def lock() -> None:
    """Resolve ``PACKAGES`` with Ivy and rewrite the lock, leaving out every library pyspark ships."""
    import pyspark

    spark_jars = os.path.join(os.path.dirname(pyspark.__file__), "jars")
    shipped = {match.group(1) for jar in os.listdir(spark_jars) if (match := re.match(r"(.+?)-\d", jar))}
    with tempfile.TemporaryDirectory() as work:
        ivy_xml = Path(work, "ivy.xml")
        dependencies = "".join(
            f'<dependency org="{group}" name="{name}" rev="{version}" conf="default->default"/>'
            for group, name, version in PACKAGES
        )
        ivy_xml.write_text(
            '<ivy-module version="2.0"><info organisation="article-pipeline" module="job-jars"/>'
            f'<dependencies>{dependencies}<exclude org="org.apache.spark"/><exclude org="org.scala-lang"/>'
            "</dependencies></ivy-module>"
        )
        pattern = f"{work}/lib/[organisation]:[artifact]:[revision].[ext]"
        ivy_jar = glob.glob(os.path.join(spark_jars, "ivy-*.jar"))[0]
        subprocess.run(
            [
                "java",
                "-cp",
                ivy_jar,
                "org.apache.ivy.Main",
                "-ivy",
                str(ivy_xml),
                "-confs",
                "default",
                "-retrieve",
                pattern,
                "-types",
                "jar",
                "bundle",
            ],
            check=True,
        )
        packages = ", ".join(":".join(package) for package in PACKAGES)
        lines = [f"# {packages} and their dependencies, minus what pyspark ships (python -m jobs.jars --lock)."]
        for path in sorted(Path(work, "lib").iterdir()):
            group, artifact, version = path.name.removesuffix(".jar").removesuffix(".bundle").split(":")
            if artifact not in shipped:
                lines.append(f"{group}:{artifact}:{version} {_sha1(path)}")
    LOCK_FILE.write_text("\n".join(lines) + "\n")
    print(f"jars: wrote {LOCK_FILE} ({len(lines) - 1} jars)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", action="store_true", help="re-resolve PACKAGES with Ivy and rewrite jobs/jars.lock")
    args = parser.parse_args(argv)
    if args.lock:
        lock()
    else:
        fetch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
