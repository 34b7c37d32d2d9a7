"""The PySpark Structured Streaming job: Kinesis -> parse -> enrich -> windowed stats -> S3 Parquet."""
