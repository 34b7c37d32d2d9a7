"""An exactly-once Kinesis source written with PySpark's Python Data Source API.

Modules, from Spark's side down to AWS:

- ``source``: the Spark ``DataSource`` and its stream reader, mapping Spark's calls onto the rest
- ``options``: the source's options, read once into typed values
- ``planner``: on the driver, each batch's shard starts and limits, and the position log's upkeep
- ``shard_batch``: on an executor, one shard for one batch read and its end recorded (or replayed)
- ``shard_reader``: GetRecords (or subscription events) from a start to a limit or a recorded end, iterators
  renewed, subscriptions reopened, aggregates split
- ``fan_out``: enhanced fan-out, ``SubscribeToShard`` signed and sent, its event stream parsed
- ``consumer``: the stream consumer enhanced fan-out reads through, registered, reused, deregistered
- ``client``: every Kinesis call, typed, retried within a deadline and counted
- ``faults``: optional fault injection into that client (tests, chaos runs)
- ``positions``: pure position and planning logic (offsets, shard ends, lineage)
- ``starting_position``: where a new checkpoint starts (the ``startingPosition`` forms)
- ``position_log``: the durable per-batch shard end positions
- ``progress``: reading committed batches and shard lag back for status lines and ``make status``
"""
