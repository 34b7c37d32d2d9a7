"""The article publisher: a Flask service (served by gunicorn) that publishes Faker articles to Kinesis."""
