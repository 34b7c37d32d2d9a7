"""The PySpark Structured Streaming job: Kinesis -> parse -> enrich -> windowed stats -> Delta tables on S3."""
