"""An exactly-once Kinesis source written with PySpark's Python Data Source API.

Modules: ``positions`` (pure position and planning logic), ``position_log`` (the durable
per-batch shard end positions), ``shard_reader`` (GetRecords with retries, on executors),
``source`` (the Spark ``DataSource`` tying them together).
"""
