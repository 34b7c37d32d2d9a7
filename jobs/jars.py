"""The JVM libraries the job adds to Spark: Delta Lake and the S3A connector, pinned here and only here.

``python -m jobs.jars`` resolves them (and what they depend on) from Maven Central with Ivy,
the resolver Spark itself ships, into a cache directory, printing progress; afterwards the job
starts offline with ``spark.jars`` pointing at the cached files. The Spark image runs the same
command at build time, so a cluster never downloads anything.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# delta-spark for Spark 4.2 (its pip package pins pyspark <= 4.2.0); hadoop-aws matches the
# Hadoop 3.5.0 client inside pyspark and brings the AWS SDK v2 bundle (~690 MB).
DELTA_SPARK = ("io.delta", "delta-spark_4.2_2.13", "4.4.0")
HADOOP_AWS = ("org.apache.hadoop", "hadoop-aws", "3.5.0")
PACKAGES = (DELTA_SPARK, HADOOP_AWS)
# Spark and Scala themselves are never resolved; any other library pyspark/jars already has is
# dropped after retrieval (Spark's copy wins: no second, older jackson or Hadoop on the classpath).
_PROVIDED_BY_SPARK = ("org.apache.spark", "org.scala-lang")
_VERSIONED_JAR = re.compile(r"^(?:.*__)?(?P<artifact>.+?)-\d[^-]*(?:-.+)?\.jar$")


def cache_dir() -> Path:
    """``$JARS_DIR``, else ``$XDG_CACHE_HOME/article-pipeline/jars`` (``~/.cache/...``)."""
    explicit = os.environ.get("JARS_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "article-pipeline" / "jars"


def _ivy_file() -> str:
    dependencies = "\n".join(
        f'    <dependency org="{group}" name="{name}" rev="{version}" conf="default->default"/>'
        for group, name, version in PACKAGES
    )
    excludes = "\n".join(f'    <exclude org="{organisation}"/>' for organisation in _PROVIDED_BY_SPARK)
    return f"""<ivy-module version="2.0">
  <info organisation="article-pipeline" module="job-jars"/>
  <configurations><conf name="default"/></configurations>
  <dependencies>
{dependencies}
{excludes}
  </dependencies>
</ivy-module>
"""


def artifact_name(jar_file: str) -> str:
    """``jackson-core`` of ``jackson-core-2.21.2.jar`` or ``com.fasterxml.jackson.core__jackson-core-2.13.5.jar``."""
    match = _VERSIONED_JAR.match(os.path.basename(jar_file))
    return match.group("artifact") if match else os.path.basename(jar_file)


def _drop_what_spark_has(lib: Path, spark_jars: str) -> list[str]:
    shipped = {artifact_name(jar) for jar in os.listdir(spark_jars)}
    dropped = [jar for jar in sorted(glob.glob(str(lib / "*.jar"))) if artifact_name(jar) in shipped]
    for jar in dropped:
        os.remove(jar)
    return [os.path.basename(jar) for jar in dropped]


def _lib_dir(root: Path) -> Path:
    """One directory per pinned set, so changing a pin never mixes versions."""
    tag = "-".join(version for _, _, version in PACKAGES)
    return root / f"lib-{tag}"


def jar_paths(root: Path | None = None) -> list[str]:
    """The resolved jars, or a ``FileNotFoundError`` that says how to fetch them."""
    lib = _lib_dir(root or cache_dir())
    complete = lib / ".complete"
    if not complete.exists():
        raise FileNotFoundError(
            f"Delta Lake and S3A jars are not in {lib}: run `make jars` (or `python -m jobs.jars`) once while "
            "Maven Central is reachable, or set JARS_DIR to a directory that has them"
        )
    return sorted(glob.glob(str(lib / "*.jar")))


def resolve(root: Path | None = None) -> list[str]:
    """Resolve and retrieve the jars into the cache (a no-op when already complete)."""
    root = root or cache_dir()
    lib = _lib_dir(root)
    if (lib / ".complete").exists():
        return jar_paths(root)
    import pyspark

    spark_jars = os.path.join(os.path.dirname(pyspark.__file__), "jars")
    ivy_jar = next(iter(glob.glob(os.path.join(spark_jars, "ivy-*.jar"))))
    lib.mkdir(parents=True, exist_ok=True)
    ivy_xml = root / "ivy.xml"
    ivy_xml.write_text(_ivy_file())
    coordinates = ", ".join(":".join(package) for package in PACKAGES)
    print(f"jars: resolving {coordinates} from Maven Central into {lib} (first time: ~750 MB)", flush=True)
    started = time.monotonic()
    command = [
        "java",
        "-cp",
        ivy_jar,
        "org.apache.ivy.Main",
        "-ivy",
        str(ivy_xml),
        "-cache",
        str(root / "ivy-cache"),
        "-confs",
        "default",
        "-retrieve",
        str(lib / "[organisation]__[artifact]-[revision](-[classifier]).[ext]"),
        "-types",
        "jar",
        "bundle",
    ]
    subprocess.run(command, check=True)
    dropped = _drop_what_spark_has(lib, spark_jars)
    print(f"jars: left out {len(dropped)} that pyspark already ships: {', '.join(dropped)}", flush=True)
    (lib / ".complete").write_text(coordinates + "\n")
    paths = jar_paths(root)
    size = sum(os.path.getsize(path) for path in paths)
    print(f"jars: {len(paths)} jars, {size / 1e6:,.0f} MB in {time.monotonic() - started:.0f} s", flush=True)
    return paths


if __name__ == "__main__":
    resolve()
    sys.exit(0)
