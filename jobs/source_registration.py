"""The job's Python data source registered once per streaming query (``query_stream``).

Two queries read through two registrations, so they share no Java object of the source (see
``query_stream`` for the one that must not be shared).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.datasource import DataSource


def query_stream(
    spark: SparkSession, source: type[DataSource], query_name: str, options: Mapping[str, str]
) -> DataFrame:
    """``spark.readStream`` of ``source`` through a registration of its own for ``query_name``.

    Registers a subclass of ``source`` named ``<source name>_<query_name>`` (it changes nothing
    but the name) and reads it. In pyspark 4.2.0 one registration is one ``PythonFunction`` on the
    JVM, whose map of environment variables (a ``java.util.HashMap``) every query created from it
    shares; each query's source runner writes to that map when the query starts
    (``PythonStreamingSourceRunner.init``), unsynchronized, while another query's tasks may be
    serializing it. Two queries on one registration starting together would then now and then
    ship a corrupted map, and every task carrying it would fail to deserialize
    (``java.io.OptionalDataException`` in ``HashMap.readObject``). A registration per query gives
    each query its own map.

    Parameters
    ----------
    spark : SparkSession
        The session the query runs in.
    source : type[DataSource]
        The Python data source to read.
    query_name : str
        The streaming query's name: one registration per name.
    options : Mapping[str, str]
        The source's options for this query.

    Returns
    -------
    DataFrame
        The streaming DataFrame of the source's rows.
    """
    format_name = f"{source.name()}_{query_name}"
    per_query = type(f"{source.__name__}_{query_name}", (source,), {"name": classmethod(lambda _cls: format_name)})
    spark.dataSource.register(per_query)
    return spark.readStream.format(format_name).options(**options).load()
